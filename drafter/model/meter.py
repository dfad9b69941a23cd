"""Count the model calls made inside a block, answered or not, without importing the model stack.

A batch item that fails after some calls (a timeout on the solution chain, say) never gets a
draft's usage, yet it spent them: the report must not say "0 calls" for it, and a token or cost
budget must see them. :class:`drafter.model.handle.ModelHandle` reports every call here; a batch opens
one meter per issue. It is a context variable, so concurrent issues (asyncio tasks, which copy
the context they start in) each fill their own.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

_METER: contextvars.ContextVar[dict[str, int] | None] = contextvars.ContextVar("drafter_meter", default=None)


def empty_usage() -> dict[str, int]:
    """Usage with nothing spent, in the shape drafts and reports use."""
    return {"prompt_tokens": 0, "completion_tokens": 0, "calls": 0}


@contextlib.contextmanager
def metered() -> Iterator[dict[str, int]]:
    """Yield a usage dict that every model call inside the block (and tasks it starts) adds to.

    Meters nest: when the block ends, however it ends, what it counted is added to the meter
    around it (a batch item's), so an inner meter never hides calls from an outer one.
    """
    usage = empty_usage()
    outer = _METER.get()
    token = _METER.set(usage)
    try:
        yield usage
    finally:
        _METER.reset(token)
        if outer is not None:
            for key, value in usage.items():
                outer[key] += value


def count(prompt_tokens: int = 0, completion_tokens: int = 0, calls: int = 1) -> None:
    """Add one call's usage to the meter in effect, if any."""
    usage = _METER.get()
    if usage is not None:
        usage["prompt_tokens"] += prompt_tokens
        usage["completion_tokens"] += completion_tokens
        usage["calls"] += calls
