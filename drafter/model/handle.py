"""The model port: one place where drafter asks a chat model for a JSON answer.

Every structured question drafter asks (the chains, review, the eval judge) goes through
:meth:`ModelHandle.ask`: it holds a call slot (:class:`CallSlots`, so a batch bounds the calls in
flight and gives a free slot to the draft with the most calls ahead), makes one call, counts it
(:mod:`drafter.model.meter`) and traces it. :meth:`ModelHandle.ask_retrying` gives an answer
that does not fit its schema exactly one second chance.

The base class drives any langchain ``BaseChatModel`` (tests pass fake chat models);
:mod:`drafter.model.openai` subclasses it to call OpenAI-compatible servers with native
structured output. Kept apart from the chains so that the openai adapter and the chains both
depend on this module, and not on each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel, ValidationError

from drafter.errors import DrafterError, ProviderError
from drafter.model.meter import count

if TYPE_CHECKING:
    # Type-only: importing langchain's chat-model and runnable stack costs ~0.5 s (it pulls in
    # langsmith), which only a handle around a langchain chat model needs, when it first asks.
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import Runnable


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
    """One structured answer: the parsed object, or the error that prevented parsing.

    ``truncated``: the server stopped the answer at its length limit (``finish_reason``
    ``length``); :meth:`ModelHandle.ask_retrying` then asks for a shorter answer rather than for
    one that fits the schema, since the schema was not the problem.
    """

    parsed: BaseModel | None
    raw: str
    error: str | None
    usage: Usage
    truncated: bool = False


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
# The chain of the call in progress on this task, for progress reports (set by ModelHandle.ask).
_CHAIN: ContextVar[str] = ContextVar("drafter_model_chain", default="")
BREVITY = (
    "Your answer was cut off at the length limit; answer again, shorter: keep every required "
    "field, but write fewer and shorter items and sentences. Answer with only one JSON object "
    "that matches the schema."
)


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
    tests). :mod:`drafter.model.openai` overrides :meth:`complete` to call an OpenAI-compatible server
    directly with native structured output, and :meth:`translate` to turn SDK errors into
    one-line messages. Timing, tracing and the schema retry stay here, shared by both.
    """

    def __init__(self, chat: BaseChatModel | None, name: str) -> None:
        self.chat = chat
        self.name = name
        # Called once per model call with a dict (chain, messages, response, usage, latency_s,
        # retry, error); ``--trace`` and ``--verbose`` set it. See drafter.model.trace.
        self.tracer: Callable[[dict[str, Any]], None] | None = None
        # Called as a streamed answer arrives with (chain, tokens so far, seconds since the call
        # started), at most every 0.5 s or 20 tokens (drafter.model.stream.Throttle); the CLI's
        # status line and ``-v`` tokens/s set it. Handles that do not stream never call it.
        self.on_progress: Callable[[str, int, float], None] | None = None
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

    def progress(self, tokens: int, seconds: float) -> None:
        """Report a streamed call's progress to :attr:`on_progress`, naming the chain asking."""
        hook = self.on_progress
        if hook is not None:
            hook(_CHAIN.get(), tokens, seconds)

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

    async def complete(
        self, messages: Sequence[BaseMessage], schema: type[BaseModel], max_tokens: int | None = None
    ) -> Reply:
        """One model call; an answer that does not fit ``schema`` is a :class:`Reply` with an error.

        ``max_tokens`` bounds the answer (a chain's sections' word budgets, see
        :func:`drafter.drafting.chains.output_budget`); a configured ``DRAFTER_MAX_TOKENS`` wins.
        langchain chat models get no bound here (the tests' fakes ignore it). Raises for a failed
        call (transport, HTTP status), which :meth:`ask` translates.
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
        max_tokens: int | None = None,
    ) -> Reply:
        """One model call for one JSON answer; every model call of drafter goes through here.

        ``ahead``: the calls left on the draft's longest path, this one included (see
        :class:`CallSlots`); it only orders calls waiting for a slot under :meth:`limit`.
        """
        async with self._slot(ahead):
            started = time.perf_counter()
            named = _CHAIN.set(chain)
            try:
                reply = await self.complete(messages, schema, max_tokens)
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
            finally:
                _CHAIN.reset(named)
        _count(reply.usage)
        if self._gate is not None:
            # The slot just freed belongs to a waiting call: let it go out before this task
            # carries on with its own CPU work (tracing, the next chain's prompt, rendering).
            await asyncio.sleep(0)
        self._trace(chain, self.sent_messages(messages), reply.raw, reply.usage, started, retry, reply.error)
        return reply

    async def ask_retrying(
        self,
        messages: Sequence[BaseMessage],
        schema: type[BaseModel],
        *,
        chain: str = "",
        ahead: int = 1,
        max_tokens: int | None = None,
    ) -> tuple[Reply, Usage]:
        """:meth:`ask`, and once more with the error if the answer does not fit ``schema``.

        Returns the last reply and the usage of both calls. Every structured question drafter
        asks (chains, review, judge) gets exactly one second chance this way.

        An answer cut off at the length limit (:attr:`Reply.truncated`) gets the brevity request
        instead (:data:`BREVITY`), sent after the original messages alone: the cut-off text is
        left out because quoting it would cost a local model's small context window most of what
        the shorter answer needs, and the unchanged prefix lets the server's prompt cache serve
        the whole prompt again. A second cut-off answer is returned like any unusable reply.
        """
        usage = Usage()
        reply = await self.ask(messages, schema, chain=chain, ahead=ahead, max_tokens=max_tokens)
        usage.add(reply.usage)
        if reply.truncated:
            shorter = [*messages, HumanMessage(BREVITY)]
            reply = await self.ask(
                shorter, schema, chain=chain, retry=True, ahead=ahead, max_tokens=max_tokens
            )
            usage.add(reply.usage)
        elif reply.error is not None:
            retry = [
                *messages,
                AIMessage(reply.raw or "(empty)"),
                HumanMessage(
                    f"That answer does not match the JSON schema: {reply.error}. "
                    "Answer again with only one JSON object that matches the schema."
                ),
            ]
            reply = await self.ask(retry, schema, chain=chain, retry=True, ahead=ahead, max_tokens=max_tokens)
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
