"""Running drafter's async work from synchronous code, on a loop of its own.

Kept apart from :mod:`drafter.model.handle` so that callers that only need the loop (a batch
re-run that drafts nothing, ``redraft`` offline) do not import the langchain stack with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from drafter.model.handle import ModelHandle

_T = TypeVar("_T")


def run_sync(work: Coroutine[Any, Any, _T], handles: Callable[[], Iterable[ModelHandle | None]]) -> _T:
    """``asyncio.run(work)``, closing the handles' connections on that loop before it ends.

    ``handles`` is read after ``work`` finishes, since a handle may be built during it. A pooled
    connection left open would outlive its loop (a ResourceWarning, or "Event loop is closed"
    when a later loop reuses the handle).
    """

    async def main() -> _T:
        try:
            return await work
        finally:
            for handle in handles():
                if handle is not None:
                    await handle.aclose()

    return asyncio.run(main())
