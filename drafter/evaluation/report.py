"""Rendering a run (and its comparison with a baseline) as a terminal table, markdown or JSON.

Only presentation lives here: number formatting per metric kind and table layout, so the output
formats can change without touching how drafts are scored or compared.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from drafter.evaluation.compare import Delta
from drafter.evaluation.metrics import METRIC_BY_KEY, METRICS, Metric
from drafter.evaluation.runs import EvalRun


# -- reports -----------------------------------------------------------------------------------------
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
