"""The streamed path of the OpenAI-compatible handle, against ``stream_server`` on 127.0.0.1.

Every fault is the fake's script: an idle timeout is the server's ``stall`` plan made a
``httpx2.ReadTimeout`` in the client's transport (``injected_idle_timeouts``), a cancellation
happens when the server says it is holding, and the retry's backoff is a sleep the test decides.
No test waits for a clock; the ``HANG_GUARD`` waits are only there to fail rather than hang.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from drafter.drafting.chains import chain_schema, plan
from drafter.errors import ProviderError
from drafter.model.choice import LOCAL_TIMEOUT, ModelChoice, resolve_model
from drafter.model.handle import BREVITY, ModelHandle
from drafter.model.openai import build_handle
from drafter.model.stream import Accumulator, StreamHooks, Throttle, backoff, names_stream
from drafter.template.outline import load_outline
from tests.support.stream_server import HANG_GUARD, StreamServer, injected_idle_timeouts

pytestmark = pytest.mark.block_network(allowed_hosts=[r"^127\.0\.0\.1$"])
SCHEMA = chain_schema(plan(load_outline("adr"))[0])
MESSAGES = [SystemMessage("be brief"), HumanMessage("draft it")]


@pytest.fixture(autouse=True)
def _injected(monkeypatch: pytest.MonkeyPatch) -> None:
    injected_idle_timeouts(monkeypatch)


class Sleeps:
    """The retry backoff: records each delay and lets the server notice the abandoned call first."""

    def __init__(self, server: StreamServer) -> None:
        self.server = server
        self.delays: list[float] = []
        self.events_then: list[list[tuple[str, int]]] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.to_thread(self.server.disconnected.wait, HANG_GUARD)
        self.events_then.append(list(self.server.events))


def _choice(server: StreamServer, **changes: Any) -> ModelChoice:
    choice = resolve_model("openai:local", {}, base_url=server.url)
    return dataclasses.replace(choice, **changes)


def _handle(choice: ModelChoice, sleeps: Sleeps | None = None) -> ModelHandle:
    hooks = StreamHooks(clock=lambda: 0.0, sleep=sleeps or _no_sleep)
    return build_handle(choice, hooks)


async def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"no retry expected, slept {seconds}")


def _ask(handle: ModelHandle, **kwargs: Any) -> Any:
    async def run() -> Any:
        try:
            return await handle.ask_retrying(MESSAGES, SCHEMA, chain="problem", **kwargs)
        finally:
            await handle.aclose()

    return asyncio.run(run())


# -- choosing a local server ------------------------------------------------------------------------
def test_a_loopback_server_gets_local_defaults_unless_the_user_set_them() -> None:
    for url in ("http://localhost:11434/v1", "http://127.0.0.2:8080/v1", "http://[::1]:8000/v1"):
        local = resolve_model("openai:qwen", {}, base_url=url)
        assert local.local and local.timeout == LOCAL_TIMEOUT and not local.retry_timeouts, url
    chosen = resolve_model("openai:qwen", {"DRAFTER_TIMEOUT": "60", "DRAFTER_MAX_RETRIES": "2"}, base_url=url)
    assert chosen.local and chosen.timeout == 60 and chosen.max_retries == 2 and chosen.retry_timeouts
    remote = resolve_model("openai:gpt-4o-mini", {"OPENAI_API_KEY": "sk-x"})
    assert not remote.local and remote.timeout == 120 and remote.retry_timeouts
    gateway = resolve_model("openai:m", {"OPENAI_API_KEY": "sk-x"}, base_url="https://llm.example/v1")
    assert not gateway.local


# -- pure parts -------------------------------------------------------------------------------------
def test_accumulator_joins_content_tool_arguments_finish_and_usage() -> None:
    chunks = Accumulator()
    for piece in ('{"a"', ": 1", "}"):
        chunks.add({"choices": [{"delta": {"content": piece}, "finish_reason": None}]})
    chunks.add({"choices": [{"delta": {}, "finish_reason": "stop"}]})
    chunks.add({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 3}})
    done = chunks.completion()
    assert done["choices"][0]["message"]["content"] == '{"a": 1}'
    assert done["choices"][0]["finish_reason"] == "stop" and done["usage"]["completion_tokens"] == 3

    calls = Accumulator()
    calls.add(
        {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"name": "F", "arguments": "{"}}]}}]}
    )
    calls.add({"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "}"}}]}}]})
    message = calls.completion()["choices"][0]["message"]
    assert message["tool_calls"][0]["function"] == {"name": "F", "arguments": "{}"}
    # No usage from the server: the completion tokens are estimated from the chunks, and say so.
    assert calls.completion()["usage"] == {"completion_tokens": 2, "estimated": True}


def test_progress_is_throttled_by_tokens_with_a_frozen_clock() -> None:
    seen: list[tuple[int, float]] = []
    throttle = Throttle(lambda tokens, seconds: seen.append((tokens, seconds)), lambda: 5.0)
    for tokens in range(1, 51):
        throttle.tick(tokens)
    throttle.done(50)
    assert seen == [(20, 0.0), (40, 0.0), (50, 0.0)]
    ticking = iter([0.0, 0.1, 0.6, 0.7])  # and by time, with a clock the test moves
    timed: list[int] = []
    clocked = Throttle(lambda tokens, seconds: timed.append(tokens), lambda: next(ticking))
    clocked.tick(1)
    clocked.tick(2)
    clocked.tick(3)
    assert timed == [2]


def test_what_a_refusal_names_and_the_backoff() -> None:
    assert names_stream("unrecognized request argument: stream_options") == "stream_options"
    assert names_stream("'stream' is not supported") == "stream"
    assert names_stream("upstream model overloaded") is None
    assert backoff(0) == 0.5 and backoff(3) == 4.0 and backoff(10) == 30.0
    assert backoff(0, "2") == 2.0 and backoff(0, "a date") == 0.5 and backoff(0, "0") > 0


# -- the live streamed path -------------------------------------------------------------------------
def test_an_answer_is_streamed_with_usage_and_progress_as_it_arrives() -> None:
    with StreamServer(["gated"], gate_after=25, chunk_chars=1) as server:
        handle = _handle(_choice(server))
        reports: list[tuple[str, int, float]] = []

        def progress(chain: str, tokens: int, seconds: float) -> None:
            reports.append((chain, tokens, seconds))
            server.gate.set()  # the rest is sent only once the first report arrived

        handle.on_progress = progress
        reply, usage = _ask(handle)
    assert reply.error is None and reply.parsed is not None and not reply.truncated
    body = server.bodies[0]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert reports[0] == ("problem", 20, 0.0)  # before the gate opened: streamed, not buffered
    tokens = [t for _, t, _ in reports]
    assert tokens == sorted(tokens) and tokens[-1] == usage.completion_tokens == len(reply.raw)
    assert usage.prompt_tokens == 50 and usage.calls == 1


def test_a_forced_tool_call_is_streamed_too() -> None:
    with StreamServer() as server:
        handle = _handle(_choice(server))
        handle.method_index = 2  # type: ignore[attr-defined]  # a server with function calling only
        reply, _ = _ask(handle)
    assert reply.error is None and "tools" in server.bodies[0] and server.bodies[0]["stream"] is True


def test_usage_missing_is_estimated_from_the_chunks() -> None:
    with StreamServer(["nousage"], chunk_chars=5) as server:
        reply, usage = _ask(_handle(_choice(server)))
    assert reply.error is None
    assert usage.completion_tokens == -(-len(reply.raw) // 5) and usage.prompt_tokens == 0


def test_an_idle_stream_is_one_line_error_the_connection_closed_and_no_retry_locally() -> None:
    with StreamServer(["stall"]) as server:
        choice = _choice(server)
        with pytest.raises(ProviderError) as info:
            _ask(_handle(choice))
        assert server.disconnected.wait(HANG_GUARD)
    message = str(info.value)
    assert f"sent nothing for {LOCAL_TIMEOUT:g} s" in message and "\n" not in message
    assert server.calls == 1 and server.disconnects == [1]  # closed, and not asked again


def test_a_retry_after_an_abandoned_stream_waits_until_the_server_let_it_go() -> None:
    with StreamServer(["stall"]) as server:
        sleeps = Sleeps(server)
        choice = _choice(server, retry_timeouts=True, local=False)
        reply, _ = _ask(_handle(choice, sleeps))
    assert reply.error is None and server.calls == 2
    assert sleeps.delays == [0.5]  # a backoff, never an immediate retry
    assert server.events == [("request", 1), ("disconnect", 1), ("request", 2)]
    assert sleeps.events_then == [[("request", 1), ("disconnect", 1)]]


def test_a_cancelled_call_closes_its_stream() -> None:
    with StreamServer(["hold"]) as server:
        handle = _handle(_choice(server))

        async def run() -> None:
            task = asyncio.create_task(handle.ask(MESSAGES, SCHEMA, chain="problem"))
            assert await asyncio.to_thread(server.held.wait, HANG_GUARD)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert await asyncio.to_thread(server.disconnected.wait, HANG_GUARD)
            await handle.aclose()

        asyncio.run(run())
    assert server.disconnects == [1] and server.calls == 1


@pytest.mark.parametrize("refusal", ["refuse", "plain"])
def test_a_server_that_will_not_stream_is_asked_plainly_from_then_on(refusal: str) -> None:
    with StreamServer([refusal]) as server:
        handle = _handle(_choice(server))
        first, _ = _ask(handle)
        second, _ = _ask(handle)
    assert first.error is None and second.error is None
    streamed = [bool(body.get("stream")) for body in server.bodies]
    assert streamed == ([True, False, False] if refusal == "refuse" else [True, False])


def test_stream_options_refused_keeps_streaming_without_them() -> None:
    with StreamServer(["refuse_options"]) as server:
        reply, _ = _ask(_handle(_choice(server)))
    assert reply.error is None and server.calls == 2
    assert "stream_options" in server.bodies[0] and "stream_options" not in server.bodies[1]
    assert server.bodies[1]["stream"] is True


def test_a_cut_off_answer_is_asked_again_for_brevity_once() -> None:
    with StreamServer(["runon"]) as server:
        reply, usage = _ask(_handle(_choice(server)), max_tokens=50)
    assert reply.error is None and usage.calls == 2
    retry = server.bodies[1]["messages"]
    assert retry[-1] == {"role": "user", "content": BREVITY}
    assert [m["content"] for m in retry[:-1]] == [m["content"] for m in server.bodies[0]["messages"]]
    assert server.bodies[0]["max_tokens"] == 50


def test_a_second_cut_off_answer_is_the_usual_unusable_reply() -> None:
    with StreamServer(["runon", "runon"]) as server:
        reply, usage = _ask(_handle(_choice(server)))
    assert reply.parsed is None and reply.truncated and reply.error and "cut off" in reply.error
    assert usage.calls == 2 and server.calls == 2
    json.dumps(reply.raw)  # the partial text is kept for the trace
