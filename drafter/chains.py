"""Per-section prompt chains: problem -> solution -> risks, built with langchain-core runnables.

The template's top-level sections are grouped into chains (:meth:`Outline.chains`). Each chain
renders its prompt file with the sections' guidance and the issue as variables, asks the model for
one JSON object whose schema is derived from those sections (typed lists, table rows, fenced
blocks), retries once with the error when the answer does not fit the schema, and otherwise falls
back to TODO markers for the human. ``solution`` sees ``problem``'s draft, ``risks`` sees both;
a chain that depends on nothing else runs concurrently with the others.

The model is injected as a :class:`ModelHandle` around any langchain ``BaseChatModel``: tests
pass fake chat models; :mod:`drafter.providers` calls OpenAI-compatible servers with native
structured output.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ValidationError

from drafter.answers import answer_shape, chain_model, ident, section_kind, to_content
from drafter.context import IssueContext
from drafter.draft import SectionContent, drafted_sections, section_id, todo_content
from drafter.errors import DrafterError, ProviderError
from drafter.evidence import as_data, inputs_block
from drafter.grounding import input_text
from drafter.meter import count
from drafter.outline import Outline, Section, placeholders_in
from drafter.prompts import Prompts
from drafter.providers import ANSWER_SHAPE, messages_for, strict_schema

if TYPE_CHECKING:
    # Type-only: importing langchain's chat-model and runnable stack costs ~0.5 s (it pulls in
    # langsmith), which only a handle around a langchain chat model needs, when it first asks.
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import Runnable

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


# -- running -------------------------------------------------------------------------------------
@dataclass
class Usage:
    """Token usage and call count of one or more model calls."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.calls += other.calls

    def to_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "calls": self.calls,
        }


@dataclass
class Reply:
    """One structured answer: the parsed object, or the error that prevented parsing."""

    parsed: BaseModel | None
    raw: str
    error: str | None
    usage: Usage


def _extract_json(text: str) -> str:
    start, end = text.find("{"), text.rfind("}")
    return text[start : end + 1] if start != -1 and end > start else text


def _parse(text: str, schema: type[BaseModel]) -> tuple[BaseModel | None, Exception | None]:
    try:
        return schema.model_validate_json(_extract_json(text)), None
    except (ValidationError, ValueError) as exc:
        return None, exc


def _parser(schema: type[BaseModel]) -> Callable[[BaseMessage], dict[str, Any]]:
    def parse(message: BaseMessage) -> dict[str, Any]:
        text = message.text if isinstance(message.text, str) else str(message.content)
        parsed, error = _parse(text, schema)
        return {"raw": message, "parsed": parsed, "parsing_error": error}

    return parse


_V = TypeVar("_V")


class LoopLocal(Generic[_V]):
    """One value per event loop, made on first use: a connection pool or a semaphore belongs to
    the loop it was made on, and a handle may serve several loops (one ``asyncio.run`` each)."""

    def __init__(self, make: Callable[[], _V]) -> None:
        self._make = make
        self._current: tuple[asyncio.AbstractEventLoop, _V] | None = None

    def get(self) -> _V:
        loop = asyncio.get_running_loop()
        current = self._current  # read once: another thread's loop may replace it
        if current is not None and current[0] is loop:
            return current[1]
        value = self._make()
        self._current = (loop, value)
        return value

    def take(self) -> _V | None:
        """The running loop's value, forgotten (for closing it); ``None`` if it has none."""
        current, self._current = self._current, None
        return current[1] if current is not None and current[0] is asyncio.get_running_loop() else None


class CallSlots:
    """At most ``size`` model calls at once; a freed slot goes to the waiting call with the most
    calls still ahead of its draft (``ahead``), first come first served among equals.

    A batch is many chains of dependent calls sharing a few slots. Served in arrival order, the
    last issues to start end the run with their three calls in a row while most slots idle: about
    one call latency lost over 200 issues at 16 slots. Serving the longest remaining path first
    (list scheduling by level, optimal for chains of equal steps) keeps every slot busy to the end.
    """

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @contextlib.asynccontextmanager
    async def hold(self, ahead: int = 1) -> AsyncIterator[None]:
        await self._acquire(ahead)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, ahead: int) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (-ahead, next(self._order), granted))
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():  # handed the slot, then cancelled
                self._release()
            raise

    def _release(self) -> None:
        # The slot passes straight to the chosen waiter, so no newcomer can take it in between.
        while self._waiting:
            granted = heapq.heappop(self._waiting)[2]
            if not granted.done():  # a cancelled waiter's future is done already
                granted.set_result(None)
                return
        self._free += 1


class ModelHandle:
    """A model plus how to get one structured answer from it.

    The base class drives any langchain ``BaseChatModel``: it asks for JSON in the prompt and
    parses the reply, which works with every chat model (and with langchain's fake chat models in
    tests). :mod:`drafter.providers` overrides :meth:`complete` to call an OpenAI-compatible server
    directly with native structured output, and :meth:`translate` to turn SDK errors into
    one-line messages. Timing, tracing and the schema retry stay here, shared by both.
    """

    def __init__(self, chat: BaseChatModel | None, name: str) -> None:
        self.chat = chat
        self.name = name
        # Called once per model call with a dict (chain, messages, response, usage, latency_s,
        # retry, error); ``--trace`` and ``--verbose`` set it. See drafter.trace.
        self.tracer: Callable[[dict[str, Any]], None] | None = None
        self._runnables: dict[type[BaseModel], Runnable[Any, dict[str, Any]]] = {}
        self.max_in_flight: int | None = None
        self._gate: LoopLocal[CallSlots] | None = None

    def limit(self, calls: int | None) -> None:
        """Allow at most ``calls`` model calls in flight at once (``None``: no limit).

        ``drafter batch --concurrency N`` limits model calls rather than whole issues: a draft is
        three dependent calls, so while one issue waits on its own previous answer another can use
        the free slot, and the server sees a steady N requests (see :class:`CallSlots`).
        """
        self.max_in_flight = calls
        self._gate = None if calls is None else LoopLocal(lambda: CallSlots(calls))

    def _slot(self, ahead: int) -> contextlib.AbstractAsyncContextManager[None]:
        gate = self._gate
        return contextlib.nullcontext() if gate is None else gate.get().hold(ahead)

    def _structured(self, schema: type[BaseModel]) -> Runnable[Any, dict[str, Any]]:
        """The chat model piped into a JSON parser for ``schema``, built once per schema."""
        runnable = self._runnables.get(schema)
        if runnable is None:
            if self.chat is None:
                raise ProviderError(f"model '{self.name}' has no chat model to ask")
            from langchain_core.runnables import RunnableLambda

            runnable = self._runnables[schema] = self.chat | RunnableLambda(_parser(schema))
        return runnable

    async def aclose(self) -> None:
        """Close what this handle opened on the running event loop (its HTTP connections).

        :func:`run_sync` calls it before the loop ends; a caller running drafter's coroutines
        on its own loop calls it when done with that loop.
        """

    def sent_messages(self, messages: Sequence[BaseMessage]) -> Sequence[BaseMessage]:
        """The messages as the model receives them (what ``--trace`` records).

        A chat model asked for JSON in the prompt needs the answer-shape message; a handle that
        sends the JSON schema natively drops it, since the schema says the same.
        """
        return messages

    def translate(self, exc: Exception) -> DrafterError:
        return ProviderError(
            f"model '{self.name}' failed: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
        )

    async def complete(self, messages: Sequence[BaseMessage], schema: type[BaseModel]) -> Reply:
        """One model call; an answer that does not fit ``schema`` is a :class:`Reply` with an error.

        Raises for a failed call (transport, HTTP status), which :meth:`ask` translates.
        """
        out = await self._structured(schema).ainvoke(list(messages))
        raw = out.get("raw")
        usage = Usage(calls=1)
        text = ""
        if isinstance(raw, AIMessage):
            text = raw.text if isinstance(raw.text, str) else str(raw.content)
            if not text and raw.tool_calls:
                text = json.dumps(raw.tool_calls[0].get("args", {}))
            meta: dict[str, Any] = dict(raw.usage_metadata or {})
            usage.prompt_tokens = int(meta.get("input_tokens", 0))
            usage.completion_tokens = int(meta.get("output_tokens", 0))
        error = out.get("parsing_error")
        parsed = out.get("parsed")
        if error is None and not isinstance(parsed, schema):
            error = "the answer was empty or not a JSON object"
        return Reply(
            parsed if error is None else None, text, None if error is None else _one_line(error), usage
        )

    async def ask(
        self,
        messages: Sequence[BaseMessage],
        schema: type[BaseModel],
        *,
        chain: str = "",
        retry: bool = False,
        ahead: int = 1,
    ) -> Reply:
        """One model call for one JSON answer; every model call of drafter goes through here.

        ``ahead``: the calls left on the draft's longest path, this one included (see
        :class:`CallSlots`); it only orders calls waiting for a slot under :meth:`limit`.
        """
        async with self._slot(ahead):
            started = time.perf_counter()
            try:
                reply = await self.complete(messages, schema)
            except asyncio.CancelledError:
                _count(Usage(calls=1))  # sent, then abandoned (a signal, a deadline): it counts
                raise
            except Exception as exc:
                _count(Usage(calls=1))
                failure = exc if isinstance(exc, DrafterError) else self.translate(exc)
                self._trace(chain, self.sent_messages(messages), "", Usage(), started, retry, str(failure))
                if failure is exc:
                    raise
                raise failure from exc
        _count(reply.usage)
        if self._gate is not None:
            # The slot just freed belongs to a waiting call: let it go out before this task
            # carries on with its own CPU work (tracing, the next chain's prompt, rendering).
            await asyncio.sleep(0)
        self._trace(chain, self.sent_messages(messages), reply.raw, reply.usage, started, retry, reply.error)
        return reply

    async def ask_retrying(
        self, messages: Sequence[BaseMessage], schema: type[BaseModel], *, chain: str = "", ahead: int = 1
    ) -> tuple[Reply, Usage]:
        """:meth:`ask`, and once more with the error if the answer does not fit ``schema``.

        Returns the last reply and the usage of both calls. Every structured question drafter
        asks (chains, review, judge) gets exactly one second chance this way.
        """
        usage = Usage()
        reply = await self.ask(messages, schema, chain=chain, ahead=ahead)
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
            reply = await self.ask(retry, schema, chain=chain, retry=True, ahead=ahead)
            usage.add(reply.usage)
        return reply, usage

    def _trace(
        self,
        chain: str,
        messages: Sequence[BaseMessage],
        response: str,
        usage: Usage,
        started: float,
        retry: bool,
        error: str | None,
    ) -> None:
        if self.tracer is None:
            return
        self.tracer(
            {
                "model": self.name,
                "chain": chain,
                "retry": retry,
                "latency_s": round(time.perf_counter() - started, 3),
                "messages": [{"role": m.type, "content": m.content} for m in messages],
                "response": response,
                "usage": usage.to_dict(),
                "error": error,
            }
        )


def _count(usage: Usage) -> None:
    count(usage.prompt_tokens, usage.completion_tokens, usage.calls)


def _one_line(error: object) -> str:
    return " ".join(str(error).split())[:600]


def reply_from_text(text: str, schema: type[BaseModel], usage: Usage) -> Reply:
    """A :class:`Reply` from an answer's text: the model's JSON, or the error that stopped it."""
    parsed, error = _parse(text, schema)
    return Reply(parsed, text, None if error is None else _one_line(error), usage)


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


class Drafter:
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
            messages, schema, chain=spec.name, ahead=spec.ahead if ahead is None else ahead
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
    ) -> list[ChainResult]:
        """Run every chain, each as soon as the chains it depends on are done."""
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
                if on_chain:
                    on_chain(spec.name, "done")
                done[spec.name].set_result(result)
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


def all_sections_drafted(outline: Outline) -> list[str]:
    return [section_id(s) for s in drafted_sections(outline)]


Runner = Callable[[ChainSpec], Awaitable[ChainResult]]
