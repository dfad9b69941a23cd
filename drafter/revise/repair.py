"""Finish a partial draft: redraft only the sections whose model answer was unusable.

A draft whose chains gave unusable answers twice is written with TODOs in those sections and
recorded as partial (``failed`` in its state file). Drafting it again from scratch would spend
every call again and replace a human's edits elsewhere in the draft; so a re-run (``batch``) and
``redraft --failed`` go through here instead, which runs each chain that owns a failed section
once and splices only those sections into the draft as it is now (see :mod:`drafter.revise.redraft`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from drafter.drafting.compose import DraftOptions
from drafter.revise.redraft import RedraftOptions, redraft_sections
from drafter.revise.results import RedraftRun
from drafter.sources.context import IssueContext
from drafter.template.findings import Report
from drafter.template.outline import Outline
from drafter.template.validate import validate_text


@dataclass
class Repair:
    """What a repair did: the sections still failing, its usage and the draft's validation."""

    run: RedraftRun
    report: Report

    @property
    def still_failed(self) -> list[str]:
        return self.run.failed

    def reason(self) -> str:
        done = [r.section for r in self.run.results if r.status != "failed"]
        if self.still_failed:
            return (
                f"partial: {len(self.still_failed)} section(s) still unusable after retries "
                f"({', '.join(self.still_failed)}); run again to redraft them"
            )
        return f"redrafted the {len(done)} section(s) that had failed: {', '.join(done)}"


async def repair_partial(
    path: Path, ctx: IssueContext, outline: Outline, failed: list[str], options: DraftOptions
) -> Repair:
    """Redraft the ``failed`` sections of the draft at ``path`` from ``ctx``; the rest stays as it is."""
    redraft_options = RedraftOptions(
        section="",
        model=options.model,
        handle=options.ensure_handle(),
        prompts_dir=options.prompts_dir,
        outline=outline,
    )
    run = await redraft_sections(path, failed, redraft_options, lambda _spec: ctx, lenient=True)
    text = path.read_text(encoding="utf-8")
    return Repair(run, validate_text(text, outline))
