"""The LLM judge: scores each drafted section for clarity, completeness and faithfulness, ``repeat`` times.

Separate from the deterministic metrics because it is the only part of ``drafter eval`` that asks a
model about a draft (the model stack is imported lazily, inside the functions), and its prompt and
answer schema change on their own schedule.
"""

from __future__ import annotations

import json
import statistics
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from drafter.document.provenance import split_provenance
from drafter.evaluation.metrics import CRITERIA, section_words
from drafter.evaluation.scores import JudgeSummary, Spread
from drafter.model.pricing import estimate_cost
from drafter.sources.context import IssueContext
from drafter.template.outline import Outline, title_key
from drafter.template.prompts import Prompts

if TYPE_CHECKING:
    from drafter.model.handle import ModelHandle

JUDGE_PROMPT = "judge"


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


def judge_messages(
    ctx: IssueContext, outline: Outline, text: str, prompts: Prompts | None = None
) -> list[Any]:
    """The messages the judge gets for one draft: the rubric, the inputs and the draft, as data."""
    from langchain_core.messages import HumanMessage

    from drafter.drafting.evidence import as_data, inputs_block

    body, _ = split_provenance(text)
    sections = [
        {"heading": section.heading, "text": as_data(markdown) or "(empty)"}
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

    from drafter.model.handle import Usage

    messages = judge_messages(ctx, outline, text, prompts)
    asked = {title_key(s["heading"]): s["heading"] for s in _headings(text, outline)}
    usage = Usage()
    per_repeat: list[dict[str, float]] = []
    per_section: dict[str, dict[str, list[float]]] = {}
    reasons: dict[str, list[str]] = {}
    failures: list[str] = []
    for attempt in range(1, repeat + 1):
        reply, spent = await handle.ask_retrying(messages, JudgeAnswer, chain="judge")
        usage.add(spent)
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
    from drafter.model.loop import run_sync

    return run_sync(judge_draft(handle, ctx, outline, text, repeat=repeat, prompts=prompts), lambda: [handle])


def _headings(text: str, outline: Outline) -> list[dict[str, str]]:
    body, _ = split_provenance(text)
    return [{"heading": section.heading} for section, _, _ in section_words(body, outline)]
