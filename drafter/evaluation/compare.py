"""Comparing a run with a saved baseline, metric by metric, so a prompt or model change can be gated in CI.

Separate from running and reporting: it is pure arithmetic over two :class:`~drafter.evaluation.runs.EvalRun`
objects, with each metric's direction and threshold deciding what counts as a regression.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from drafter.errors import InputError
from drafter.evaluation.metrics import METRICS, rounded
from drafter.evaluation.runs import EvalRun


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
        data["change"] = rounded(self.change, 6)
        data["baseline"] = rounded(self.baseline, 6)
        data["current"] = rounded(self.current, 6)
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
