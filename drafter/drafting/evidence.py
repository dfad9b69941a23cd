"""The evidence a model drafts from: the distilled thread and its facts as labelled, inert data.

Every chain (problem, solution, risks), the reviewer and the judge see the same block, built here
once per issue. It holds the whole distilled thread within ``--max-context`` (body and every kept
comment, with each author's role and the date), a marker wherever the budget dropped comments,
the typed facts with their source ids, and the team's notes. It is identical for all three chains
and comes before anything chain-specific, so a provider's prompt cache can reuse it.

Issue text is untrusted. It only ever appears inside our own tags, and :func:`as_data` breaks any
copy of those tags inside it, so a comment cannot close ``<issue_data>`` and speak as the prompt.
"""

from __future__ import annotations

import re

from drafter.sources.budget import gap_note
from drafter.sources.context import FACT_KINDS, Comment, Fact, IssueContext
from drafter.sources.facts import clip
from drafter.sources.roles import author_role, role_label

_OWN_TAG = re.compile(
    r"<(/?)\s*(issue_data|team_notes|draft_so_far|draft_section|draft|own_answer|facts|title|body|comment|labels|links)",
    re.IGNORECASE,
)


def as_data(text: str) -> str:
    """Neutralise our own delimiters inside untrusted text so it cannot close a data block."""
    return _OWN_TAG.sub(lambda m: f"<{m.group(1)}{m.group(2)[0]}\u200b{m.group(2)[1:]}", text)


def as_attr(text: str) -> str:
    """An attribute value of our delimiters: no quote, angle bracket or newline can break the tag."""
    return (
        " ".join(text.split())
        .replace("&", "&amp;")
        .replace('"', "&quot;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )


def _tag(name: str, pairs: list[tuple[str, str]], *, close: bool = False) -> str:
    attrs = " ".join(f'{key}="{as_attr(value)}"' for key, value in pairs if value)
    return f"<{name}{' ' + attrs if attrs else ''}{' /' if close else ''}>"


def _comment(comment: Comment, ctx: IssueContext) -> str:
    head = _tag(
        "comment",
        [
            ("source", f"comment:{comment.id}"),
            ("author", comment.author),
            ("role", role_label(comment, ctx)),
            ("date", comment.date),
            ("edited", "yes" if comment.edited else ""),
            ("url", comment.url),
        ],
    )
    return f"{head}\n{as_data(comment.body)}\n</comment>"


def _roles_note(ctx: IssueContext) -> str:
    if ctx.roles_known:
        return "from the tracker"
    return "not given by the tracker: anyone but the reporter is listed as a participant"


def fact_text(fact: Fact, shown: set[str] | None = None) -> str:
    """One fact as a prompt line: kind and status, source id and author, then the text.

    The author's role and the date are on the comment it cites, a few lines above. A fact from a
    comment that ``--max-context`` left out (not in ``shown``) says so, with the role and date
    the reader cannot look up, and its text unclipped.
    """
    kind = f"{fact.kind} ({fact.status})" if fact.status else fact.kind
    who = f" @{_one_line(fact.author)}" if fact.author else ""
    if shown is not None and fact.source not in shown:
        details = ", ".join(x for x in (fact.role, fact.date, "comment omitted above") if x)
        return f"- {kind}, {_one_line(fact.source)}{who} ({details}): {as_data(fact.text)}"
    return f"- {kind}, {_one_line(fact.source)}{who}: {as_data(clip(fact.text, FACT_CHARS))}"


def _one_line(text: str) -> str:
    """An author or source id inside a facts line: tracker data, so one inert line."""
    return as_data(" ".join(text.split()))


# A fact points into the thread, where its whole text stands: its first words say which it is.
FACT_CHARS = 160

# Kinds listed as one line per source: short items the thread shows in context anyway. A figure
# is listed as the number alone (its sentence is in the thread); identifiers are left to the
# thread, where they stand in their context.
_LISTED = {"link": "links", "figure": "figures"}
_LEFT_OUT = {"identifier"}


def facts_block(ctx: IssueContext) -> str:
    """The typed facts, most decisive kinds first; empty when the thread yielded none."""
    if not ctx.facts:
        return ""
    note = "found in the thread without a model; each names its source; check it against the thread"
    lines = [f'<facts note="{note}">']
    shown = {"issue", *(f"comment:{c.id}" for c in ctx.comments)}
    for kind in FACT_KINDS:
        found = [f for f in ctx.facts if f.kind == kind]
        if kind in _LEFT_OUT:
            continue
        if kind in _LISTED:
            by_source: dict[str, list[str]] = {}
            for fact in found:
                text = fact.text.split(": ", 1)[0] if kind == "figure" else fact.text
                by_source.setdefault(fact.source, []).append(text)
            lines += [
                f"- {_LISTED[kind]}, {source}: {as_data(', '.join(texts))}"
                for source, texts in by_source.items()
            ]
        else:
            lines += [fact_text(f, shown) for f in found]
    lines.append("</facts>")
    return "\n".join(lines)


def inputs_block(ctx: IssueContext) -> str:
    """The issue, its comments, its facts and the notes as clearly delimited, labelled data."""
    state = ctx.state
    lines = [
        _tag(
            "issue_data",
            [
                ("tracker", ctx.tracker),
                ("kind", ctx.kind),
                ("url", ctx.url),
                ("state", state),
                ("close_reason", ctx.state_reason),
                ("closed", ctx.closed_at[:10] if ctx.state == "closed" else ""),
                ("roles", _roles_note(ctx)),
            ],
        )
    ]
    lines.append(f"<title>{as_data(ctx.title)}</title>")
    if ctx.labels:
        lines.append(f"<labels>{as_data(', '.join(ctx.labels))}</labels>")
    body_tag = _tag(
        "body",
        [
            ("source", "issue"),
            ("author", ctx.author),
            ("role", author_role(ctx)),
            ("date", ctx.created_at[:10]),
        ],
    )
    lines.append(f"{body_tag}\n{as_data(ctx.body)}\n</body>")
    gaps = {gap.at: gap for gap in ctx.gaps}
    for index, comment in enumerate(ctx.comments):
        if index in gaps:
            lines.append(gap_note(gaps[index]))
        lines.append(_comment(comment, ctx))
    if len(ctx.comments) in gaps:
        lines.append(gap_note(gaps[len(ctx.comments)]))
    if ctx.links:
        lines.append("<links>" + as_data(" ".join(ctx.links)) + "</links>")
    lines.append("</issue_data>")
    facts = facts_block(ctx)
    if facts:
        lines.append(facts)
    if ctx.notes:
        notes = "\n".join(f"[note:{i + 1}] {as_data(n.text)}" for i, n in enumerate(ctx.notes))
        lines.append(f"<team_notes>\n{notes}\n</team_notes>")
    return "\n".join(lines)
