"""Streamed chat completions, without the SDK: accumulating chunks, progress, retry policy.

:mod:`drafter.model.openai` asks OpenAI-compatible servers to stream every structured answer
(``"stream": true``). Local servers (llama.cpp, llama-cpp-python, Ollama, vLLM on one GPU)
generate 27-45 tokens/s, so a long answer takes minutes; streamed, the limit that matters is
"nothing arrived for N seconds" rather than a total time, the CLI can show progress, and closing
the connection is how a caller tells llama.cpp to stop generating an answer nobody will read.

This module holds the parts that need no ``openai`` import (only :mod:`drafter.model.openai`
may import it): folding chunks into one chat completion (:class:`Accumulator`), throttled
progress reports (:class:`Throttle`), which requests a server refuses to stream
(:func:`names_stream`), and the retries (:func:`retrying`). Clock and sleep are injectable
(:class:`StreamHooks`) so tests decide when time passes.

How the adapter streams, and why:

* **Idle timeout.** The client's timeout is httpx2's *read* timeout, which bounds every socket
  read (httpcore2's ``_receive_event``), not the whole response: on a stream, ``choice.timeout``
  means "no byte for that long". The connect timeout stays short (10 s).
* **Closing stops the server.** Whatever ends a streamed call early (the idle timeout, a
  cancellation from a deadline or Ctrl-C, an error) closes the response, and a response closed
  before its end closes its connection: llama.cpp and llama-cpp-python stop generating when
  they see it.
* **Retries are ours, not the SDK's** (its client has ``max_retries=0``). The SDK retries a timed
  out request at once, while a local server with one slot is still busy with the abandoned
  answer: the retry queues behind it and times out too. :func:`retrying` always waits a backoff
  first, after the abandoned connection was closed, and does not retry a timed-out call at all
  when ``choice.retry_timeouts`` is off (a local server, retries not set by the user).
* **Servers that will not stream** (an error naming ``stream``, or a plain JSON answer) are
  asked without ``stream`` from then on.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from drafter.model.choice import ModelChoice

# A progress report at most every PROGRESS_SECONDS or every PROGRESS_TOKENS tokens, whichever
# comes first: a status line redrawn per token would cost more CPU than the stream itself.
PROGRESS_SECONDS = 0.5
PROGRESS_TOKENS = 20
# The longest wait between two attempts of a call; Retry-After beyond it is capped.
MAX_BACKOFF_SECONDS = 30.0


_T = TypeVar("_T")


@dataclass(frozen=True)
class StreamHooks:
    """What the streamed path reads from the outside world: a clock and a sleep.

    Production uses the real ones; tests pass a fixed clock (progress is then throttled by token
    counts alone) and a sleep that records the retry delay and decides when it ends, so nothing
    a test asserts depends on how fast the machine is.
    """

    clock: Callable[[], float] = time.perf_counter
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)


class Throttle:
    """Calls ``report(tokens, seconds)`` as tokens arrive, at most every 0.5 s or 20 tokens.

    ``seconds`` counts from the throttle's creation (the call's start). :meth:`done` reports the
    final count once more, so a status line always ends on the true total.
    """

    def __init__(self, report: Callable[[int, float], None] | None, clock: Callable[[], float]) -> None:
        self._report = report
        self._clock = clock
        self._start = clock()
        self._last_time = self._start
        self._last_tokens = 0

    def tick(self, tokens: int) -> None:
        if self._report is None:
            return
        now = self._clock()
        if tokens - self._last_tokens >= PROGRESS_TOKENS or now - self._last_time >= PROGRESS_SECONDS:
            self._last_tokens, self._last_time = tokens, now
            self._report(tokens, now - self._start)

    def done(self, tokens: int) -> None:
        if self._report is not None and tokens != self._last_tokens:
            self._last_tokens = tokens
            self._report(tokens, self._clock() - self._start)


class Accumulator:
    """Folds the chunks of one streamed chat completion into the completion it stands for.

    Content deltas are concatenated; tool-call argument deltas are concatenated per call
    ``index`` (the function name arrives once, the arguments in pieces); the last non-empty
    ``finish_reason`` wins; ``usage`` comes in the final chunk when ``stream_options.include_usage``
    was accepted. Local servers often send no usage at all: then the completion tokens are
    *estimated* as the number of content-bearing chunks, since llama.cpp, Ollama and vLLM send one
    token per chunk (an estimate, marked ``estimated`` in the usage, good enough for budgets and
    tokens/s; the prompt tokens stay unknown, 0).
    """

    def __init__(self, progress: Throttle | None = None) -> None:
        self.content: list[str] = []
        self.refusal: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.chunks = 0  # chunks that carried content or arguments: one token each, roughly
        self._progress = progress

    @property
    def tokens(self) -> int:
        """Completion tokens so far: the server's count once it sent one, else the chunk count."""
        if self.usage and self.usage.get("completion_tokens"):
            return int(self.usage["completion_tokens"])
        return self.chunks

    def add(self, chunk: object) -> None:
        """One ``chat.completion.chunk`` (a parsed SSE ``data:`` object); anything else is ignored."""
        if not isinstance(chunk, Mapping):
            return
        usage = chunk.get("usage")
        if isinstance(usage, Mapping):
            self.usage = dict(usage)
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
            return
        choice = choices[0]
        if choice.get("finish_reason"):
            self.finish_reason = str(choice["finish_reason"])
        delta = choice.get("delta")
        if not isinstance(delta, Mapping):
            return
        grew = False
        if isinstance(delta.get("content"), str) and delta["content"]:
            self.content.append(delta["content"])
            grew = True
        if isinstance(delta.get("refusal"), str) and delta["refusal"]:
            self.refusal.append(delta["refusal"])
        for call in delta.get("tool_calls") or []:
            if isinstance(call, Mapping):
                grew = self._add_call(call) or grew
        if grew:
            self.chunks += 1
            if self._progress is not None:
                self._progress.tick(self.tokens)

    def _add_call(self, call: Mapping[str, Any]) -> bool:
        index = call.get("index", 0)
        slot = self.calls.setdefault(index if isinstance(index, int) else 0, {"name": "", "arguments": []})
        function = call.get("function")
        if not isinstance(function, Mapping):
            return False
        if isinstance(function.get("name"), str):
            slot["name"] = function["name"]
        piece = function.get("arguments")
        if isinstance(piece, str) and piece:
            slot["arguments"].append(piece)
            return True
        return False

    def completion(self) -> dict[str, Any]:
        """The equivalent non-streamed chat completion, for :func:`drafter.model.openai.answer_of`."""
        if self._progress is not None:
            self._progress.done(self.tokens)
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.content) or None}
        if self.refusal:
            message["refusal"] = "".join(self.refusal)
        if self.calls:
            message["tool_calls"] = [
                {
                    "type": "function",
                    "function": {"name": slot["name"], "arguments": "".join(slot["arguments"])},
                }
                for _, slot in sorted(self.calls.items())
            ]
        usage = self.usage
        if not usage or not usage.get("completion_tokens"):
            # No usage from the server: estimated from the chunks (see the class docstring).
            usage = {**(usage or {}), "completion_tokens": self.chunks, "estimated": True}
        return {
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason}],
            "usage": usage,
        }


def names_stream(text: str) -> str | None:
    """Which streaming field an error message rejects: ``stream_options``, ``stream`` or ``None``.

    Servers without streaming (or without ``stream_options``, as older vLLM and some gateways)
    answer 400/422, or llama-cpp-python a 500 validation error, naming the field. ``stream_options``
    alone is dropped and streaming kept; a rejected ``stream`` means the non-streamed path.
    """
    lowered = text.lower()
    if re.search(r"\b(stream_options|include_usage)\b", lowered):
        return "stream_options"
    # A word of its own: "upstream model overloaded" is a failing server, not a refusal.
    return "stream" if re.search(r"\bstream\b", lowered) else None


def backoff(attempt: int, retry_after: str | None = None) -> float:
    """Seconds to wait before retry number ``attempt + 1``: the server's ``Retry-After`` when it
    sends seconds, else 0.5 s doubling per attempt; at most :data:`MAX_BACKOFF_SECONDS`.

    Never zero: the streamed path waits even for a retry the server did not pace, because a local
    server is still unwinding the request just abandoned (see :mod:`drafter.model.openai`).
    """
    if retry_after is not None:
        try:
            return min(max(float(retry_after), 0.1), MAX_BACKOFF_SECONDS)
        except ValueError:
            pass
    return float(min(0.5 * 2**attempt, MAX_BACKOFF_SECONDS))


async def retrying(
    call: Callable[[], Awaitable[_T]],
    retried: Callable[[Exception], tuple[bool, str | None] | None],
    choice: ModelChoice,
    hooks: StreamHooks,
) -> _T:
    """``call()``, again up to ``choice.max_retries`` times for errors ``retried`` accepts, after a
    backoff.

    ``retried(exc)`` is ``(is a timeout, Retry-After header)`` for an error worth another attempt,
    ``None`` for one that is not. A timeout is retried only when ``choice.retry_timeouts``: a local
    server that sent nothing for minutes is stuck or busy, and asking again only queues.
    """
    retries, retry_timeouts = choice.max_retries, choice.retry_timeouts
    attempt = 0
    while True:
        try:
            return await call()
        except Exception as exc:
            again = retried(exc)
            if again is None or attempt >= retries or (again[0] and not retry_timeouts):
                raise
            await hooks.sleep(backoff(attempt, again[1]))
            attempt += 1


class BadResponse(Exception):
    """A response that is not a chat completion at all (not JSON, an error object, no choices)."""


def chat_completion(answer: object) -> dict[str, Any]:
    """``answer`` if it is a chat completion; a gateway's error page or error object raises."""
    if isinstance(answer, str):  # the SDK hands back the text of a response that is not JSON
        raise BadResponse("answered with something that is not JSON")
    if not isinstance(answer, dict):
        raise BadResponse("answered with JSON that is not a chat completion")
    error = answer.get("error")
    if error:
        detail = error.get("message") if isinstance(error, dict) else error
        raise BadResponse(f"answered with an error: {' '.join(str(detail).split())[:200]}")
    choices = answer.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise BadResponse("answered with a chat completion that has no choices")
    return answer


def plain_completion(data: bytes) -> dict[str, Any]:
    """The chat completion in a whole response body (a server that ignored ``stream``)."""
    import json

    try:
        answer: object = json.loads(data)
    except ValueError:
        answer = data.decode("utf-8", "replace")
    return chat_completion(answer)
