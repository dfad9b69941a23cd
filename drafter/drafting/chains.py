"""Per-section prompt chains: problem -> solution -> risks, built with langchain-core runnables.

The template's top-level sections are grouped into chains (:meth:`Outline.chains`). Each chain
renders its prompt file with the sections' guidance and the issue as variables, asks the model for
one JSON object whose schema is derived from those sections (typed lists, table rows, fenced
blocks), retries once with the error when the answer does not fit the schema, and otherwise falls
back to TODO markers for the human. ``solution`` sees ``problem``'s draft, ``risks`` sees both;
a chain that depends on nothing else runs concurrently with the others.

The model is injected as a :class:`ModelHandle` around any langchain ``BaseChatModel``: tests
pass fake chat models; :mod:`drafter.model.openai` calls OpenAI-compatible servers with native
structured output.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from drafter.document.content import SectionContent, section_id, todo_content
from drafter.drafting.answers import answer_shape, chain_model, ident, section_kind, to_content
from drafter.drafting.evidence import as_data, inputs_block
from drafter.drafting.grounding import input_text
from drafter.errors import DrafterError, ProviderError
from drafter.model.handle import ModelHandle, Reply, Usage
from drafter.model.openai import ANSWER_SHAPE, messages_for, strict_schema
from drafter.sources.context import IssueContext
from drafter.template.outline import Outline, Section, placeholders_in, word_budget
from drafter.template.prompts import Prompts

if TYPE_CHECKING:
    # Type-only: importing langchain's chat-model and runnable stack costs ~0.5 s (it pulls in
    # langsmith), which only a handle around a langchain chat model needs, when it first asks.
    pass

DEPENDENCIES = {"problem": (), "solution": ("problem",), "risks": ("problem", "solution")}


# -- planning ------------------------------------------------------------------------------------
@dataclass
class ChainSpec:
    """One chain: its name, the sections it drafts (keyed for the JSON answer), its dependencies."""

    name: str
    sections: dict[str, Section]
    depends_on: tuple[str, ...]
    # Model calls on the longest path from this chain to the end of the draft, itself included
    # (problem 3, solution 2, risks 1): a batch gives free call slots to the highest first.
    ahead: int = 1


def plan(outline: Outline) -> list[ChainSpec]:
    """The chains of a template, in dependency order."""
    specs: list[ChainSpec] = []
    names = list(outline.chains())
    for name, tops in outline.chains().items():
        keys: dict[str, Section] = {}
        for top in tops:
            for section in top.walk():
                if section.has_body or not section.children:
                    key = ident(section.title)
                    while key in keys:
                        key += "_2"
                    keys[key] = section
        deps = DEPENDENCIES.get(name, ("problem",) if name != "problem" else ())
        specs.append(ChainSpec(name, keys, tuple(d for d in deps if d in names)))
    for spec in reversed(specs):  # dependents come later in the list, so theirs are known
        spec.ahead = 1 + max((s.ahead for s in specs if spec.name in s.depends_on), default=0)
    return specs


_SCHEMAS: dict[tuple[Any, ...], tuple[type[BaseModel], ChainSpec]] = {}


def chain_schema(spec: ChainSpec) -> type[BaseModel]:
    """The pydantic model of one chain's answer: one field per section.

    Cached per chain of a loaded template (outlines are cached, so a batch drafts every issue with
    the same section objects): building the models with ``create_model`` costs milliseconds, and
    a reused class also lets :class:`ModelHandle` reuse its structured-output runnable.
    """
    key = (spec.name, tuple((name, id(section)) for name, section in spec.sections.items()))
    hit = _SCHEMAS.get(key)
    # The cached spec holds its sections, so their ids cannot be reused while the entry exists.
    if hit is not None:
        cached = hit[1].sections.values()
        if all(a is b for a, b in zip(cached, spec.sections.values(), strict=True)):
            return hit[0]
    model = chain_model(spec.name, spec.sections)
    if len(_SCHEMAS) >= 64:
        _SCHEMAS.clear()
    _SCHEMAS[key] = (model, spec)
    return model


# -- prompt inputs -------------------------------------------------------------------------------
def _layout_hint(section: Section) -> str:
    """The labels of the template's own layout for a section, without its example values.

    ``**Current Behavior:** ...`` / ``**Technical Constraint:** ...`` tell the model what to cover;
    ``[Goal 1] [Goal 2]`` or ``POST /api/v1/resource`` are examples it would copy. So only the
    labels (the text before a colon) are kept. Tables, fences and the richer shapes (risks, goals,
    rollback) are described by the answer schema instead.
    """
    if section.tables or section.fences or section_kind(section):
        return ""
    labels: list[str] = []
    for line in section.body.split("\n"):
        label, colon, _ = line.partition(":")
        label = label.strip(" *-")
        if colon and label and not placeholders_in(label) and len(label) <= 40:
            labels.append(label)
    return "; ".join(labels)


def _instructions(section: Section) -> list[str]:
    """The template's guidance for one section, plus what its shape alone does not say."""
    lines = list(section.guidance) + [c for c in section.comments if len(c) < 600][:2]
    hint = _layout_hint(section)
    if hint:
        lines.append(f"Follow the template's layout: {hint} (with this issue's content).")
    if section.list_expected:
        lines.append("Use list items.")
    for fence in section.fences:
        kind = f"a {fence.info} block" if fence.info else "an ASCII diagram block"
        lines.append(f"Give {kind}" + (f" for '{fence.label}'" if fence.label else "") + " in `blocks`.")
    return lines


@dataclass
class ChainResult:
    """What one chain produced."""

    name: str
    contents: dict[str, SectionContent]
    usage: Usage
    fallbacks: list[str] = field(default_factory=list)
    # Ids of the sections whose answer was unusable even after the retry (not merely empty):
    # the draft is partial, and a re-run redrafts exactly these.
    failed: list[str] = field(default_factory=list)
    replaced_refs: list[str] = field(default_factory=list)
    seconds: float = 0.0


# Converting a section's word budget into answer tokens: English prose runs ~1.35 tokens a word,
# each section's JSON adds keys, its sources and the evidence quote (~150 tokens), and the whole
# answer gets a quarter more as headroom. A model that never stops (a small local one without an
# end token) is cut there instead of running until its context is full.
TOKENS_PER_WORD = 1.35
SECTION_OVERHEAD_TOKENS = 150
HEADROOM = 1.25
MIN_OUTPUT_TOKENS = 1024

# How a --deadline is waited for; tests replace it to expire the deadline at a chosen moment
# rather than racing the clock.
deadline_timer: Callable[[float], Awaitable[None]] = asyncio.sleep


def output_budget(spec: ChainSpec) -> int:
    """The most tokens a chain's answer may take: its sections' word budgets (the template's
    ``<!-- drafter:budget N -->``, else the review's default) in tokens, with headroom."""
    words = sum(word_budget(section) for section in spec.sections.values())
    tokens = words * TOKENS_PER_WORD + SECTION_OVERHEAD_TOKENS * len(spec.sections)
    return max(MIN_OUTPUT_TOKENS, int(tokens * HEADROOM))


class ChainRunner:
    """Runs the chains of one template for one issue."""

    def __init__(
        self, outline: Outline, ctx: IssueContext, handle: ModelHandle | None, prompts: Prompts
    ) -> None:
        self.outline = outline
        self.ctx = ctx
        self.handle = handle
        self.prompts = prompts
        self.specs = plan(outline)
        self.inputs = inputs_block(ctx)
        self.source_text = input_text(ctx)
        self.timed_out = False  # --deadline passed (see run): no re-ask afterwards
        self.finished: dict[str, ChainResult] = {}  # chains done so far in run()

    def messages(
        self, spec: ChainSpec, previous: str = "", findings: Sequence[str] = (), own: str = ""
    ) -> list[BaseMessage]:
        """The exact messages one chain sends (also what ``--dry-run`` prints).

        The system rules and the evidence come first and are the same for every chain of a draft,
        so a provider's prompt cache reuses them; the chain's task, the earlier chains' drafts
        (``previous``, whole) and, on a re-ask, its own answer (``own``) and the ``findings``
        come last.
        """
        variables = {
            "template_name": self.outline.name,
            "reference": self.ctx.reference,
            "sections": [
                {
                    "key": key,
                    "heading": section.heading,
                    "required": section.required,
                    "instructions": _instructions(section),
                }
                for key, section in spec.sections.items()
            ],
            "previous": as_data(previous),
            "own": as_data(own),
            "findings": [as_data(f) for f in findings],
            # The evidence is its own message now; a team's prompt written for an earlier version
            # may still use {{ inputs }} or {{ schema }} (strict undefined would fail it).
            "inputs": "(the inputs are in the message before this one)",
            "schema": answer_shape(spec.sections),
        }
        prompt_name = spec.name if _has_prompt(self.prompts, spec.name) else "solution"
        return [
            SystemMessage(self.prompts.render("system")),
            HumanMessage(self.prompts.render("evidence", reference=self.ctx.reference, inputs=self.inputs)),
            HumanMessage(self.prompts.render(prompt_name, **variables)),
            # Dropped by handles that send the JSON schema itself (see ModelHandle.sent_messages).
            HumanMessage(
                self.prompts.render("answer", schema=answer_shape(spec.sections)), name=ANSWER_SHAPE
            ),
        ]

    async def run_chain(
        self,
        spec: ChainSpec,
        previous: str = "",
        findings: Sequence[str] = (),
        *,
        own: str = "",
        ahead: int | None = None,
    ) -> ChainResult:
        """One chain's call (and its one schema retry); ``ahead`` defaults to ``spec.ahead``.

        A re-ask passes the chain's ``own`` earlier answer and the ``findings`` it must fix.
        """
        started = time.perf_counter()
        schema = chain_schema(spec)
        messages = self.messages(spec, previous, findings, own)
        if self.handle is None:
            raise ProviderError("no model to ask", hint="pass --model")
        reply, usage = await self.handle.ask_retrying(
            messages,
            schema,
            chain=spec.name,
            ahead=spec.ahead if ahead is None else ahead,
            max_tokens=output_budget(spec),
        )
        return self.chain_result(spec, reply, usage, started)

    def chain_result(self, spec: ChainSpec, reply: Reply, usage: Usage, started: float) -> ChainResult:
        """One chain's sections from its final answer; a missing or unusable section is a TODO."""
        result = ChainResult(spec.name, {}, usage)
        for key, section in spec.sections.items():
            value = getattr(reply.parsed, key, None) if reply.parsed is not None else None
            if isinstance(value, BaseModel):
                content, replaced = to_content(section, value, self.source_text)
                result.replaced_refs.extend(replaced)
                if content.is_empty():
                    content = todo_content(section, "the model left it empty")
                    result.fallbacks.append(section.heading)
            else:
                # The parser's error and the raw answer go to --trace and -v only: a draft is
                # read by people, and the raw answer may echo anything the server sent.
                content = todo_content(section, f"the model's answer {_why(reply.error)}; see --trace")
                result.fallbacks.append(section.heading)
                result.failed.append(section_id(section))
            result.contents[section_id(section)] = content
        result.seconds = time.perf_counter() - started
        return result

    async def run(
        self,
        render_previous: Callable[[dict[str, SectionContent]], str],
        on_chain: Callable[[str, str], None] | None = None,
        deadline: float | None = None,
    ) -> list[ChainResult]:
        """Run every chain, each as soon as the chains it depends on are done.

        ``deadline``: seconds for all of them (``--deadline``). When it passes, the chains still
        running or waiting are stopped (their requests closed, which stops a local server's
        generation) and their sections become TODOs recorded as failed: the draft is written as
        partial, and a re-run or ``redraft --failed`` finishes it.
        """
        if deadline is not None:
            return await self._run_until(render_previous, on_chain, deadline)
        done: dict[str, asyncio.Future[ChainResult]] = {}
        loop = asyncio.get_running_loop()
        for spec in self.specs:
            done[spec.name] = loop.create_future()

        async def one(spec: ChainSpec) -> None:
            try:
                earlier = [await done[d] for d in spec.depends_on]
                contents: dict[str, SectionContent] = {}
                for result in earlier:
                    contents.update(result.contents)
                if on_chain:
                    on_chain(spec.name, "running")
                result = await self.run_chain(spec, render_previous(contents) if contents else "")
                self.finished[spec.name] = result
                if on_chain:
                    on_chain(spec.name, "done")
                done[spec.name].set_result(result)
            except asyncio.CancelledError:
                # Stopped (a deadline, a signal): the chains waiting on this one stop too. A
                # cancelled future, unlike one holding the CancelledError, is never reported as
                # an exception nobody retrieved when it is collected.
                if not done[spec.name].done():
                    done[spec.name].cancel()
                raise
            except BaseException as exc:
                if not done[spec.name].done():
                    done[spec.name].set_exception(exc)
                raise

        results = await asyncio.gather(*(one(s) for s in self.specs), return_exceptions=True)
        for item in results:
            if isinstance(item, BaseException):
                for future in done.values():
                    if future.done() and not future.cancelled():
                        future.exception()  # mark retrieved
                raise item
        return [done[s.name].result() for s in self.specs]

    async def _run_until(
        self,
        render_previous: Callable[[dict[str, SectionContent]], str],
        on_chain: Callable[[str, str], None] | None,
        deadline: float,
    ) -> list[ChainResult]:
        self.finished.clear()
        run = asyncio.ensure_future(self.run(render_previous, on_chain))
        timer = asyncio.ensure_future(deadline_timer(deadline))
        try:
            done, _ = await asyncio.wait({run, timer}, return_when=asyncio.FIRST_COMPLETED)
            if run in done:
                return run.result()
            self.timed_out = True
        finally:
            # Cancelling the run cancels every request still open: the connection closes, and a
            # local server stops generating an answer nobody will read.
            for task in (run, timer):
                task.cancel()
            await asyncio.gather(run, timer, return_exceptions=True)
        return [self.finished.get(spec.name) or self.stopped(spec, deadline) for spec in self.specs]

    def stopped(self, spec: ChainSpec, deadline: float) -> ChainResult:
        """A chain the deadline stopped: every section a TODO, recorded as failed."""
        result = ChainResult(spec.name, {}, Usage())
        for section in spec.sections.values():
            why = f"the --deadline of {deadline:g} s passed before the model answered"
            result.contents[section_id(section)] = todo_content(section, why)
            result.fallbacks.append(section.heading)
            result.failed.append(section_id(section))
        return result

    def dry_run(self, native_schema: bool = True) -> list[dict[str, Any]]:
        """What each chain would send, without calling a model (``--dry-run``).

        ``native_schema``: the model server gets the strict JSON schema in the request (drafter's
        OpenAI-compatible path), so the answer-shape message is not sent and the schema counts
        towards the prompt. A dependent chain's real prompt also contains the earlier chains'
        drafts, which do not exist yet; a marker stands in for them and their size is not counted.
        """
        plans = []
        for spec in self.specs:
            previous = "\n".join(f"[the {d} chain's draft goes here]" for d in spec.depends_on)
            messages: Sequence[BaseMessage] = self.messages(spec, previous)
            schema = chain_schema(spec)
            if native_schema:
                messages = messages_for(messages, "json_schema")
                output_schema = strict_schema(schema)
                sent_schema = len(json.dumps(output_schema, separators=(",", ":")))
            else:
                output_schema, sent_schema = schema.model_json_schema(), 0
            plans.append(
                {
                    "chain": spec.name,
                    "depends_on": list(spec.depends_on),
                    "sections": [s.heading for s in spec.sections.values()],
                    "messages": [{"role": m.type, "content": m.content} for m in messages],
                    "output_schema": output_schema,
                    "estimated_prompt_tokens": (sum(len(str(m.content)) for m in messages) + sent_schema)
                    // 4,
                }
            )
        return plans

    def chain_of(self, section_heading: str) -> ChainSpec | None:
        for spec in self.specs:
            if any(s.heading == section_heading for s in spec.sections.values()):
                return spec
        return None


def _why(error: str | None) -> str:
    """What went wrong with an answer, in words fit for the draft: never the parser's message or
    the answer itself, which may quote anything (``input_value=...``, a server's echo)."""
    text = (error or "").lower()
    if "cut off" in text:
        return "was cut off at the length limit"
    if "refused" in text:
        return "was a refusal"
    return "did not fit this section"


def _has_prompt(prompts: Prompts, name: str) -> bool:
    try:
        prompts.path(name)
    except DrafterError:
        return False
    return True


Runner = Callable[[ChainSpec], Awaitable[ChainResult]]
