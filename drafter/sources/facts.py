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

from drafter.sources.context import MAINTAINER, REPORTER, Fact, IssueContext
from drafter.sources.roles import author_role
from drafter.template import mdparse

# How many facts of each kind a context keeps: enough for a design doc, small beside the thread.
# Decisions keep the latest ones (a later statement overrides an earlier one), the rest the first.
LIMITS = {
    "decision": 20,
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
_LONG_LINE = 600  # longer lines are prose or data dumps, never a frame or an exception line

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*\"'(\[@])")

# Decisions, strongest signal first: closing, then deferring, then declining, then agreeing. Each
# needs the project's own voice (a commitment, a refusal, a close), not a word that also describes
# events ("the server rejected the request", "the job landed on node 3").
_CLOSED = re.compile(
    r"(?:^(?:i'?m |we'?re |so )?closing(?=\s*[:;,.!(\u2014-]|\s+(?:this|it|as|in favou?r|now|because|since|per|out|for now)\b|\s*$)|"
    r"\bclosing (?:this|it)(?: (?:as|in favou?r|now|out)\b|(?=\s*[.!,;:(]|\s*$))|\bclosed (?:as|in favou?r of)\b|"
    r"\bclose (?:this|it) (?:as|in favou?r)\b|\bduplicate of\b|"
    r"\b(?:is|are|already) tracked (?:in|by|at|over in)\b|\bsuperseded by\b)",
    re.IGNORECASE,
)
_DEFERRED = re.compile(
    r"\b(?:not (?:right )?now|not at the moment|(?:isn'?t|is not|not) on (?:our|the) roadmap at the moment|"
    r"later (?:version|release|minor|major)|not ruling (?:it|this) out|postpone|defer(?:red|ring)? (?:this|it|until|to)|"
    r"paus(?:e|ing) (?:that|this|the) work|on hold|next quarter|future (?:release|version)|"
    r"needs? a (?:design )?proposal|we'?ll see|"
    r"not against (?:the|this) idea|revisit (?:this|it) (?:later|when|after|once|in))\b",
    re.IGNORECASE,
)
_DECLINED = re.compile(
    r"\b(?:won'?t (?:fix|do|add|accept|support|change|implement|merge|pursue|be adding|take)|"
    r"will not (?:fix|do|add|accept|support|change|implement|merge|pursue|be adding|take)|"
    r"(?:'re|are|'m|am|is) not going to (?:add|fix|do|accept|support|change|implement|merge)|"
    r"(?:we|i) (?:do not|don'?t) want (?:to|that|this|it)|(?:don'?t|do not) (?:plan|intend) to|no plans? to|"
    r"not planned|not on (?:our|the) roadmap|(?:we|i) (?:declined?|rejected|reject)|not convinced|"
    r"(?:we|i) decided not to|we (?:shouldn'?t|should not) (?:do|add|merge|change|support)|"
    r"(?:isn'?t|is not) something we (?:want|plan|support)|"
    r"(?:can'?t|cannot) (?:accept|merge|change this|change that)|please don'?t do|"
    r"not (?:a )?good idea|(?:i'?d|we'?d) rather not|out of scope|not in scope|not something we)\b",
    re.IGNORECASE,
)
_AGREED = re.compile(
    r"(?:\b(?:agreed|i agree|we agree|sounds good|lgtm|let'?s (?:do|go with|add)|"
    r"(?:i'?m|we'?re|i am|we are) going with|going with (?:option|that|this|\()|"
    r"we'?ll (?:add|do|fix|accept|ship|implement|merge)|i'?ll (?:add|fix|make|ship|implement|merge|open (?:an? )?(?:issue|pr))|"
    r"happy to (?:accept|take|review|merge)|(?:prs?|pull requests?) (?:are |is )?welcome|"
    r"(?:has been|was|is now|got) merged|will be (?:part of|in|released|shipped|included)|"
    r"(?:we|i) decided (?:to|on)|things we can do)\b|^done(?=\s*[:.!,]|\s*$))",
    re.IGNORECASE,
)
# A cue word under a negation or in a hedge is not that decision ("I haven't agreed", "not merged").
_NEGATED = re.compile(r"(?:\bnot|n't|\bnever|\bno)\s+(?:\w+\s+){0,2}$", re.IGNORECASE)
_WORKAROUND = re.compile(
    r"\b(?:work ?arounds?|ways? around (?:it|this)|in the meantime|meanwhile|as a stopgap|"
    r"temporar(?:y|ily) fix|until (?:this|it) (?:is|gets) fixed|for now,? you can|you can (?:instead|also)|"
    r"quickest thing to try|no code changes needed|you can pin)\b",
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
# Words that show a comment speaks for the project when the tracker does not say who maintains it.
_PROJECT_VOICE = re.compile(
    r"\b(?:we|our|us)\b|\bi'?m going with\b|\bi'?ll (?:add|fix|ship|merge|open)\b|^done\b|^closing\b|"
    r"\bwill be (?:part of|released|shipped)\b|\bdecided\b",
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
    r"(?:^|\s)(?:Caused by: |Exception in thread \"[^\"]{0,80}\" )?"
    r"(?:[a-z]\w{0,40}\.){0,12}[A-Z]\w{0,60}(?:Exception|Error|Panic)\b(?::.*)?$|"
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
# Bounded repetition: an unbounded run of "-" or "." before a "#" would be rescanned from every
# position (quadratic on a 100 KB line of dashes).
_ISSUE_REF = re.compile(r"(?<![\w/&#.-])((?:[\w.-]{1,100}/[\w.-]{1,100})?#[1-9]\d{0,7})\b")
_FILE_PATH = re.compile(r"(?<![\w/.:-])((?:[\w.-]{1,100}/){1,20}[\w-]{1,100}\.[A-Za-z0-9]{1,6})\b")
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


def prose_paragraphs(text: str) -> list[str]:
    """The markdown source of ``text``'s own paragraphs and list items, without quoted (``>``) text."""
    return [b.raw for b in _blocks(mdparse.parse(text), text.split("\n")) if not b.quoted]


def prose_sentences(text: str) -> list[str]:
    """The sentences of ``text``'s own paragraphs: no code, no quoted (``>``) text, no headings.

    What a person wrote in their own words; the offline drafter quotes from these.
    """
    found: list[str] = []
    for block in _blocks(mdparse.parse(text), text.split("\n")):
        if not block.quoted:
            found.extend(s for _, s in _units(block))
    return found


def _speakers(ctx: IssueContext) -> list[_Speaker]:
    found = [_Speaker("issue", ctx.author, author_role(ctx), ctx.created_at[:10], ctx.body)]
    found.extend(
        _Speaker(f"comment:{c.id}", c.author, c.role, c.date, c.body) for c in ctx.comments if c.body
    )
    return found


# A negation reaches at most two words back ("not yet really merged" is not one): looking at the
# last 120 characters before a match, not the whole text before it, keeps a long comment linear.
_NEGATION_REACH = 120


def _said(pattern: re.Pattern[str], text: str) -> bool:
    """``pattern`` occurs in ``text`` other than under a negation ("not merged", "haven't agreed")."""
    return any(
        # pos/endpos, not a slice: "\b" still sees the text before the window ("cannot").
        not _NEGATED.search(text, max(0, m.start() - _NEGATION_REACH), m.start())
        for m in pattern.finditer(text)
    )


def _decision_status(text: str) -> str:
    for status, pattern in (
        ("closed", _CLOSED),
        ("deferred", _DEFERRED),
        ("declined", _DECLINED),
        ("agreed", _AGREED),
    ):
        if _said(pattern, text):
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
        full = kind != "decision" and self.count.get(kind, 0) >= LIMITS[kind]  # decisions: see done()
        if not text or mark in self.seen or full:
            return
        self.seen.add(mark)
        self.count[kind] = self.count.get(kind, 0) + 1
        self.facts.append(Fact(kind, text, who.source, who.author, who.role, who.date, status))

    def done(self) -> list[Fact]:
        """The facts, decisions cut to the latest :data:`LIMITS` ones: a later one overrides."""
        decisions = [f for f in self.facts if f.kind == "decision"]
        dropped = {id(f) for f in decisions[: max(len(decisions) - LIMITS["decision"], 0)]}
        return [f for f in self.facts if id(f) not in dropped]


_GO_CALL = re.compile(r"^[\w./*()-]+\(.*\)$|^goroutine \d+ \[")


def fold_traces(text: str) -> list[str]:
    """Each stack trace or error line in ``text``, folded to one line.

    A trace becomes its exception line, its first and its last frame and how many frames lie
    between; a reviewer needs where it is thrown and where it enters, not the 60 frames between.
    """
    lines = [
        re.sub(r"^\s*(?:>\s?)+", "", line).strip() if len(line) <= _LONG_LINE else "\x00"
        for line in text.split("\n")
    ]
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
        if len(line) < 300 and _EXCEPTION.search(line) and not _FRAME.match(following):
            folded.append(line)
        elif len(line) < 400 and _LOG_ERROR.search(line):
            folded.append(line)
        index += 1
    return folded


def _has_frame(text: str) -> bool:
    return any(len(line) <= _LONG_LINE and _FRAME.match(line) for line in text.split("\n"))


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
            if block.quoted or _has_frame(block.raw):
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
    if ctx.state == "closed" or ctx.state_reason:
        reason = f" as {ctx.state_reason}" if ctx.state_reason else ""
        when = f" on {ctx.closed_at[:10]}" if ctx.closed_at else ""
        closer = _Speaker("issue", "", "", ctx.closed_at[:10], "")
        out.add("decision", f"The {_noun(ctx)} was closed{reason}{when}.", closer, "closed")
    order = {kind: n for n, kind in enumerate(LIMITS)}
    return tuple(sorted(out.done(), key=lambda f: order[f.kind]))


def _noun(ctx: IssueContext) -> str:
    return "pull request" if ctx.kind == "pull_request" else "issue"


_LEAD = re.compile(r"^(\(?[\w.]{1,3}\)|[A-Z][\w /-]{0,30}):\s")
# Leads that are a word of the statement itself, not the name of an option.
_NOT_LABELS = {"done", "closing", "update", "edit", "note", "fixed", "agreed", "yes", "no", "ok"}


def _units(block: _Block) -> list[tuple[str, str]]:
    """What one fact can hold, as ``(text to classify, text to keep)``: a short list item whole,
    else its sentences, each kept with the item's label (``(2): ...``, ``Short term: ...``) so that
    a decision still says which option it is about."""
    if block.in_list and len(block.text) <= MAX_TEXT:
        return [(block.text, block.text)]
    found = sentences(block.text)
    lead = _LEAD.match(block.text)
    if lead and len(found) > 1 and lead.group(1).lower() not in _NOT_LABELS:
        label = lead.group(1)
        # "(1): that's what I'm going with." says little alone: keep the sentence that says what.
        first = f"{found[0]} {found[1]}" if len(found[0]) < 60 else found[0]
        return [(found[0], first), *((s, f"{label}: {s}") for s in found[1:])]
    return [(s, s) for s in found]


def _figures(unit: str) -> list[str]:
    return list(dict.fromkeys(m.group(0).strip() for m in _FIGURE.finditer(unit)))


def _read_block(out: _Collector, block: _Block, who: _Speaker, roles_known: bool, intro: str) -> str:
    """Add the facts of one paragraph; returns the kind a closing ":" hands to the list below."""
    section = _kind_of_heading(block.heading)
    kind = ""
    for unit, kept in _units(block):
        kind = _classify(unit, block, who, roles_known, section, intro)
        is_intro = unit.rstrip().endswith(":") and len(unit) < 80  # "A few ways around it:"
        kept = _TASK.sub("", kept)
        if kind and not is_intro:
            status = _decision_status(unit) if kind == "decision" else ""
            out.add(kind, kept, who, status)
        figures = _figures(unit)
        if figures:
            out.add("figure", f"{', '.join(figures)}: {kept}", who, key=unit)
    ends_with_colon = block.text.rstrip().endswith(":")
    return kind if ends_with_colon and kind in ("workaround", "proposal", "repro") else ""


_TASK = re.compile(r"^\[[ xX]\]\s+")
# Issue-template checkboxes ("- [x] I searched the existing issues") attest, they do not propose.
_ATTESTS = re.compile(r"^I(?:'ve|'m| have| am| agree| checked| searched| read| confirm)\b")


def _classify(unit: str, block: _Block, who: _Speaker, roles_known: bool, section: str, intro: str) -> str:
    """The kind of one sentence or short list item, or ``""``: precision over recall."""
    if block.in_list and _TASK.match(unit):
        # An open task is asked for; a ticked box is done, or an issue template's attestation
        # ("[x] I searched the existing issues"): neither proposes anything.
        open_task = unit.startswith("[ ]")
        return "proposal" if open_task and not _ATTESTS.match(_TASK.sub("", unit)) else ""
    if unit.rstrip().endswith("?"):
        return "proposal" if _PROPOSAL.search(unit) else ""  # a question decides nothing
    if _WORKAROUND.search(unit):
        return "workaround"  # "for now, you can pin 1.2" is a workaround, not a deferral
    status = _decision_status(unit) if who.source != "issue" else ""
    if status:
        if who.role == MAINTAINER or (
            not roles_known and who.role != REPORTER and _PROJECT_VOICE.search(unit)
        ):
            return "decision"
        if block.in_list and intro:
            return ""  # "Please don't do this one: ..." under a list of workarounds
    if _EXPECTED_SENTENCE.search(unit):
        return "expected"
    if section:
        return section  # under a "Steps to reproduce" or "Workaround" heading
    if _PROPOSAL.search(unit):
        return "proposal"
    if block.in_list and intro:
        return intro
    if _REPRO_SENTENCE.search(unit):
        return "repro"
    if _ACTUAL_SENTENCE.search(unit) and who.source == "issue":
        return "actual"
    return ""
