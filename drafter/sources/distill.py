"""Distil a fetched thread into what a design doc can be drafted from.

A raw thread is full of text nobody should draft from: stale-bot warnings, CI reports, "+1"s and
the HTML comments an issue template leaves behind. It also lacks what a reader of the thread on
the tracker sees at a glance: who is a maintainer, when each thing was said, whether it was
edited, and why the issue was closed. A model told neither will treat a user's request as the
project's plan. So, once per fetch and before the ``--max-context`` budget:

* noise is dropped and counted by kind (``IssueContext.dropped``; ``drafter fetch`` shows it),
  while ``<details>`` blocks, code and logs stay;
* every comment gets its author's role: ``maintainer`` (GitHub ``author_association`` OWNER,
  MEMBER or COLLABORATOR, or the account that owns the repository), ``reporter`` (the issue's
  author) or ``participant``;
* typed facts are extracted with their source ids (:mod:`drafter.sources.facts`).

It is idempotent: a context saved by ``drafter fetch --format json`` and read again distils to
itself, keeping the counts of what was dropped the first time.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

from drafter.sources.context import FACT_KINDS, Comment, Fact, IssueContext
from drafter.sources.facts import extract_facts
from drafter.sources.roles import role_of
from drafter.template import mdparse

# Automation accounts that post as ordinary users on GitHub (no ``type: "Bot"``), on GitLab and
# on Jira: CI, merge queues, stale/triage bots, coverage and deploy reporters, CLA checkers.
KNOWN_BOTS = frozenset(
    {
        "bors",
        "codecov",
        "coveralls",
        "elasticmachine",
        "facebook-github-bot",
        "fejta-bot",
        "github-actions",
        "gopherbot",
        "googlebot",
        "k8s-ci-robot",
        "k8s-triage-robot",
        "linux-foundation-easycla",
        "mergify",
        "msftbot",
        "netlify",
        "openshift-ci",
        "openshift-ci-robot",
        "pytorchbot",
        "rust-highfive",
        "rust-log-analyzer",
        "rustbot",
        "sonarcloud",
        "stale",
        "vercel",
    }
)
_BOT_LOGIN = re.compile(r"(?:\[bot\]|[-_](?:bot|robot))$", re.IGNORECASE)
# Comments a tool posts under a person's account: a stack tracker, a review tool.
# Only the tools' own openings: a person who links to Graphite or Codecov is still a person.
_TOOL_OUTPUT = re.compile(
    r"^\s*\*\s+\*\*#\d+\*\*\s*<a href=\"https://app\.graphite\.dev/|^\s*<!--\s*Reviewable:start|"
    r"^\s*##\s*\[Codecov\]\(https://(?:app\.)?codecov\.io/",
    re.IGNORECASE,
)
# An inline code span (kept as it is) or an HTML comment (removed).
_HTML_COMMENT = re.compile(r"(`+)(?:(?!\1).)+?\1|<!--.*?-->", re.DOTALL)
# Comments that add nothing but a vote or a nudge.
_NOISE_TEXT = re.compile(
    r"^(?:\+1|me too|same here|same|same issue|bump|ping|any (?:news|updates?)|any progress)[\s!.?]*$",
    re.IGNORECASE,
)
_SYMBOLS_ONLY = re.compile(r"^[\W\s_]*$")  # emoji, punctuation: a reaction typed as a comment

# Kinds of noise, as counted in ``IssueContext.dropped`` (see :func:`noise_text`).
BOTS = "bot comment"
NOISE = "'+1', bump or empty comment"
TEMPLATE = "issue-template HTML comment"
TOOLS = "tool-generated comment"


def noise_text(dropped: tuple[tuple[str, int], ...]) -> str:
    """``2 bot comments, 1 issue-template HTML comment``: what distilling dropped, counted."""
    return ", ".join(f"{count} {kind}{'' if count == 1 else 's'}" for kind, count in dropped)


def is_bot(comment: Comment) -> bool:
    """An automated account: the tracker says so, a known bot login, or a ``-bot`` login."""
    login = comment.author.strip().lower()
    return comment.bot or login in KNOWN_BOTS or bool(_BOT_LOGIN.search(login))


def strip_html_comments(text: str) -> tuple[str, int]:
    """``text`` without HTML comments outside code blocks; returns the text and how many went.

    Issue and PR templates leave their instructions in HTML comments, invisible on the tracker
    but not in the API's markdown. A comment inside a fenced or indented code block is code, and
    stays.
    """
    if "<!--" not in text:
        return text, 0
    lines = text.split("\n")
    code = [False] * len(lines)
    for token in mdparse.fences(mdparse.parse(text)):
        if token.map:
            for number in range(*token.map):
                if number < len(code):
                    code[number] = True
    out: list[str] = []
    removed = 0
    start = 0
    # Strip within each run of non-code lines, so that a comment never spans a code block.
    while start < len(lines):
        end = start
        while end < len(lines) and code[end] == code[start]:
            end += 1
        chunk = "\n".join(lines[start:end])
        if not code[start]:
            chunk, count = _strip_comments(chunk)
            removed += count
        out.append(chunk)
        start = end
    result = "\n".join(out)
    if removed:
        result = re.sub(r"\n{3,}", "\n\n", result).strip("\n")
    return result, removed


def _strip_comments(text: str) -> tuple[str, int]:
    """Remove HTML comments outside inline code, until none is left (``<<!-- a -->!-- b -->``)."""
    removed = 0
    for _ in range(8):
        count = 0

        def drop(match: re.Match[str]) -> str:
            nonlocal count
            if match.group(0).startswith("`"):
                return match.group(0)
            count += 1
            return ""

        text = _HTML_COMMENT.sub(drop, text)
        removed += count
        if not count or "<!--" not in text:
            break
    return text, removed


def _noise(body: str) -> bool:
    text = body.strip()
    return not text or bool(_NOISE_TEXT.match(text)) or bool(_SYMBOLS_ONLY.match(text))


def distill(ctx: IssueContext) -> IssueContext:
    """Drop noise, strip template comments, give every comment its role, extract typed facts."""
    dropped: Counter[str] = Counter(dict(ctx.dropped))
    body, removed = strip_html_comments(ctx.body)
    dropped[TEMPLATE] += removed
    kept: list[Comment] = []
    for comment in ctx.comments:
        if is_bot(comment):
            dropped[BOTS] += 1
            continue
        if _TOOL_OUTPUT.search(comment.body):
            dropped[TOOLS] += 1
            continue
        text, removed = strip_html_comments(comment.body)
        dropped[TEMPLATE] += removed
        if _noise(text):
            dropped[NOISE] += 1
            continue
        role = role_of(comment.author, comment.association, ctx)
        kept.append(replace(comment, body=text, role=role))
    ctx = replace(
        ctx,
        body=body,
        comments=tuple(kept),
        dropped=tuple((kind, count) for kind, count in dropped.items() if count),
    )
    return replace(ctx, facts=_merge_facts(ctx, extract_facts(ctx)))


def _merge_facts(ctx: IssueContext, found: tuple[Fact, ...]) -> tuple[Fact, ...]:
    """``found`` plus the facts a saved context kept from comments that are no longer in it.

    A context saved after ``--max-context`` trimmed it still carries the facts of the comments
    it left out (that is how a decision in a dropped comment reaches the model); reading it again
    must not lose them.
    """
    present = {"issue", *(f"comment:{c.id}" for c in ctx.comments)}
    kept = [fact for fact in ctx.facts if fact.source not in present]
    if not kept:
        return found
    order = {kind: n for n, kind in enumerate(FACT_KINDS)}
    return tuple(sorted([*kept, *found], key=lambda f: order.get(f.kind, len(order))))
