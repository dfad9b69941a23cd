"""Typed facts of a thread, extracted deterministically, each with the id of the text that says it.

A design doc is built from a handful of things a thread establishes: the error and where it is
thrown, how to reproduce it, what was expected, what people proposed, what the maintainers
decided, which workarounds exist, and the links, figures and identifiers a reviewer will check.
Finding them is pattern work, not judgement, so it is done here once, without a model, and shared:
every prompt chain gets them beside the thread, the offline drafter builds from them, and
``drafter fetch`` shows them.

The rules lean towards precision. A decision is a statement by a maintainer (or by anyone but the
reporter when the tracker does not say who maintains the project) that agrees, declines, defers
or closes; a user asking for something is a proposal, never a decision. Quoted text (``>``) is
someone else's words and is not read for proposals or decisions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from markdown_it.token import Token

from drafter import mdparse
from drafter.context import MAINTAINER, REPORTER, Fact, IssueContext
from drafter.sources.roles import author_role

# How many facts of each kind a context keeps: enough for a design doc, small beside the thread.
LIMITS = {
    "decision": 14,
    "workaround": 8,
    "proposal": 10,
    "error": 4,
    "repro": 8,
    "expected": 3,
    "actual": 3,
    "figure": 12,
    "link": 24,
    "identifier": 24,
}
MAX_TEXT = 240

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*\"'(\[@])")

# Decisions, strongest signal first: closing, then deferring, then declining, then agreeing.
_CLOSED = re.compile(
    r"(?:^(?:i'?m |we'?re |so )?closing\b|\bclosing (?:this|it|as|in favou?r|now)\b|"
    r"\bclosed (?:as|in favou?r|by|via)\b|\bclose (?:this|it) (?:as|in favou?r)\b|\bduplicate of\b|"
    r"\b(?:is|are|being|already) tracked (?:in|by|at|over in)\b|\bsuperseded by\b)",
    re.IGNORECASE,
)
_DEFERRED = re.compile(
    r"\b(?:not (?:right )?now|for now|at the moment|later (?:version|release|minor|major)|"
    r"not ruling (?:it|this) out|revisit|postpone|defer(?:red|ring)?|paus(?:e|ing) (?:that|this|the)|"
    r"on hold|backlog|next quarter|down the road|in the future|future (?:release|version)|"
    r"needs? a (?:design )?proposal|we'?ll see|(?:leaving|leave|keep) (?:this|it) open for|not against (?:the|this) idea)\b",
    re.IGNORECASE,
)
_DECLINED = re.compile(
    r"\b(?:won'?t (?:fix|do|add|accept|support|change|implement)|will not|not going to|"
    r"(?:do not|don'?t) want|(?:don'?t|do not) (?:plan|intend) to|no plans? to|not planned|"
    r"not on (?:our|the) roadmap|declin(?:e|ed|ing)|reject(?:ed|ing)?|not convinced|"
    r"(?:can'?t|cannot) (?:accept|merge|change this|change that)|please don'?t do|"
    r"not (?:a )?good idea|rather not|out of scope|not in scope|not something we)\b",
    re.IGNORECASE,
)
_AGREED = re.compile(
    r"\b(?:agreed|i agree|we agree|sounds good|makes sense|lgtm|let'?s (?:do|go with|add)|"
    r"(?:i'?m|we'?re|i am|we are) going with|going with|we'?ll (?:add|do|fix|accept|take|ship|implement|merge|open)|"
    r"i'?ll (?:add|open|fix|make|do|take)|happy to (?:accept|take|review|merge)|"
    r"(?:prs?|pull requests?) (?:are |is )?welcome|^done\b|fixed (?:in|by|for)|merged|"
    r"will be (?:part of|in|released|shipped|included)|landed|things we can do|we can do)\b",
    re.IGNORECASE,
)
_WORKAROUND = re.compile(
    r"\b(?:work ?arounds?|ways? around (?:it|this)|in the meantime|meanwhile|as a stopgap|"
    r"temporar(?:y|ily) fix|until (?:this|it) (?:is|gets) fixed|for now,? you can|you can (?:instead|also)|"
    r"quickest thing to try|no code changes needed)\b",
    re.IGNORECASE,
)
_PROPOSAL = re.compile(
    r"\b(?:i propose|we propose|i'?d propose|propose (?:to|that|a|an|adding|making)|proposal:|"
    r"this (?:pr|rfc|proposal|issue|change) (?:proposes|suggests|adds|introduces|turns|switches)|"
    r"i suggest|we suggest|my suggestion|we could|could we|would it be possible|"
    r"it would be (?:nice|great|useful|good|handy)|would be (?:really )?handy|i'?d like|i would like|"
    r"i'?d rather|feature request|how about|what if|one option|another option|alternatively|"
    r"middle ground|(?:add|introduce) (?:a|an) (?:new )?(?:option|flag|setting|api)|let the user|"
    r"i'?m arguing for|possible directions?|make (?:it|this) possible|let'?s (?:add|make|use))\b",
    re.IGNORECASE,
)
_REPRO_SENTENCE = re.compile(r"\b(?:to reproduce|reproduc(?:es|tion|ible)|repro\b|minimal example)", re.I)
_EXPECTED_SENTENCE = re.compile(
    r"\b(?:what i expected|i expected|i'?d expect|expected (?:to|that|it|the|behaviou?r|result))\b", re.I
)
_ACTUAL_SENTENCE = re.compile(
    r"\b(?:instead(?:,| it)|but (?:it|instead|got|we get|i get)|actually (?:get|see))\b", re.I
)
_HEADING_KIND = (
    (re.compile(r"reproduc|steps to|\brepro\b|how to trigger", re.I), "repro"),
    (re.compile(r"expected", re.I), "expected"),
    (re.compile(r"actual|current behaviou?r|what happen", re.I), "actual"),
    (re.compile(r"work ?around", re.I), "workaround"),
)

# Stack frames and exception lines of the common runtimes (Java, Python, Go, JS, Rust, .NET).
_FRAME = re.compile(
    r"^\s*(?:at\s+[\w$.<>/@:-]+(?:\s*\(.*\))?|File \"[^\"]+\", line \d+.*|"
    r"[\w./-]+\.(?:go|rs|py|js|ts|java|kt|cs|rb|c|cc|cpp):\d+(?::\d+)?(?:\s.*)?|\.\.\. \d+ more)\s*$"
)
_EXCEPTION = re.compile(
    r"(?:^|\s)(?:Caused by: |Exception in thread \"[^\"]*\" )?"
    r"(?:[a-z][\w]*\.)*[A-Z]\w*(?:Exception|Error|Panic)\b(?::.*)?$|"
    r"^\s*(?:panic: |thread '[^']*' panicked at |fatal error: |error(?:\[E\d+\])?: |Traceback \(most recent)",
)
_LOG_ERROR = re.compile(r"\b(?:ERROR|FATAL|SEVERE)\b")

_FIGURE = re.compile(
    r"(?<![\w.])(?:~|about |around )?\d[\d,]*(?:\.\d+)?\s?"
    r"(?:ms|µs|us|ns|s|sec|secs|seconds?|minutes?|mins?|hours?|h|days?|%|x|×|"
    r"[KMGT]i?B|bytes|k|M|req/s|rps|qps|QPS|ops/s|tokens|cores?|CPUs?|nodes|VMIs|pods|replicas|"
    r"items|clusters|connections|threads|workers|rows|requests|packages|runs|times)(?![\w/])"
)
_URL = re.compile(r"https?://[^\s<>()\[\]\"'`|]+[^\s<>()\[\]\"'`|.,;:!?]")
_ISSUE_REF = re.compile(r"(?<![\w/&#])((?:[\w.-]+/[\w.-]+)?#[1-9]\d{0,7})\b")
_FILE_PATH = re.compile(r"(?<![\w/.:-])((?:[\w.-]+/)+[\w-]+\.[A-Za-z0-9]{1,6})\b")
_CODE_SHAPE = re.compile(r"[._/:()\[\]<>-]|[a-z][A-Z]|^[A-Z][A-Z0-9]*_[A-Z0-9_]+$|^--?\w")


@dataclass(frozen=True)
class _Speaker:
    source: str
    author: str
    role: str
    date: str
    text: str


@dataclass(frozen=True)
class _Block:
    """A paragraph of one speaker: its plain text, the heading above it, whether it is quoted."""

    text: str
    raw: str
    heading: str
    quoted: bool
    in_list: bool


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """One line of at most ``limit`` characters (an ellipsis marks a cut)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def sentences(text: str) -> list[str]:
    """``text`` cut into sentences (a plain-text paragraph in, stripped sentences out)."""
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


def _blocks(tokens: list[Token], lines: list[str]) -> Iterator[_Block]:
    heading = ""
    quote = 0
    lists = 0
    for index, tok in enumerate(tokens):
        if tok.type == "heading_open" and index + 1 < len(tokens):
            heading = mdparse.plain_text(tokens[index + 1]).strip()
        elif tok.type == "blockquote_open":
            quote += 1
        elif tok.type == "blockquote_close":
            quote -= 1
        elif tok.type in ("bullet_list_open", "ordered_list_open"):
            lists += 1
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            lists -= 1
        elif tok.type == "paragraph_open" and index + 1 < len(tokens):
            text = mdparse.plain_text(tokens[index + 1]).strip()
            raw = "\n".join(lines[tok.map[0] : tok.map[1]]) if tok.map else text
            if text:
                yield _Block(text, raw, heading, quote > 0, lists > 0)


def _speakers(ctx: IssueContext) -> list[_Speaker]:
    found = [_Speaker("issue", ctx.author, author_role(ctx), ctx.created_at[:10], ctx.body)]
    found.extend(
        _Speaker(f"comment:{c.id}", c.author, c.role, c.date, c.body) for c in ctx.comments if c.body
    )
    return found


def _decision_status(text: str) -> str:
    for status, pattern in (
        ("closed", _CLOSED),
        ("deferred", _DEFERRED),
        ("declined", _DECLINED),
        ("agreed", _AGREED),
    ):
        if pattern.search(text):
            return status
    return ""


class _Collector:
    def __init__(self) -> None:
        self.facts: list[Fact] = []
        self.count: dict[str, int] = {}
        self.seen: set[tuple[str, str]] = set()

    def add(self, kind: str, text: str, who: _Speaker, status: str = "", *, key: str = "") -> None:
        text = clip(text)
        mark = (kind, (key or text).lower())
        if not text or mark in self.seen or self.count.get(kind, 0) >= LIMITS[kind]:
            return
        self.seen.add(mark)
        self.count[kind] = self.count.get(kind, 0) + 1
        self.facts.append(Fact(kind, text, who.source, who.author, who.role, who.date, status))


_GO_CALL = re.compile(r"^[\w./*()-]+\(.*\)$|^goroutine \d+ \[")


def fold_traces(text: str) -> list[str]:
    """Each stack trace or error line in ``text``, folded to one line.

    A trace becomes its exception line, its first and its last frame and how many frames lie
    between; a reviewer needs where it is thrown and where it enters, not the 60 frames between.
    """
    lines = [re.sub(r"^\s*(?:>\s?)+", "", line).strip() for line in text.split("\n")]
    folded: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if _FRAME.match(line) and not line.startswith("..."):
            start = index
            while index < len(lines) and (
                _FRAME.match(lines[index]) or _GO_CALL.match(lines[index]) or not lines[index]
            ):
                index += 1
            frames = [f for f in lines[start:index] if _FRAME.match(f) and not f.startswith("...")]
            header = next(
                (lines[j] for j in range(start - 1, max(start - 4, -1), -1) if _EXCEPTION.search(lines[j])),
                "",
            )
            where = f"first frame `{frames[0]}`"
            if len(frames) > 1:
                where += f", last frame `{frames[-1]}` ({len(frames)} frames)"
            folded.append(f"{header or 'stack trace'}: {where}")
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if _EXCEPTION.search(line) and not _FRAME.match(following) and len(line) < 300:
            folded.append(line)
        elif _LOG_ERROR.search(line) and len(line) < 400:
            folded.append(line)
        index += 1
    return folded


def _identifiers(tokens: list[Token]) -> Iterator[str]:
    for tok in tokens:
        for child in tok.children or []:
            if child.type == "code_inline":
                value = child.content.strip()
                if 2 < len(value) <= 80 and "\n" not in value and _CODE_SHAPE.search(value):
                    yield value


def _kind_of_heading(heading: str) -> str:
    return next((kind for pattern, kind in _HEADING_KIND if pattern.search(heading)), "")


def extract_facts(ctx: IssueContext) -> tuple[Fact, ...]:
    """The typed facts of ``ctx``'s body and comments, thread order within each kind."""
    out = _Collector()
    roles_known = ctx.roles_known
    for who in _speakers(ctx):
        intro = ""  # "A few ways around it:" makes the list items after it workarounds
        tokens = mdparse.parse(who.text)
        for code in mdparse.fences(tokens):
            for error in fold_traces(code.content):
                out.add("error", error, who, key=error[:80])
        for block in _blocks(tokens, who.text.split("\n")):
            if block.quoted or _FRAME.search(block.raw):
                for error in fold_traces(block.raw):
                    out.add("error", error, who, key=error[:80])
            if block.quoted:
                continue  # someone else's words, quoted: not this speaker's proposal or decision
            if not block.in_list:
                intro = ""
            intro = _read_block(out, block, who, roles_known, intro) or intro
        for ident in _identifiers(tokens):
            out.add("identifier", f"`{ident}`", who)
        plain = re.sub(r"```.*?```", " ", who.text, flags=re.DOTALL)
        for match in _URL.finditer(plain):
            out.add("link", match.group(0), who)
        for match in _ISSUE_REF.finditer(_URL.sub(" ", plain)):
            out.add("link", match.group(1), who)
        for match in _FILE_PATH.finditer(_URL.sub(" ", plain)):
            out.add("identifier", f"`{match.group(1)}`", who)
    if ctx.state == "closed":
        reason = f" as {ctx.state_reason}" if ctx.state_reason else ""
        when = f" on {ctx.closed_at[:10]}" if ctx.closed_at else ""
        closer = _Speaker("issue", "", "", ctx.closed_at[:10], "")
        out.add("decision", f"The {_noun(ctx)} was closed{reason}{when}.", closer, "closed")
    order = {kind: n for n, kind in enumerate(LIMITS)}
    return tuple(sorted(out.facts, key=lambda f: order[f.kind]))


def _noun(ctx: IssueContext) -> str:
    return "pull request" if ctx.kind == "pull_request" else "issue"


_LEAD = re.compile(r"^(\(?[\w.]{1,3}\)|[A-Z][\w /-]{0,30}):\s")


def _units(block: _Block) -> list[tuple[str, str]]:
    """What one fact can hold, as ``(text to classify, text to keep)``: a short list item whole,
    else its sentences, each kept with the item's label (``(2): ...``, ``Short term: ...``) so that
    a decision still says which option it is about."""
    if block.in_list and len(block.text) <= MAX_TEXT:
        return [(block.text, block.text)]
    found = sentences(block.text)
    lead = _LEAD.match(block.text)
    if lead and len(found) > 1:
        label = lead.group(1)
        return [(found[0], found[0]), *((s, f"{label}: {s}") for s in found[1:])]
    return [(s, s) for s in found]


def _read_block(out: _Collector, block: _Block, who: _Speaker, roles_known: bool, intro: str) -> str:
    """Add the facts of one paragraph; returns the kind a closing ":" hands to the list below."""
    speaks_for_project = who.role == MAINTAINER or (not roles_known and who.role != REPORTER)
    section = _kind_of_heading(block.heading)
    kind = ""
    for unit, kept in _units(block):
        status = _decision_status(unit) if who.source != "issue" else ""
        kind = ""
        if status and speaks_for_project:
            out.add("decision", kept, who, status)
            kind = "decision"
        elif _EXPECTED_SENTENCE.search(unit):
            kind = "expected"
        elif section:
            kind = section  # under a "Steps to reproduce" or "Workaround" heading
        elif _WORKAROUND.search(unit):
            kind = "workaround"
        elif _PROPOSAL.search(unit):
            kind = "proposal"
        elif block.in_list and intro:
            kind = intro
        elif _REPRO_SENTENCE.search(unit):
            kind = "repro"
        elif _ACTUAL_SENTENCE.search(unit) and who.source == "issue":
            kind = "actual"
        if kind and kind != "decision":
            out.add(kind, kept, who)
        for figure in _FIGURE.finditer(unit):
            out.add("figure", f"{figure.group(0).strip()}: {kept}", who, key=unit)
    ends_with_colon = block.text.rstrip().endswith(":")
    return kind if ends_with_colon and kind in ("workaround", "proposal", "repro") else ""
