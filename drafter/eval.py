"""``drafter eval`` as a library: draft a fixed issue set with several variants and score the drafts.

Usage::

    cases = [EvalCase(src, load_source(src, SourceSettings())) for src in sources]
    variants = make_variants([resolve_model("offline", {})], [None])
    run = run_eval(cases, variants, load_outline(), EvalSettings())
    print(render_report(run, compare(run, load_run(Path("baseline.json"))), "markdown"))

A *variant* is one model with one prompt folder; several ``--model`` and ``--prompts`` give their
product. Every draft gets deterministic metrics (:func:`measure`): structure findings by rule, TODO
markers, words per section against length budgets, invented references and identifiers (in the
draft, not in the inputs), coverage of the issue's salient terms, comments cited in provenance,
tokens, calls, estimated cost and time. An optional LLM judge scores clarity, completeness and
faithfulness per section, ``repeat`` times, and reports the spread. :func:`compare` checks a run
against a saved one metric by metric, each with a direction and a threshold, so that a prompt
change can be gated in CI.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import math
import re
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from drafter import mdparse
from drafter.context import IssueContext
from drafter.draft import drafted_sections
from drafter.errors import InputError
from drafter.grounding import (
    FILE_PATH,
    ISSUE_REF,
    URL,
    identifiers,
    input_text,
    invented,
    invented_identifiers,
)
from drafter.outline import Outline, Section, title_key
from drafter.pricing import estimate_cost
from drafter.prompts import Prompts
from drafter.provenance import split_provenance
from drafter.providers import OFFLINE, ModelChoice
from drafter.validate import validate_text

if TYPE_CHECKING:
    from drafter.chains import ModelHandle
    from drafter.pipeline import DraftResult

EVAL_SCHEMA = "drafter.eval/1"
JUDGE_PROMPT = "judge"
CRITERIA = ("clarity", "completeness", "faithfulness")
Direction = Literal["higher", "lower"]
Events = Callable[[str], None]


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
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})[^\n]*\n.*?(?:^ {0,3}\1[ \t]*$|\Z)", re.DOTALL | re.MULTILINE)
_ERROR_NAME = re.compile(
    r"(?<![\w$])(?:[\w$.]*\.)?([A-Z][\w$]*(?:Error|Exception|Fault|Panic)|Err[A-Z][\w$]*)(?![\w$])"
)
_PASCAL = re.compile(r"(?<![\w.$])[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)*[A-Z][a-z0-9]+(?![\w$])")
_FLAG = re.compile(r"(?<![\w-])--[A-Za-z][\w-]*[A-Za-z0-9]")
_KEY_VALUE = re.compile(r"(?<![\w.-])([A-Za-z][\w.-]*[\w])=(?=\S)")
_DOTTED_KEY = re.compile(r"(?<![\w.$/-])[a-z][a-z0-9_-]*(?:\.[a-z][a-z0-9_-]*){2,}(?![\w$/-])")
_NUMBER = re.compile(r"(?<![\w.#/:=+-])\d+(?:\.\d+)*(?![\w/-]|\.\d)")
_DOMAIN_ENDS = {"com", "org", "net", "io", "dev", "ht", "sh", "gov", "edu", "co", "uk", "de", "app", "html"}


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
    prose = _FENCE.sub("\n", text)
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
_TODO = re.compile(r"\bTODO\b")
_MARKER = re.compile(r"TODO\(drafter\): verify reference `([^`\n]+)`")


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
                if not _TODO.search(line):
                    count += len(line.split())
    return count


def _budget(section: Section, budgets: Mapping[str, tuple[int, int]]) -> tuple[int, int]:
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


# -- one draft's metrics ------------------------------------------------------------------------------
@dataclass
class Spread:
    """Mean, range and sample standard deviation of repeated scores."""

    mean: float
    min: float
    max: float
    stdev: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            return cls(math.nan, math.nan, math.nan, math.nan, 0)
        stdev = statistics.stdev(values) if len(values) > 1 else 0.0
        return cls(statistics.fmean(values), min(values), max(values), stdev, len(values))

    def to_dict(self) -> dict[str, Any]:
        return {k: _round(v) for k, v in asdict(self).items()}


@dataclass
class JudgeSummary:
    """The judge's verdict on one draft over ``repeats`` runs."""

    model: str
    repeats: int
    criteria: dict[str, Spread] = field(default_factory=dict)
    sections: dict[str, dict[str, Spread]] = field(default_factory=dict)
    reasons: dict[str, list[str]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    usage: dict[str, int] = field(
        default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0, "calls": 0}
    )
    cost: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "repeats": self.repeats,
            "criteria": {k: v.to_dict() for k, v in self.criteria.items()},
            "sections": {s: {k: v.to_dict() for k, v in c.items()} for s, c in self.sections.items()},
            "reasons": self.reasons,
            "failures": self.failures,
            "usage": self.usage,
            "cost": self.cost,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JudgeSummary:
        def spread(value: Any) -> Spread:
            return Spread(
                **{
                    k: math.nan if value.get(k) is None else value[k] for k in ("mean", "min", "max", "stdev")
                },
                n=int(value.get("n", 0)),
            )

        return cls(
            model=str(data.get("model", "")),
            repeats=int(data.get("repeats", 0)),
            criteria={k: spread(v) for k, v in dict(data.get("criteria", {})).items()},
            sections={
                s: {k: spread(v) for k, v in c.items()} for s, c in dict(data.get("sections", {})).items()
            },
            reasons={str(k): list(v) for k, v in dict(data.get("reasons", {})).items()},
            failures=list(data.get("failures", [])),
            usage=dict(data.get("usage", {})),
            cost=data.get("cost"),
        )


@dataclass
class DraftMetrics:
    """The deterministic metrics of one draft (and the judge's, when asked)."""

    source: str
    title: str
    valid: bool
    errors: int
    warnings: int
    findings_by_rule: dict[str, int]
    todos: int
    words: int
    section_words: dict[str, int]
    off_budget: list[str]
    invented: list[str]
    invented_identifiers: list[str]
    terms: int
    coverage: float | None
    missing_terms: list[str]
    comments: int
    comments_cited: list[str]
    fallbacks: list[str] = field(default_factory=list)
    model: str = OFFLINE
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    cost: float | None = None
    seconds: float = 0.0
    path: str | None = None
    judge: JudgeSummary | None = None
    key: str = ""

    @property
    def match_key(self) -> str:
        """What pairs this draft with the same issue's draft in another run: ``owner/repo#N`` or SOURCE."""
        return self.key or self.source

    @property
    def comment_share(self) -> float | None:
        return len(self.comments_cited) / self.comments if self.comments else None

    def value(self, key: str) -> float | None:
        """This draft's number for the metric ``key`` (``None`` when it does not apply)."""
        if key == "valid":
            return 1.0 if self.valid else 0.0
        if key in ("invented", "invented_identifiers", "off_budget", "fallbacks"):
            return float(len(getattr(self, key)))
        if key == "comments_cited":
            return self.comment_share
        if key.startswith("judge_"):
            if self.judge is None or key[6:] not in self.judge.criteria:
                return None
            mean = self.judge.criteria[key[6:]].mean
            return None if math.isnan(mean) else mean
        value = getattr(self, key)
        return None if value is None else float(value)

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "judge"}
        data["coverage"] = _round(self.coverage)
        data["cost"] = _round(self.cost, 6)
        data["seconds"] = _round(self.seconds, 3)
        data["judge"] = self.judge.to_dict() if self.judge else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DraftMetrics:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "judge"}
        judge = data.get("judge")
        return cls(**known, judge=JudgeSummary.from_dict(judge) if isinstance(judge, Mapping) else None)


def references_in(text: str, ctx: IssueContext) -> list[str]:
    """References the draft does not take from the inputs: caught ones (verify markers) and the rest."""
    caught = [m.group(1).replace(": //", "://") for m in _MARKER.finditer(text)]
    rest = invented(_MARKER.sub(" ", text), input_text(ctx))
    return list(dict.fromkeys([*caught, *rest]))


def measure(
    text: str,
    ctx: IssueContext,
    outline: Outline,
    *,
    source: str = "",
    budgets: Mapping[str, tuple[int, int]] = DEFAULT_BUDGETS,
    result: DraftResult | None = None,
) -> DraftMetrics:
    """Score one draft's markdown against its inputs and template; ``result`` adds usage and time."""
    body, provenance = split_provenance(text)
    report = result.report if result is not None else validate_text(body, outline)
    by_rule: dict[str, int] = {}
    for finding in report.findings:
        by_rule[finding.rule] = by_rule.get(finding.rule, 0) + 1
    todos = sum(len(_TODO.findall(line)) for line in body.split("\n") if "drafter:" not in line)
    words: dict[str, int] = {}
    off: list[str] = []
    for section, _, count in section_words(body, outline):
        words[section.heading] = count
        low, high = _budget(section, budgets)
        if count > high:
            off.append(f"{section.heading}: {count} > {high} words")
        elif count < low and section.required and not section.fences:
            off.append(f"{section.heading}: {count} < {low} words")
    prose = _MARKER.sub(" ", body)
    source_text = "\n".join([input_text(ctx), *ctx.labels])
    terms = salient_terms(ctx)
    share, missing = coverage(prose, terms)
    ids = {c.id for c in ctx.comments}
    cited: list[str] = []
    for sources in provenance.section_sources.values() if provenance else ():
        for item in sources:
            cid = item.removeprefix("comment:")
            if item.startswith("comment:") and cid in ids and cid not in cited:
                cited.append(cid)
    metrics = DraftMetrics(
        source=source or ctx.reference,
        key=ctx.reference if ctx.repo and ctx.number else "",
        title=ctx.title,
        valid=report.valid(),
        errors=sum(1 for f in report.findings if f.severity == "error"),
        warnings=sum(1 for f in report.findings if f.severity == "warning"),
        findings_by_rule=by_rule,
        todos=todos,
        words=sum(words.values()),
        section_words=words,
        off_budget=off,
        invented=references_in(body, ctx),
        invented_identifiers=invented_identifiers(prose, source_text),
        terms=len(terms),
        coverage=share,
        missing_terms=missing,
        comments=len(ids),
        comments_cited=cited,
    )
    if result is not None:
        metrics.model = result.model
        metrics.fallbacks = list(result.fallbacks)
        metrics.prompt_tokens = result.usage.get("prompt_tokens", 0)
        metrics.completion_tokens = result.usage.get("completion_tokens", 0)
        metrics.calls = result.usage.get("calls", 0)
        metrics.cost = estimate_cost(result.model, metrics.prompt_tokens, metrics.completion_tokens)
        metrics.seconds = result.seconds
    elif provenance is not None:
        metrics.model = provenance.model
        metrics.fallbacks = list(provenance.fallbacks)
    return metrics


# -- the judge ------------------------------------------------------------------------------------
class SectionVerdict(BaseModel):
    """The judge's scores for one section."""

    section: str = Field(description="The section heading exactly as given")
    clarity: int = Field(ge=1, le=5, description="1-5: easy to follow, precise, no filler")
    completeness: int = Field(
        ge=1, le=5, description="1-5: covers what the section asks for, given the inputs"
    )
    faithfulness: int = Field(ge=1, le=5, description="1-5: every claim is supported by the inputs")
    reasons: str = Field(description="One to three sentences explaining the scores")


class JudgeAnswer(BaseModel):
    """The judge's answer: one verdict per section."""

    sections: list[SectionVerdict]


_JUDGE_SHAPE = json.dumps(
    {
        "sections": [
            {"section": "heading", "clarity": 4, "completeness": 3, "faithfulness": 5, "reasons": "why"}
        ]
    }
)
_TAGS = re.compile(
    r"<(/?)\s*(draft_section|draft|issue_data|team_notes|title|body|comment|labels|links)", re.IGNORECASE
)


def _as_data(text: str) -> str:
    """Neutralise the judge prompt's delimiters inside a draft, which is untrusted model output."""
    return _TAGS.sub(lambda m: f"<{m.group(1)}{m.group(2)[0]}\u200b{m.group(2)[1:]}", text)


def judge_messages(
    ctx: IssueContext, outline: Outline, text: str, prompts: Prompts | None = None
) -> list[Any]:
    """The messages the judge gets for one draft: the rubric, the inputs and the draft, as data."""
    from langchain_core.messages import HumanMessage

    from drafter.chains import inputs_block

    body, _ = split_provenance(text)
    sections = [
        {"heading": section.heading, "text": _as_data(markdown) or "(empty)"}
        for section, markdown, _ in section_words(body, outline)
    ]
    rendered = (prompts or Prompts()).render(
        JUDGE_PROMPT,
        template_name=outline.name,
        reference=ctx.reference,
        sections=sections,
        inputs=inputs_block(ctx),
        schema=_JUDGE_SHAPE,
    )
    return [HumanMessage(rendered)]


async def judge_draft(
    handle: ModelHandle,
    ctx: IssueContext,
    outline: Outline,
    text: str,
    *,
    repeat: int = 1,
    prompts: Prompts | None = None,
) -> JudgeSummary:
    """Ask the judge ``repeat`` times; an answer that does not parse is retried once, then counted as failed."""
    from langchain_core.messages import AIMessage, HumanMessage

    from drafter.chains import Usage

    messages = judge_messages(ctx, outline, text, prompts)
    asked = {title_key(s["heading"]): s["heading"] for s in _headings(text, outline)}
    usage = Usage()
    per_repeat: list[dict[str, float]] = []
    per_section: dict[str, dict[str, list[float]]] = {}
    reasons: dict[str, list[str]] = {}
    failures: list[str] = []
    for attempt in range(1, repeat + 1):
        reply = await handle.ask(messages, JudgeAnswer)
        usage.add(reply.usage)
        if reply.error is not None:
            retry = [
                *messages,
                AIMessage(reply.raw or "(empty)"),
                HumanMessage(
                    f"That answer does not match the JSON schema: {reply.error}. "
                    "Answer again with only one JSON object that matches the schema."
                ),
            ]
            reply = await handle.ask(retry, JudgeAnswer)
            usage.add(reply.usage)
        answer = reply.parsed
        if not isinstance(answer, JudgeAnswer):
            failures.append(f"run {attempt}: {reply.error or 'no answer'}")
            continue
        scores: dict[str, list[float]] = {c: [] for c in CRITERIA}
        for verdict in answer.sections:
            heading = asked.get(title_key(verdict.section))
            if heading is None:
                continue
            for criterion in CRITERIA:
                value = float(getattr(verdict, criterion))
                scores[criterion].append(value)
                per_section.setdefault(heading, {}).setdefault(criterion, []).append(value)
            reasons.setdefault(heading, []).append(" ".join(verdict.reasons.split())[:500])
        if not scores["clarity"]:
            failures.append(f"run {attempt}: the answer scored none of the draft's sections")
            continue
        per_repeat.append({c: statistics.fmean(v) for c, v in scores.items()})
    return JudgeSummary(
        model=handle.name,
        repeats=repeat,
        criteria={c: Spread.of([r[c] for r in per_repeat]) for c in CRITERIA},
        sections={h: {c: Spread.of(v) for c, v in s.items()} for h, s in per_section.items()},
        reasons=reasons,
        failures=failures,
        usage=usage.to_dict(),
        cost=estimate_cost(handle.name, usage.prompt_tokens, usage.completion_tokens),
    )


def run_judge(
    handle: ModelHandle,
    ctx: IssueContext,
    outline: Outline,
    text: str,
    *,
    repeat: int = 1,
    prompts: Prompts | None = None,
) -> JudgeSummary:
    """Synchronous :func:`judge_draft`."""
    return asyncio.run(judge_draft(handle, ctx, outline, text, repeat=repeat, prompts=prompts))


def _headings(text: str, outline: Outline) -> list[dict[str, str]]:
    body, _ = split_provenance(text)
    return [{"heading": section.heading} for section, _, _ in section_words(body, outline)]


# -- variants and runs -----------------------------------------------------------------------------
@dataclass
class Variant:
    """One way of drafting: a model (or a ready handle, for tests) and a prompt folder."""

    name: str
    model: ModelChoice
    prompts_dir: Path | None = None
    handle: ModelHandle | None = None


def make_variants(
    models: Sequence[ModelChoice],
    prompt_dirs: Sequence[Path | None] = (None,),
    handle_for: Callable[[ModelChoice], ModelHandle | None] | None = None,
) -> list[Variant]:
    """Every model with every prompt folder; names say both when more than one folder is given."""
    dirs = list(prompt_dirs) or [None]
    handles: dict[str, ModelHandle | None] = {}
    variants: list[Variant] = []
    names: set[str] = set()
    for model in models:
        if model.spec not in handles:
            handles[model.spec] = handle_for(model) if handle_for and model.provider != OFFLINE else None
        for folder in dirs:
            name = model.spec
            if len(dirs) > 1 or folder is not None:
                name += f" prompts={folder or 'default'}"
            unique, n = name, 2
            while unique in names:
                unique, n = f"{name} ({n})", n + 1
            names.add(unique)
            variants.append(Variant(unique, model, folder, handles[model.spec]))
    return variants


@dataclass
class EvalCase:
    """One issue of the set: the SOURCE as given, and its loaded context."""

    source: str
    ctx: IssueContext


@dataclass
class EvalSettings:
    """How to evaluate: length budgets, the judge (optional), where to write drafts, progress."""

    budgets: Mapping[str, tuple[int, int]] = field(default_factory=lambda: dict(DEFAULT_BUDGETS))
    judge: ModelHandle | None = None
    repeat: int = 1
    out_dir: Path | None = None
    author: str = "drafter eval"
    judge_prompts: Prompts | None = None
    on_event: Events | None = None


@dataclass
class VariantRun:
    """One variant's drafts and their metrics."""

    name: str
    model: str
    prompts_dir: str | None
    prompt_versions: dict[str, str]
    drafts: list[DraftMetrics] = field(default_factory=list)

    def summary(self, sources: Iterable[str] | None = None) -> dict[str, float | None]:
        """Each metric's value over the drafts (of ``sources`` only, when given): a mean per draft."""
        wanted = set(sources) if sources is not None else None
        drafts = [d for d in self.drafts if wanted is None or d.match_key in wanted]
        out: dict[str, float | None] = {}
        for metric in METRICS:
            values = [d.value(metric.key) for d in drafts]
            known = [v for v in values if v is not None]
            # A cost is only comparable when every draft has one.
            if not known or (metric.key == "cost" and len(known) < len(values)):
                out[metric.key] = None
            else:
                out[metric.key] = statistics.fmean(known)
        return out

    def judge_spread(self) -> dict[str, dict[str, float | None]]:
        """Per criterion: mean within-draft stdev over repeats, and the lowest and highest run mean."""
        out: dict[str, dict[str, float | None]] = {}
        for criterion in CRITERIA:
            spreads = [
                d.judge.criteria[criterion] for d in self.drafts if d.judge and criterion in d.judge.criteria
            ]
            spreads = [s for s in spreads if s.n]
            if spreads:
                out[criterion] = {
                    "stdev": _round(statistics.fmean(s.stdev for s in spreads)),
                    "min": _round(min(s.min for s in spreads)),
                    "max": _round(max(s.max for s in spreads)),
                }
        return out

    def findings_by_rule(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for d in self.drafts:
            for rule, n in d.findings_by_rule.items():
                totals[rule] = totals.get(rule, 0) + n
        return dict(sorted(totals.items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model,
            "prompts_dir": self.prompts_dir,
            "prompt_versions": self.prompt_versions,
            "summary": {k: _round(v, 6) for k, v in self.summary().items()},
            "findings_by_rule": self.findings_by_rule(),
            "judge_spread": self.judge_spread(),
            "drafts": [d.to_dict() for d in self.drafts],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VariantRun:
        return cls(
            name=str(data["name"]),
            model=str(data.get("model", "")),
            prompts_dir=data.get("prompts_dir"),
            prompt_versions=dict(data.get("prompt_versions", {})),
            drafts=[DraftMetrics.from_dict(d) for d in data.get("drafts", [])],
        )


@dataclass
class EvalRun:
    """A whole evaluation: the issue set, the template, and one :class:`VariantRun` per variant."""

    template: str
    sources: list[str]
    variants: list[VariantRun]
    judge: str | None = None
    repeat: int = 1
    judge_prompt: str | None = None
    created: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": EVAL_SCHEMA,
            "created": self.created,
            "template": self.template,
            "sources": self.sources,
            "judge": self.judge,
            "judge_prompt": self.judge_prompt,
            "repeat": self.repeat,
            "metrics": {
                m.key: {
                    "label": m.label,
                    "direction": m.direction,
                    "threshold": m.threshold,
                    "relative": m.relative,
                }
                for m in METRICS
            },
            "variants": [v.to_dict() for v in self.variants],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvalRun:
        return cls(
            template=str(data.get("template", "")),
            sources=[str(s) for s in data.get("sources", [])],
            variants=[VariantRun.from_dict(v) for v in data.get("variants", [])],
            judge=data.get("judge"),
            repeat=int(data.get("repeat", 1)),
            judge_prompt=data.get("judge_prompt"),
            created=str(data.get("created", "")),
        )


def load_run(path: Path) -> EvalRun:
    """A run saved with ``--format json`` or ``--out`` (``eval.json``), for ``--baseline``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"baseline {path} does not exist", hint="save one with --out DIR or --format json"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read baseline {path}: {exc}") from None
    except ValueError as exc:
        raise InputError(f"baseline {path} is not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("schema") != EVAL_SCHEMA:
        raise InputError(
            f'baseline {path} is not a drafter eval run (no "schema": "{EVAL_SCHEMA}")',
            hint="use the JSON written by 'drafter eval --format json' or --out DIR/eval.json",
        )
    try:
        return EvalRun.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"baseline {path} has an unexpected shape: {exc}") from None


def save_run(run: EvalRun, path: Path) -> None:
    from drafter.writer import write_atomic

    write_atomic(path, json.dumps(run.to_dict(), indent=2, ensure_ascii=False) + "\n")


async def run_eval_async(
    cases: Sequence[EvalCase], variants: Sequence[Variant], outline: Outline, settings: EvalSettings
) -> EvalRun:
    """Draft every case with every variant (one draft at a time) and measure each draft."""
    from drafter.pipeline import PROMPT_NAMES, DraftOptions, draft_async
    from drafter.writer import draft_filename, slugify, write_atomic

    if not cases:
        raise InputError("no issues to evaluate", hint="give SOURCES or --from-file")
    if not variants:
        raise InputError("no variants to evaluate", hint="give --model")
    judge_prompts = settings.judge_prompts or Prompts()
    runs: list[VariantRun] = []
    for variant in variants:
        prompts = Prompts(extra=variant.prompts_dir)
        vrun = VariantRun(
            name=variant.name,
            model=variant.handle.name if variant.handle else variant.model.spec,
            prompts_dir=str(variant.prompts_dir) if variant.prompts_dir else None,
            prompt_versions=prompts.versions(PROMPT_NAMES),
        )
        for case in cases:
            if settings.on_event:
                settings.on_event(f"{variant.name}: drafting {case.source}")
            options = DraftOptions(
                model=variant.model,
                handle=variant.handle,
                author=settings.author,
                prompts_dir=variant.prompts_dir,
            )
            result = await draft_async(case.ctx, outline, options)
            metrics = measure(
                result.text, case.ctx, outline, source=case.source, budgets=settings.budgets, result=result
            )
            if settings.out_dir is not None:
                folder = settings.out_dir / slugify(variant.name, 80)
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / draft_filename(case.ctx)
                write_atomic(path, result.text)
                metrics.path = str(path)
            if settings.judge is not None:
                if settings.on_event:
                    settings.on_event(f"{variant.name}: judging {case.source} x{settings.repeat}")
                metrics.judge = await judge_draft(
                    settings.judge,
                    case.ctx,
                    outline,
                    result.text,
                    repeat=settings.repeat,
                    prompts=judge_prompts,
                )
            vrun.drafts.append(metrics)
        runs.append(vrun)
    return EvalRun(
        template=outline.name,
        sources=[c.source for c in cases],
        variants=runs,
        judge=settings.judge.name if settings.judge else None,
        repeat=settings.repeat if settings.judge else 1,
        judge_prompt=judge_prompts.version(JUDGE_PROMPT) if settings.judge else None,
        created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    )


def run_eval(
    cases: Sequence[EvalCase], variants: Sequence[Variant], outline: Outline, settings: EvalSettings
) -> EvalRun:
    """Synchronous :func:`run_eval_async`."""
    return asyncio.run(run_eval_async(cases, variants, outline, settings))


# -- comparison with a baseline ----------------------------------------------------------------------
@dataclass
class Delta:
    """One metric of one variant against the baseline."""

    variant: str
    baseline_variant: str
    metric: str
    baseline: float | None
    current: float | None
    threshold: float | None
    regressed: bool
    improved: bool

    @property
    def change(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["change"] = _round(self.change, 6)
        data["baseline"] = _round(self.baseline, 6)
        data["current"] = _round(self.current, 6)
        return data


def compare(
    current: EvalRun, baseline: EvalRun, thresholds: Mapping[str, float] | None = None
) -> list[Delta]:
    """Each variant's metrics against the baseline's, over the issues both runs drafted.

    A variant is compared with the baseline variant of the same name, or with the baseline's only
    variant (a prompt change under a new name against the saved run). A metric regresses when it
    got worse, in its direction, by more than its threshold (``thresholds`` overrides the defaults).
    """
    limits = {m.key: m.threshold for m in METRICS}
    limits.update(thresholds or {})
    by_name = {v.name: v for v in baseline.variants}
    deltas: list[Delta] = []
    for variant in current.variants:
        base = by_name.get(variant.name) or (baseline.variants[0] if len(baseline.variants) == 1 else None)
        if base is None:
            continue
        common = {d.match_key for d in variant.drafts} & {d.match_key for d in base.drafts}
        if not common:
            raise InputError(
                f"the baseline's variant '{base.name}' drafted none of the issues of this run",
                hint="run the same issue set as the baseline",
            )
        now, before = variant.summary(common), base.summary(common)
        for metric in METRICS:
            cur, old = now[metric.key], before[metric.key]
            limit = limits.get(metric.key)
            regressed = improved = False
            if cur is not None and old is not None:
                worse = (old - cur) if metric.direction == "higher" else (cur - old)
                allowed = None if limit is None else (limit * abs(old) if metric.relative else limit)
                regressed = allowed is not None and worse > allowed + 1e-9
                improved = worse < -1e-9
            deltas.append(Delta(variant.name, base.name, metric.key, old, cur, limit, regressed, improved))
    return deltas


def unmatched_variants(current: EvalRun, baseline: EvalRun) -> list[str]:
    """Variants of ``current`` that :func:`compare` could not pair with a baseline variant."""
    if len(baseline.variants) == 1:
        return []
    names = {v.name for v in baseline.variants}
    return [v.name for v in current.variants if v.name not in names]


# -- reports -----------------------------------------------------------------------------------------
def _round(value: float | None, digits: int = 4) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(value, digits)


def format_value(metric: Metric, value: float | None) -> str:
    if value is None:
        return "n/a"
    if metric.kind == "share":
        return f"{value:.0%}"
    if metric.kind == "usd":
        return f"${value:.4f}"
    if metric.kind == "score":
        return f"{value:.2f}"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.2f}"


def _signed(metric: Metric, change: float | None) -> str:
    if change is None:
        return "n/a"
    if metric.kind == "share":
        return f"{change * 100:+.0f} pts"
    if metric.kind == "usd":
        return f"{change:+.4f}"
    return f"{change:+.2f}"


def summary_rows(run: EvalRun) -> tuple[list[str], list[list[str]]]:
    """The comparison table: one row per metric, one column per variant."""
    header = ["metric", *(v.name for v in run.variants)]
    summaries = [v.summary() for v in run.variants]
    spreads = [v.judge_spread() for v in run.variants]
    rows: list[list[str]] = [["drafts", *(str(len(v.drafts)) for v in run.variants)]]
    for metric in METRICS:
        values = [s[metric.key] for s in summaries]
        if all(v is None for v in values) and metric.key.startswith("judge_"):
            continue
        cells = []
        for value, spread in zip(values, spreads, strict=True):
            cell = format_value(metric, value)
            extra = spread.get(metric.key.removeprefix("judge_")) if metric.key.startswith("judge_") else None
            if extra and value is not None:
                cell += f" ±{extra['stdev']:.2f} [{extra['min']:.1f}-{extra['max']:.1f}]"
            cells.append(cell)
        rows.append([metric.label, *cells])
    rules = sorted({r for v in run.variants for r in v.findings_by_rule()})
    for rule in rules:
        rows.append([f"findings: {rule}", *(str(v.findings_by_rule().get(rule, 0)) for v in run.variants)])
    return header, rows


def delta_rows(deltas: Sequence[Delta]) -> tuple[list[str], list[list[str]]]:
    header = ["variant", "metric", "baseline", "current", "change", "threshold", "status"]
    rows = []
    for d in deltas:
        metric = METRIC_BY_KEY[d.metric]
        if d.baseline is None and d.current is None:
            continue
        status = "REGRESSED" if d.regressed else "improved" if d.improved else "ok"
        if d.threshold is None:
            limit = "-"
        elif metric.relative:
            limit = f"{d.threshold:.0%}"
        else:
            limit = f"{d.threshold * 100:g} pts" if metric.kind == "share" else f"{d.threshold:g}"
        rows.append(
            [
                d.variant if d.variant == d.baseline_variant else f"{d.variant} vs {d.baseline_variant}",
                metric.label,
                format_value(metric, d.baseline),
                format_value(metric, d.current),
                _signed(metric, d.change),
                limit,
                status,
            ]
        )
    return header, rows


def _plain_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)
    return "\n".join(lines)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(_md_cell(c) for c in header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(_md_cell(c) for c in r) + " |" for r in rows)
    return "\n".join(lines)


def render_report(run: EvalRun, deltas: Sequence[Delta] | None = None, fmt: str = "table") -> str:
    """The run as ``table`` (terminal), ``markdown`` (PR comments, job summaries) or ``json``."""
    if fmt == "json":
        data = run.to_dict()
        if deltas is not None:
            data["comparison"] = [d.to_dict() for d in deltas]
            data["regressions"] = sum(1 for d in deltas if d.regressed)
        return json.dumps(data, indent=2, ensure_ascii=False)
    table = _md_table if fmt == "markdown" else _plain_table
    judge = f"; judge {run.judge} x{run.repeat}" if run.judge else ""
    intro = f"{len(run.sources)} issues, template {run.template}{judge}"
    parts = [f"## drafter eval\n\n{intro}\n" if fmt == "markdown" else f"drafter eval: {intro}\n"]
    parts.append(table(*summary_rows(run)))
    if deltas is not None:
        regressed = [d for d in deltas if d.regressed]
        title = f"Against the baseline: {len(regressed)} regression(s)"
        parts.append(f"\n### {title}\n" if fmt == "markdown" else f"\n{title}\n")
        parts.append(table(*delta_rows(deltas)))
    return "\n".join(parts) + "\n"
