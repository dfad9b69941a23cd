"""One draft's scorecard: :class:`DraftMetrics`, filled in by :func:`measure`, with the judge's summary.

The judge's result types (:class:`Spread`, :class:`JudgeSummary`) live here rather than in
:mod:`drafter.evaluation.judge` because a scorecard holds one and is read back from JSON with it,
while the judge itself needs :func:`~drafter.evaluation.metrics.section_words`; this keeps the
imports one-way.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from drafter.document.provenance import Provenance, split_provenance
from drafter.drafting.grounding import VERIFY_MARKER, input_text, invented, invented_identifiers
from drafter.evaluation.metrics import (
    DEFAULT_BUDGETS,
    TODO_WORD,
    coverage,
    rounded,
    salient_terms,
    section_budget,
    section_words,
)
from drafter.model.choice import OFFLINE
from drafter.model.meter import empty_usage
from drafter.model.pricing import estimate_cost
from drafter.sources.context import IssueContext
from drafter.template.outline import Outline
from drafter.template.validate import validate_text

if TYPE_CHECKING:
    from drafter.drafting.compose import DraftResult


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
        return {k: rounded(v) for k, v in asdict(self).items()}


@dataclass
class JudgeSummary:
    """The judge's verdict on one draft over ``repeats`` runs."""

    model: str
    repeats: int
    criteria: dict[str, Spread] = field(default_factory=dict)
    sections: dict[str, dict[str, Spread]] = field(default_factory=dict)
    reasons: dict[str, list[str]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=empty_usage)
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
        data["coverage"] = rounded(self.coverage)
        data["cost"] = rounded(self.cost, 6)
        data["seconds"] = rounded(self.seconds, 3)
        data["judge"] = self.judge.to_dict() if self.judge else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DraftMetrics:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "judge"}
        judge = data.get("judge")
        return cls(**known, judge=JudgeSummary.from_dict(judge) if isinstance(judge, Mapping) else None)


def references_in(text: str, ctx: IssueContext) -> list[str]:
    """References the draft does not take from the inputs: caught ones (verify markers) and the rest."""
    caught = [m.group(1).replace(": //", "://") for m in VERIFY_MARKER.finditer(text)]
    rest = invented(VERIFY_MARKER.sub(" ", text), input_text(ctx))
    return list(dict.fromkeys([*caught, *rest]))


def measure(
    text: str,
    ctx: IssueContext,
    outline: Outline,
    *,
    source: str = "",
    budgets: Mapping[str, tuple[int, int]] = DEFAULT_BUDGETS,
    result: DraftResult | None = None,
    provenance: Provenance | None = None,
) -> DraftMetrics:
    """Score one draft's markdown against its inputs and template; ``result`` adds usage, time and
    the draft's full record (cited sources), as ``provenance`` does for a draft read from disk;
    without either, only the draft's own marker is read."""
    body, marker = split_provenance(text)
    if provenance is None:
        provenance = result.provenance if result is not None and result.provenance else marker
    report = result.report if result is not None else validate_text(body, outline)
    by_rule: dict[str, int] = {}
    for finding in report.findings:
        by_rule[finding.rule] = by_rule.get(finding.rule, 0) + 1
    todos = sum(len(TODO_WORD.findall(line)) for line in body.split("\n") if "drafter:" not in line)
    words: dict[str, int] = {}
    off: list[str] = []
    for section, _, count in section_words(body, outline):
        words[section.heading] = count
        low, high = section_budget(section, budgets)
        if count > high:
            off.append(f"{section.heading}: {count} > {high} words")
        elif count < low and section.required and not section.fences:
            off.append(f"{section.heading}: {count} < {low} words")
    prose = VERIFY_MARKER.sub(" ", body)
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
