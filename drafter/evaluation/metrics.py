"""What ``drafter eval`` measures: the metric definitions and thresholds, and reading a draft's text.

Kept at the bottom of the package so the scorecard, the judge, runs, comparisons and reports can
all share one table of metrics (with their directions and thresholds) and the same notion of a
section's words and an issue's salient terms, without importing each other.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from drafter.document.content import drafted_sections
from drafter.drafting.grounding import FILE_PATH, ISSUE_REF, URL, identifiers
from drafter.errors import InputError
from drafter.sources.context import IssueContext
from drafter.template import mdparse
from drafter.template.outline import Outline, Section, title_key

CRITERIA = ("clarity", "completeness", "faithfulness")
Direction = Literal["higher", "lower"]


# -- metric definitions --------------------------------------------------------------------------
@dataclass(frozen=True)
class Metric:
    """One number of a variant's summary, and how a change in it is judged against a baseline.

    ``threshold`` is how much worse (in ``direction``) the value may get before it counts as a
    regression; a fraction of the baseline value when ``relative``; ``None`` never gates.
    """

    key: str
    label: str
    direction: Direction
    threshold: float | None
    relative: bool = False
    kind: Literal["number", "share", "usd", "score"] = "number"


METRICS: tuple[Metric, ...] = (
    Metric("valid", "valid structure (share of drafts)", "higher", 0.0, kind="share"),
    Metric("errors", "validation errors / draft", "lower", 0.0),
    Metric("warnings", "validation warnings / draft", "lower", 0.5),
    Metric("todos", "TODO markers / draft", "lower", 1.0),
    Metric("fallbacks", "sections left as TODO after retries / draft", "lower", 0.0),
    Metric("invented", "invented references / draft", "lower", 0.0),
    Metric("invented_identifiers", "invented identifiers / draft", "lower", 0.5),
    Metric("coverage", "salient-term coverage", "higher", 0.05, kind="share"),
    Metric("comments_cited", "comments cited in provenance (share)", "higher", 0.1, kind="share"),
    Metric("off_budget", "sections outside length budget / draft", "lower", 0.5),
    Metric("words", "words / draft", "lower", None),
    Metric("calls", "model calls / draft", "lower", None),
    Metric("prompt_tokens", "prompt tokens / draft", "lower", None),
    Metric("completion_tokens", "completion tokens / draft", "lower", None),
    Metric("cost", "estimated cost USD / draft", "lower", 0.25, relative=True, kind="usd"),
    Metric("seconds", "seconds / draft", "lower", None),
    Metric("judge_clarity", "judge: clarity (1-5)", "higher", 0.3, kind="score"),
    Metric("judge_completeness", "judge: completeness (1-5)", "higher", 0.3, kind="score"),
    Metric("judge_faithfulness", "judge: faithfulness (1-5)", "higher", 0.3, kind="score"),
)
METRIC_BY_KEY = {m.key: m for m in METRICS}

# Words of drafted prose a section may have (min, max), by the section's title key; "*" for the rest.
# Sections whose template asks for a diagram or code block have no minimum: their content is the block.
DEFAULT_BUDGETS: dict[str, tuple[int, int]] = {"*": (10, 300), "references": (1, 200)}


def parse_thresholds(specs: Iterable[str]) -> dict[str, float]:
    """``METRIC=VALUE`` overrides of the default thresholds (``--threshold``)."""
    out: dict[str, float] = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        key = key.strip()
        if not sep or key not in METRIC_BY_KEY:
            raise InputError(
                f"bad --threshold {spec!r}",
                hint="use METRIC=VALUE with METRIC one of " + ", ".join(METRIC_BY_KEY),
            )
        try:
            number = float(value)
        except ValueError:
            raise InputError(f"bad --threshold {spec!r}: {value!r} is not a number") from None
        if not math.isfinite(number) or number < 0:
            raise InputError(f"bad --threshold {spec!r}: use a number >= 0")
        out[key] = number
    return out


# -- salient terms and coverage --------------------------------------------------------------------
_ERROR_NAME = re.compile(
    r"(?<![\w$])(?:[\w$.]*\.)?([A-Z][\w$]*(?:Error|Exception|Fault|Panic)|Err[A-Z][\w$]*)(?![\w$])"
)
_PASCAL = re.compile(r"(?<![\w.$])[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)*[A-Z][a-z0-9]+(?![\w$])")
_FLAG = re.compile(r"(?<![\w-])--[A-Za-z][\w-]*[A-Za-z0-9]")
_KEY_VALUE = re.compile(r"(?<![\w.-])([A-Za-z][\w.-]*[\w])=(?=\S)")
_DOTTED_KEY = re.compile(r"(?<![\w.$/-])[a-z][a-z0-9_-]*(?:\.[a-z][a-z0-9_-]*){2,}(?![\w$/-])")
_NUMBER = re.compile(r"(?<![\w.#/:=+-])\d+(?:\.\d+)*(?![\w/-]|\.\d)")
_DOMAIN_ENDS = {"com", "org", "net", "io", "dev", "ht", "sh", "gov", "edu", "co", "uk", "de", "app", "html"}


def _without_code(text: str) -> str:
    """``text`` with the lines of its code blocks blanked, as markdown-it finds them: a fence in a
    list item or a quote, one closed by a longer fence, and an indented block (a pasted stack
    trace, often) are code too, which a line pattern for fences missed."""
    text = mdparse.normalize_newlines(text)
    lines = text.split("\n")
    for token in mdparse.fences(mdparse.parse(text)):
        if token.map:
            start, end = token.map
            lines[start:end] = [""] * (end - start)
    return "\n".join(lines)


def salient_terms(ctx: IssueContext) -> list[str]:
    """The terms a faithful draft should mention: from the issue's title, body and the team notes.

    Error names (``NullPointerException``, ``ErrNotFound``, also from code blocks), code
    identifiers (code spans, ``snake_case``, ``camelCase``, ``PascalCase``, ``a.b()``), config keys
    (``--flags``, ``UPPER_SNAKE``, ``key=``, ``dotted.config.keys``) and numbers that carry
    meaning (versions, sizes; two or more digits). Fenced code contributes error names only, so a
    pasted log does not swamp the list. Comments are left out: a draft need not mention every side
    remark of a long thread.
    """
    text = "\n".join([ctx.title, ctx.body, *(note.text for note in ctx.notes)])
    prose = _without_code(text)
    for pattern in (URL, FILE_PATH, ISSUE_REF):
        prose = pattern.sub(" ", prose)
    found: list[str] = []

    def add(term: str) -> None:
        term = term.strip()
        if len(term) > 1 and term not in found:
            found.append(term)

    for match in _ERROR_NAME.finditer(text):
        add(match.group(1))
    for name in identifiers(prose):
        add(name)
    for match in _PASCAL.finditer(prose):
        add(match.group(0))
    for match in _FLAG.finditer(prose):
        add(match.group(0))
    for match in _KEY_VALUE.finditer(prose):
        add(match.group(1))
    for match in _DOTTED_KEY.finditer(prose):
        if match.group(0).rsplit(".", 1)[1] not in _DOMAIN_ENDS:
            add(match.group(0))
    for match in _NUMBER.finditer(prose):
        if "." in match.group(0) or len(match.group(0)) >= 2:
            add(match.group(0))
    return found


def mentions(text: str, term: str) -> bool:
    """``term`` occurs in ``text`` as a whole token (``464`` is not in ``4645``, ``Pool`` not in ``PoolBase``)."""
    return re.search(r"(?<![\w$])" + re.escape(term) + r"(?![\w$]|\.\d)", text) is not None


def coverage(text: str, terms: Sequence[str]) -> tuple[float | None, list[str]]:
    """Share of ``terms`` that ``text`` mentions (``None`` without terms), and the missing ones."""
    if not terms:
        return None, []
    missing = [t for t in terms if not mentions(text, t)]
    return (len(terms) - len(missing)) / len(terms), missing


# -- words per section ----------------------------------------------------------------------------
TODO_WORD = re.compile(r"\bTODO\b")


def _words_of(tokens: Sequence[Any]) -> int:
    """Words of visible prose and table cells; TODO lines, code blocks and header cells do not count."""
    count = 0
    in_header = False
    for tok in tokens:
        if tok.type == "thead_open":
            in_header = True
        elif tok.type == "thead_close":
            in_header = False
        elif tok.type == "inline" and not in_header:
            for line in mdparse.plain_text(tok).split("\n"):
                if not TODO_WORD.search(line):
                    count += len(line.split())
    return count


def section_budget(section: Section, budgets: Mapping[str, tuple[int, int]]) -> tuple[int, int]:
    return budgets.get(section.key) or budgets.get("*") or DEFAULT_BUDGETS["*"]


def section_words(text: str, outline: Outline) -> list[tuple[Section, str, int]]:
    """``(template section, body markdown, words)`` for each drafted section present in ``text``."""
    wanted = {s.key: s for s in drafted_sections(outline)}
    lines = mdparse.normalize_newlines(text).split("\n")
    out: list[tuple[Section, str, int]] = []
    seen: set[str] = set()
    for raw in mdparse.split(text).sections:
        key = title_key(raw.text)
        section = wanted.get(key)
        if section is None or key in seen:
            continue
        seen.add(key)
        body = "\n".join(lines[raw.line : raw.end_line]).strip()
        out.append((section, body, _words_of(raw.tokens)))
    return out


# -- rounding, for saved runs and summaries ----------------------------------------------------
def rounded(value: float | None, digits: int = 4) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(value, digits)
