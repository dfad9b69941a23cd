"""``drafter review``: the structure validator, deterministic content checks, then a review chain.

Usage::

    report = review_text(text, path="docs/design/x.md", ctx=ctx, handle=None)   # offline checks only
    report.failed("error")   # findings at or above the gate?

Every finding is anchored to a section and a 1-based line of the draft and carries a suggested
fix. The deterministic checks (always run, and the only ones with ``--model offline``):

* ``structure/<rule>``: :func:`drafter.template.validate.validate_text` (TODO markers included);
* ``near-empty``: a drafted section with fewer than :data:`NEAR_EMPTY_WORDS` words besides TODOs;
* ``over-budget``: more words than the section's budget, :data:`DEFAULT_BUDGET` unless the template
  section says ``<!-- drafter:budget N -->``;
* ``link-not-in-inputs``: a URL, issue reference or file path the issue, comments and notes do not
  contain (needs the inputs: the draft's recorded SOURCE or ``--source``);
* ``no-source``: a generated section that cites no input in provenance.

The review chain (prompt ``review.md.j2``) asks the model for findings against a rubric
(completeness, unsupported claims, risks without mitigation, missing rollback, vague goals,
contradictions, length) as one JSON object validated by :class:`ReviewAnswer`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from drafter.document.content import TODO, drafted_sections, section_id
from drafter.document.provenance import Provenance, read_draft, split_provenance
from drafter.document.regions import Located, Region, locate
from drafter.drafting.grounding import input_text, invented
from drafter.errors import ProviderError
from drafter.model.meter import empty_usage
from drafter.sources.context import IssueContext
from drafter.template.outline import DEFAULT_WORD_BUDGET, Outline, Section, title_key, word_budget
from drafter.template.prompts import Prompts
from drafter.template.validate import validate_text

if TYPE_CHECKING:
    from drafter.model.handle import ModelHandle

Severity = Literal["error", "warning"]
SEVERITY_RANK = {"warning": 1, "error": 2}
DEFAULT_BUDGET = DEFAULT_WORD_BUDGET
NEAR_EMPTY_WORDS = 8
_WORD = re.compile(r"[\w'’-]+")
CATEGORIES = (
    "completeness",
    "unsupported-claim",
    "risk-without-mitigation",
    "missing-rollback",
    "vague-goal",
    "contradiction",
    "length",
)


@dataclass(frozen=True)
class ReviewFinding:
    """One problem: rule, severity, 1-based line, section heading, message, suggested fix."""

    rule: str
    severity: Severity
    line: int
    section: str
    message: str
    fix: str
    origin: Literal["structure", "check", "model"] = "check"
    sources: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "line": self.line,
            "section": self.section,
            "message": self.message,
            "fix": self.fix,
            "origin": self.origin,
            "sources": list(self.sources),
        }


@dataclass
class ReviewReport:
    """The review of one draft."""

    path: str
    template: str
    model: str
    findings: list[ReviewFinding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=empty_usage)

    @property
    def offline(self) -> bool:
        return self.model == "offline"

    def failed(self, fail_on: Severity) -> bool:
        """True when a finding is at or above ``fail_on``."""
        return any(SEVERITY_RANK[f.severity] >= SEVERITY_RANK[fail_on] for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "template": self.template,
            "model": self.model,
            "offline": self.offline,
            "notes": self.notes,
            "findings": [f.to_dict() for f in self.findings],
            "usage": self.usage,
        }


# -- the model's answer ----------------------------------------------------------------------------
class ModelFinding(BaseModel):
    """One finding as the model gives it."""

    section: str = Field(description="A section heading of the draft, as written")
    quote: str = Field(default="", description="A short exact excerpt of the draft line, or empty")
    category: str = Field(description="One of: " + ", ".join(CATEGORIES))
    severity: Literal["error", "warning"] = "warning"
    message: str = Field(description="What is wrong, one sentence")
    fix: str = Field(default="", description="What to write instead, one sentence")
    sources: list[str] = Field(default_factory=list, description="Input ids: issue, comment:<id>, note:<n>")


class ReviewAnswer(BaseModel):
    """The review chain's answer."""

    findings: list[ModelFinding] = Field(default_factory=list)


# -- deterministic checks --------------------------------------------------------------------------
def budget(section: Section) -> int:
    """Words allowed in a section: ``<!-- drafter:budget N -->`` in the template, else the default."""
    return word_budget(section)


def words(text: str) -> int:
    return len(_WORD.findall(text))


def _line_of(located: Located, region: Region, needle: str) -> int:
    if needle:
        for index in range(region.start, region.end):
            if needle in located.lines[index]:
                return index + 1
    return region.heading + 1


def _section_checks(
    located: Located, outline: Outline, provenance: Provenance | None, ctx: IssueContext | None
) -> list[ReviewFinding]:
    found: list[ReviewFinding] = []
    source = input_text(ctx) if ctx is not None else None
    drafted = {section_id(s) for s in drafted_sections(outline)}
    for sid, region in located.regions.items():
        heading = region.section.heading
        if sid not in drafted:
            continue
        prose = "\n".join(line for line in region.text.split("\n") if TODO not in line)
        count = words(prose)
        if region.text.strip() and count < NEAR_EMPTY_WORDS:
            found.append(
                ReviewFinding(
                    "near-empty",
                    "warning",
                    region.heading + 1,
                    heading,
                    f"'{heading}' has only {count} words besides TODO markers",
                    f"write what '{heading}' asks for, or say briefly why it does not apply",
                )
            )
        limit = budget(region.section)
        total = words(region.text)
        if total > limit:
            found.append(
                ReviewFinding(
                    "over-budget",
                    "warning",
                    region.heading + 1,
                    heading,
                    f"'{heading}' has {total} words, over its budget of {limit}",
                    "cut it to what a reviewer needs; link to the issue for the rest",
                )
            )
        if source is not None:
            for ref in invented(region.text, source):
                found.append(
                    ReviewFinding(
                        "link-not-in-inputs",
                        "error",
                        _line_of(located, region, ref),
                        heading,
                        f"reference {ref} is not in the issue, its comments or the notes",
                        "check it and keep it only if it is right, or remove it",
                    )
                )
        if (
            provenance is not None
            and sid in provenance.sections
            and not provenance.section_sources.get(sid)
            # fallbacks are recorded by heading, failed sections by id: neither cites a source.
            and heading not in provenance.fallbacks
            and sid not in provenance.failed
            and count >= NEAR_EMPTY_WORDS
        ):
            found.append(
                ReviewFinding(
                    "no-source",
                    "warning",
                    region.heading + 1,
                    heading,
                    f"'{heading}' was generated without citing any input (issue, comment or note)",
                    "verify its claims against the issue thread, or redraft the section",
                )
            )
    return found


def _anchor(located: Located, heading: str) -> Region | None:
    key = title_key(heading)
    for region in located.regions.values():
        if region.section.heading == heading or region.section.key == key:
            return region
    return None


def deterministic(
    text: str, outline: Outline, ctx: IssueContext | None, *, path: str = "<text>"
) -> tuple[list[ReviewFinding], Located, Provenance | None]:
    """The structure validator plus the content checks that need no model.

    The per-section checks that need the draft's state (cited sources, fallbacks) are skipped
    when its state file is missing.
    """
    record = read_draft(text, Path(path) if path != "<text>" else None)
    provenance = record.provenance if record.state in ("file", "inline") else None
    located = locate(text, outline)
    findings: list[ReviewFinding] = []
    for finding in validate_text(text, outline, path=path).findings:
        region = located.at_line(finding.line)
        findings.append(
            ReviewFinding(
                f"structure/{finding.rule}",
                finding.severity,
                finding.line,
                finding.section or (region.section.heading if region else ""),
                finding.message,
                "fix the structure as the message says (see 'drafter validate')",
                "structure",
            )
        )
    findings.extend(_section_checks(located, outline, provenance, ctx))
    return findings, located, provenance


# -- the review chain ------------------------------------------------------------------------------
async def _ask(
    handle: ModelHandle,
    text: str,
    outline: Outline,
    ctx: IssueContext | None,
    prompts: Prompts,
    known: Sequence[str],
) -> tuple[ReviewAnswer, dict[str, int]]:
    from langchain_core.messages import HumanMessage, SystemMessage

    from drafter.drafting.evidence import as_data, inputs_block

    body, _ = split_provenance(text)
    variables = {
        "template_name": outline.name,
        "reference": ctx.reference if ctx is not None else "an issue",
        "headings": [s.heading for s in drafted_sections(outline)],
        "offline_findings": [as_data(k) for k in known],
        "draft": as_data(body),
        "inputs": inputs_block(ctx) if ctx is not None else "(the inputs are not available)",
    }
    messages = [SystemMessage(prompts.render("system")), HumanMessage(prompts.render("review", **variables))]
    reply, usage = await handle.ask_retrying(messages, ReviewAnswer, chain="review")
    if not isinstance(reply.parsed, ReviewAnswer):
        raise ProviderError(
            f"model '{handle.name}' gave no usable review: {reply.error or 'empty answer'}",
            hint="retry, use another --model, or --model offline for the deterministic checks",
        )
    return reply.parsed, usage.to_dict()


def _model_findings(answer: ReviewAnswer, located: Located) -> list[ReviewFinding]:
    found: list[ReviewFinding] = []
    for item in answer.findings:
        region = _anchor(located, item.section)
        category = item.category if item.category in CATEGORIES else "completeness"
        severity: Severity = item.severity
        message = " ".join(item.message.split())
        if category == "unsupported-claim" and not item.sources:
            message += " (the claim cites no input)"
        line = _line_of(located, region, item.quote.strip()) if region is not None else 1
        found.append(
            ReviewFinding(
                f"review/{category}",
                severity,
                line,
                region.section.heading if region is not None else item.section,
                message,
                " ".join(item.fix.split()) or "see the message",
                "model",
                tuple(item.sources),
            )
        )
    return found


def review_text(
    text: str,
    outline: Outline,
    *,
    path: str = "<text>",
    ctx: IssueContext | None = None,
    handle: ModelHandle | None = None,
    prompts: Prompts | None = None,
) -> ReviewReport:
    """Review one draft; with no ``handle`` only the deterministic checks run (and the report says so)."""
    findings, located, _ = deterministic(text, outline, ctx, path=path)
    report = ReviewReport(path, outline.name, handle.name if handle is not None else "offline")
    if ctx is None:
        report.notes.append("inputs not available: references and claims were not checked against the issue")
    if handle is None:
        report.notes.append(
            "offline review: only deterministic checks ran (structure, TODOs, empty and near-empty "
            "sections, length budgets, references not in the inputs)"
        )
    else:
        known = [f"{f.section}: {f.message}" for f in findings]
        from drafter.model.loop import run_sync

        answer, usage = run_sync(
            _ask(handle, text, outline, ctx, prompts or Prompts(), known), lambda: [handle]
        )
        findings.extend(_model_findings(answer, located))
        report.usage = usage
    report.findings = sorted(findings, key=lambda f: (f.line, -SEVERITY_RANK[f.severity], f.rule))
    return report


# -- output ----------------------------------------------------------------------------------------
def format_text(report: ReviewReport) -> list[str]:
    lines = [
        f"{report.path}:{f.line}: {f.severity} [{f.rule}] {f.section + ': ' if f.section else ''}{f.message} (fix: {f.fix})"
        for f in report.findings
    ]
    return lines + [f"{report.path}: note: {note}" for note in report.notes]


def format_markdown(reports: Sequence[ReviewReport]) -> str:
    """A report for a pull-request comment."""
    out = ["## drafter review", ""]
    for report in reports:
        errors = sum(f.severity == "error" for f in report.findings)
        warnings = len(report.findings) - errors
        out.append(f"### `{report.path}`: {errors} errors, {warnings} warnings (model: {report.model})")
        out.append("")
        for note in report.notes:
            out.append(f"> {note}")
        if report.notes:
            out.append("")
        if not report.findings:
            out.append("No findings.")
        else:
            out.append("| Line | Severity | Section | Finding | Suggested fix |")
            out.append("|---:|---|---|---|---|")
            for f in report.findings:
                cells = [str(f.line), f.severity, f.section, f"`{f.rule}` {f.message}", f.fix]
                out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;")
