"""Who gets a free model-call slot: the call with the longest path still ahead of its draft."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import HumanMessage
from pydantic import BaseModel

from drafter.drafting.chains import plan
from drafter.model.choice import resolve_model
from drafter.model.handle import CallSlots, ModelHandle, Reply, Usage
from drafter.pipeline import DraftOptions, draft
from drafter.template.outline import load_outline
from tests.support.chat import chain_answer, reply
from tests.support.issues import make_ctx


class Answer(BaseModel):
    text: str


def test_plan_counts_the_calls_ahead_of_each_chain() -> None:
    specs = plan(load_outline())
    assert [(s.name, s.ahead) for s in specs] == [("problem", 3), ("solution", 2), ("risks", 1)]


@pytest.mark.parametrize("template", ["rfc", "adr"])
def test_every_chain_counts_at_least_itself_and_more_than_what_follows_it(template: str) -> None:
    specs = {s.name: s for s in plan(load_outline(template))}
    for spec in specs.values():
        assert spec.ahead >= 1
        for dep in spec.depends_on:
            assert specs[dep].ahead > spec.ahead


class Scene:
    """Call slots, the order in which calls got one, and holders that keep slots busy until
    ``release`` is set."""

    def __init__(self, size: int) -> None:
        self.slots = CallSlots(size)
        self.order: list[str] = []
        self.release = asyncio.Event()

    async def busy(self) -> None:
        async with self.slots.hold():
            await self.release.wait()

    async def call(self, name: str, ahead: int = 1) -> None:
        async with self.slots.hold(ahead):
            self.order.append(name)
            await asyncio.sleep(0)


async def settled(awaitable: Any, turns: int = 20) -> Any:
    """Await ``awaitable`` if it completes within ``turns`` passes of the event loop, else fail.

    "At once" and "not lost" are told by loop turns, not by a clock: a call that got its slot
    completes in a turn or two on any machine, and one that waits for a lost slot never does,
    so the test fails at once instead of hanging, and a slow machine changes nothing.
    """
    task = asyncio.ensure_future(awaitable)
    for _ in range(turns):
        if task.done():
            break
        await asyncio.sleep(0)
    if not task.done():
        task.cancel()
        raise AssertionError(f"still waiting after {turns} turns of the event loop")
    return task.result()


def _order_of(waiters: list[tuple[str, int]], size: int = 1) -> list[str]:
    """The order in which ``waiters`` (name, ahead) get a slot while ``size`` slots are busy."""

    async def scenario() -> list[str]:
        scene = Scene(size)
        holders = [asyncio.create_task(scene.busy()) for _ in range(size)]
        await asyncio.sleep(0)
        tasks = []
        for name, ahead in waiters:
            tasks.append(asyncio.create_task(scene.call(name, ahead)))
            await asyncio.sleep(0)  # queued in this order
        scene.release.set()
        await asyncio.gather(*holders, *tasks)
        return scene.order

    return asyncio.run(scenario())


def test_a_freed_slot_goes_to_the_longest_path_then_first_come() -> None:
    waiters = [("risks-a", 1), ("problem-b", 3), ("solution-a", 2), ("problem-c", 3), ("risks-b", 1)]
    assert _order_of(waiters) == ["problem-b", "problem-c", "solution-a", "risks-a", "risks-b"]


def test_equal_calls_are_served_in_arrival_order() -> None:
    waiters = [(f"call-{n}", 2) for n in range(6)]
    assert _order_of(waiters, size=2) == [f"call-{n}" for n in range(6)]


def test_never_more_calls_than_slots_and_a_free_slot_is_taken_at_once() -> None:
    async def scenario() -> tuple[int, int]:
        slots = CallSlots(3)
        active = peak = 0

        async def call(ahead: int) -> None:
            nonlocal active, peak
            async with slots.hold(ahead):
                active += 1
                peak = max(peak, active)
                await asyncio.sleep(0.001)
                active -= 1

        await asyncio.gather(*(call(n % 3 + 1) for n in range(20)))
        # All slots are free again: three calls get in without waiting.
        held = [slots.hold() for _ in range(3)]
        for hold in held:
            await settled(hold.__aenter__(), turns=1)
        for hold in held:
            await hold.__aexit__(None, None, None)
        return peak, active

    assert asyncio.run(scenario()) == (3, 0)


def test_a_cancelled_waiter_neither_takes_nor_loses_a_slot() -> None:
    async def scenario() -> list[str]:
        scene = Scene(1)
        holder = asyncio.create_task(scene.busy())
        await asyncio.sleep(0)
        doomed = asyncio.create_task(scene.call("cancelled", 3))
        kept = asyncio.create_task(scene.call("kept", 1))
        await asyncio.sleep(0)
        doomed.cancel()
        scene.release.set()
        await asyncio.gather(holder, kept)
        with pytest.raises(asyncio.CancelledError):
            await doomed
        await settled(scene.call("after", 1))
        return scene.order

    assert asyncio.run(scenario()) == ["kept", "after"]


def test_a_waiter_cancelled_after_its_slot_was_granted_passes_it_on() -> None:
    async def scenario() -> list[str]:
        scene = Scene(1)
        first = scene.slots.hold()
        await first.__aenter__()
        granted = asyncio.create_task(scene.call("granted-then-cancelled", 3))
        follower = asyncio.create_task(scene.call("follower", 1))
        await asyncio.sleep(0)
        await first.__aexit__(None, None, None)  # hands the slot to the first waiter ...
        granted.cancel()  # ... which is cancelled before it runs again
        await settled(follower)
        with pytest.raises(asyncio.CancelledError):
            await granted
        return scene.order

    assert asyncio.run(scenario()) == ["follower"]


def test_ask_orders_waiting_calls_by_the_calls_ahead() -> None:
    class Recording(ModelHandle):
        def __init__(self) -> None:
            super().__init__(None, "recording")
            self.order: list[str] = []
            self.gate = asyncio.Event()

        async def complete(
            self, messages: Any, schema: type[BaseModel], max_tokens: int | None = None
        ) -> Reply:
            self.order.append(str(messages[0].content))
            await self.gate.wait()
            return Reply(schema.model_validate({"text": "ok"}), '{"text": "ok"}', None, Usage(calls=1))

    async def scenario() -> list[str]:
        handle = Recording()
        handle.limit(1)
        asks = []
        for name, ahead in [("first", 1), ("risks", 1), ("solution", 2), ("problem", 3)]:
            asks.append(
                asyncio.create_task(handle.ask([HumanMessage(name)], Answer, chain=name, ahead=ahead))
            )
            await asyncio.sleep(0)
        handle.gate.set()
        replies = await asyncio.gather(*asks)
        assert all(r.error is None for r in replies)
        return handle.order

    assert asyncio.run(scenario()) == ["first", "problem", "solution", "risks"]


def test_each_chain_asks_with_its_calls_ahead_and_a_re_ask_with_one() -> None:
    class Recording(ModelHandle):
        def __init__(self, chat: Any) -> None:
            super().__init__(chat, "fake")
            self.asked: list[tuple[str, int, bool]] = []

        async def ask(
            self,
            messages: Any,
            schema: Any,
            *,
            chain: str = "",
            retry: bool = False,
            ahead: int = 1,
            max_tokens: int | None = None,
        ) -> Reply:
            self.asked.append((chain, ahead, retry))
            return await super().ask(messages, schema, chain=chain, retry=retry, ahead=ahead)

    outline = load_outline()
    specs = plan(outline)
    replies = [
        reply(chain_answer(specs[0])),
        reply("not JSON"),  # the solution chain's schema retry keeps its place in the queue
        # fails the check: the template's placeholders left in a goal
        reply(
            chain_answer(
                specs[1], goals={"items": [{"sources": [], "goal": "[Goal 1]", "check": "[Goal 2]"}]}
            )
        ),
        reply(chain_answer(specs[2])),
        reply(chain_answer(specs[1])),  # the re-ask with the findings
    ]
    handle = Recording(GenericFakeChatModel(messages=iter(replies)))
    options = DraftOptions(model=resolve_model("openai:fake", {"OPENAI_API_KEY": "sk-test"}), handle=handle)
    result = draft(make_ctx(), outline, options)
    assert result.usage["calls"] == 5
    assert handle.asked == [
        ("problem", 3, False),
        ("solution", 2, False),
        ("solution", 2, True),
        ("risks", 1, False),
        ("solution", 1, False),
    ]
