"""Running an evaluation: variants (model x prompt folder), drafting and scoring each issue, saving runs.

This is the one module that drives the drafting pipeline; it also owns the saved-run JSON format
(:data:`EVAL_SCHEMA`), so a baseline written by one version can be read by the next.
"""

from __future__ import annotations

import datetime as _dt
import json
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drafter.errors import InputError
from drafter.evaluation.judge import JUDGE_PROMPT, judge_draft
from drafter.evaluation.metrics import CRITERIA, DEFAULT_BUDGETS, METRICS, rounded
from drafter.evaluation.scores import DraftMetrics, measure
from drafter.model.choice import OFFLINE, ModelChoice
from drafter.sources.context import IssueContext
from drafter.template.outline import Outline
from drafter.template.prompts import Prompts

if TYPE_CHECKING:
    from drafter.model.handle import ModelHandle

EVAL_SCHEMA = "drafter.evaluation/1"
Events = Callable[[str], None]


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
                    "stdev": rounded(statistics.fmean(s.stdev for s in spreads)),
                    "min": rounded(min(s.min for s in spreads)),
                    "max": rounded(max(s.max for s in spreads)),
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
            "summary": {k: rounded(v, 6) for k, v in self.summary().items()},
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
    from drafter.document.writer import write_atomic

    write_atomic(path, json.dumps(run.to_dict(), indent=2, ensure_ascii=False) + "\n")


async def run_eval_async(
    cases: Sequence[EvalCase], variants: Sequence[Variant], outline: Outline, settings: EvalSettings
) -> EvalRun:
    """Draft every case with every variant (one draft at a time) and measure each draft."""
    from drafter.document.writer import draft_filename, slugify
    from drafter.pipeline import PROMPT_NAMES, DraftOptions, draft_async, draft_to

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
            path: Path | None = None
            if settings.out_dir is not None:
                folder = settings.out_dir / slugify(variant.name, 80)
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / draft_filename(case.ctx)
                # Its own output folder: replaced each run.
                result, _ = await draft_to(case.ctx, outline, options, path, source=case.source, force=True)
            else:
                result = await draft_async(case.ctx, outline, options)
            metrics = measure(
                result.text, case.ctx, outline, source=case.source, budgets=settings.budgets, result=result
            )
            if path is not None:
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
    from drafter.model.loop import run_sync

    handles = [variant.handle for variant in variants]
    return run_sync(run_eval_async(cases, variants, outline, settings), lambda: [*handles, settings.judge])
