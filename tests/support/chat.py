"""Fake chat models and the answers they give, for drafting without a network or a key.

:class:`RecordingFake` replays a list of replies and keeps every prompt; :class:`SchemaChat`
answers whichever chain asks, from the answer shape in its prompt, so that drafts of many issues
can run in any order; :func:`chain_answer` and :func:`reply` build valid answers by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from drafter.drafting.answers import section_kind
from drafter.drafting.chains import ChainSpec, chain_schema, plan
from drafter.model import handle as model_port
from drafter.model.choice import resolve_model
from drafter.model.handle import ModelHandle
from drafter.pipeline import DraftOptions
from drafter.template.outline import Outline, Section, load_outline

# Seconds a gate waits before it gives up and fails the test: only a guard against hanging for
# ever, never what makes a test pass (a gate opens on a count of calls, not on a clock).
HANG_GUARD = 120.0


class RecordingFake(GenericFakeChatModel):
    """GenericFakeChatModel that also keeps the messages of every call."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.seen.append(list(messages))
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


def human_text(chat: RecordingFake, call: int) -> str:
    """Every user message of one call: the task with the inputs, then the answer's shape."""
    return "\n".join(str(m.content) for m in chat.seen[call] if m.type == "human")


def section_answer(
    key: str, section: Section, text: str | None = None, sources: list[str] | None = None
) -> dict[str, Any]:
    """A valid, non-placeholder answer for one section of a chain, in the schema's key order."""
    cited = sources if sources is not None else ["issue"]
    answer: dict[str, Any] = {
        "sources": cited,
        "evidence": "Opening widget 250 leaks",
        "text": text if text is not None else f"Drafted content for {key}.",
    }
    kind = section_kind(section)
    if kind == "risks":
        answer["items"] = [
            {
                "sources": cited,
                "risk": f"First risk about {key}",
                "likelihood": "medium",
                "impact": "high",
                "mitigation": f"Mitigation for {key}",
            }
        ]
    elif kind == "goals":
        answer["items"] = [
            {"sources": cited, "goal": f"First goal about {key}", "check": f"Check for {key}"},
            {"sources": cited, "goal": f"Second goal about {key}", "check": f"Check 2 for {key}"},
        ]
    elif kind == "rollback":
        answer["trigger"] = f"Trigger for {key}"
        answer["steps"] = [f"First step of {key}", f"Second step of {key}"]
    elif section.list_expected:
        answer["items"] = [f"First point about {key}", f"Second point about {key}"]
    if section.tables:
        columns = section.tables[0].columns
        idents = [re.sub(r"[^a-z0-9]+", "_", c.lower()).strip("_") for c in columns]
        answer["rows"] = [{ident: f"`WidgetPool` {ident}" for ident in idents}]
    if section.fences:
        answer["blocks"] = [f"[Widget] --({key} {i})--> [Pool]" for i in range(len(section.fences))]
        if any(f.info == "json" for f in section.fences):
            answer["blocks"] = [
                '{"widget": "id"}' if f.info == "json" else f"[Widget] --({i})--> [Pool]"
                for i, f in enumerate(section.fences)
            ]
    return answer


def chain_answer(spec: ChainSpec, **overrides: dict[str, Any]) -> dict[str, Any]:
    """A valid answer for every section of one chain; ``overrides`` replace fields of named sections."""
    answer = {key: section_answer(key, section) for key, section in spec.sections.items()}
    for key, value in overrides.items():
        answer[key] = {**answer[key], **value}
    chain_schema(spec).model_validate(answer)  # the helper itself must produce schema-valid answers
    return answer


def reply(content: str | dict[str, Any], tokens: tuple[int, int] = (100, 20)) -> AIMessage:
    """What a model sends back: ``content`` as text (a dict as JSON), with its token usage."""
    text = content if isinstance(content, str) else json.dumps(content)
    return AIMessage(
        content=text,
        usage_metadata={"input_tokens": tokens[0], "output_tokens": tokens[1], "total_tokens": sum(tokens)},
        response_metadata={"model_name": "fake"},
    )


def fake_handle(template: str, name: str = "openai:gpt-4o-mini") -> ModelHandle:
    """A handle whose model gives one valid answer per chain of ``template``, in plan order."""
    replies = [reply(chain_answer(spec)) for spec in plan(load_outline(template))]
    return ModelHandle(GenericFakeChatModel(messages=iter(replies)), name)


class Crowd:
    """Holds every model call until ``parked`` drafts are stuck at once, each in a held call or
    waiting for a call slot every other call holds, then lets every call through for good.

    Until it opens no call finishes, so no slot is freed and nothing the batch would allow at
    once is missed: the calls held when it opens are exactly as many as the batch runs at once
    (``SchemaChat.peak``), on any machine. A batch that never gets ``parked`` drafts going (one
    that drafts fewer issues at a time) is held until ``HANG_GUARD``, then fails.
    Install it with :func:`crowd_at`, which also makes the call slots report waiting calls.
    """

    def __init__(self, parked: int) -> None:
        self.parked = parked
        self.calling = 0  # model calls held here
        self.waiting = 0  # calls that found every call slot taken
        self.opened = False  # by the count of parked drafts (not by the hang guard)
        self._gate = asyncio.Event()

    def _check(self) -> None:
        if not self._gate.is_set() and self.calling + self.waiting >= self.parked:
            self.opened = True
            self._gate.set()

    async def call(self) -> None:
        """One model call: return once the crowd is open."""
        self.calling += 1
        self._check()
        try:
            await asyncio.wait_for(self._gate.wait(), HANG_GUARD)
        except TimeoutError:
            self._gate.set()  # fail this call and let the others go, rather than hang
            raise AssertionError(
                f"only {self.calling} calls held and {self.waiting} waiting for a slot; "
                f"expected {self.parked} drafts in progress at once"
            ) from None
        finally:
            self.calling -= 1

    @contextlib.contextmanager
    def waiting_for_slot(self) -> Iterator[None]:
        self.waiting += 1
        self._check()
        try:
            yield
        finally:
            self.waiting -= 1


def crowd_at(monkeypatch: pytest.MonkeyPatch, parked: int) -> Crowd:
    """A :class:`Crowd`, told of each call that finds every call slot of a limited handle taken."""
    crowd = Crowd(parked)

    class CountedSlots(model_port.CallSlots):
        def __init__(self, size: int) -> None:
            super().__init__(size)
            self.size = size
            self.taken = 0

        @contextlib.asynccontextmanager
        async def hold(self, ahead: int = 1) -> AsyncIterator[None]:
            # Every slot taken: this call waits for one. (A slot given back goes straight to a
            # waiting call, so ``taken`` undercounts the waiting once calls finish; by then the
            # crowd is open and no longer counts.)
            full = self.taken >= self.size
            async with contextlib.AsyncExitStack() as stack:
                with crowd.waiting_for_slot() if full else contextlib.nullcontext():
                    await stack.enter_async_context(super().hold(ahead))
                self.taken += 1
                try:
                    yield
                finally:
                    self.taken -= 1

    # ModelHandle.limit makes its slots (one CallSlots per event loop) by this name.
    monkeypatch.setattr(model_port, "CallSlots", CountedSlots)
    return crowd


class SchemaChat(BaseChatModel):
    """A chat model that answers whichever chain asks, valid for its schema."""

    specs: list[Any]
    calls: int = 0
    active: int = 0
    peak: int = 0
    # Holds each async call until enough of them overlap (see Crowd); None: answer at once.
    crowd: Crowd | None = None
    overrides: dict[str, Any] = {}

    @property
    def _llm_type(self) -> str:
        return "schema-fake"

    def _answer(self, messages: list[BaseMessage]) -> ChatResult:
        text = "\n".join(str(m.content) for m in messages)
        if "EXPLODE" in text:
            raise RuntimeError("the fake model exploded")
        matching = [s for s in self.specs if all(f'"{key}": {{"sources"' in text for key in s.sections)]
        spec: ChainSpec = max(matching, key=lambda s: len(s.sections))
        mine = {key: value for key, value in self.overrides.items() if key in spec.sections}
        return ChatResult(generations=[ChatGeneration(message=reply(chain_answer(spec, **mine)))])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.calls += 1
        return self._answer(messages)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.calls += 1
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            if self.crowd is not None:
                await self.crowd.call()
            return self._answer(messages)
        finally:
            self.active -= 1


def fake(outline: Outline, crowd: Crowd | None = None) -> tuple[SchemaChat, DraftOptions]:
    """A :class:`SchemaChat` for ``outline``, and draft options that send every call to it."""
    chat = SchemaChat(specs=plan(outline), crowd=crowd)
    options = DraftOptions(
        model=resolve_model("openai:fake", {"OPENAI_API_KEY": "sk-test"}),
        handle=ModelHandle(chat, "openai:fake"),
        author="Ada",
    )
    return chat, options


class SignallingChat(SchemaChat):
    """Answers validly; at call ``at`` it sends ``sig`` to this process and never answers."""

    at: int = 4
    sig: int = signal.SIGTERM

    async def _agenerate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        self.calls += 1
        if self.calls == self.at:
            os.kill(os.getpid(), self.sig)
            await asyncio.Event().wait()  # cancelled by the batch's signal handler
        return self._answer(messages)
