"""Running a batch in process, with a hook that records each item as it settles."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from drafter.batch.runner import BatchItem, BatchOptions, BatchRun, run_batch
from drafter.pipeline import DraftOptions
from drafter.template.outline import Outline


def batch(
    sources: list[Any],
    outline: Outline,
    out_dir: Path,
    draft: DraftOptions,
    *,
    then: Callable[[BatchItem], None] | None = None,
    **kw: Any,
) -> tuple[BatchRun, list[tuple[str, int, int]]]:
    """Run a batch; ``then`` is called with each item as it settles."""
    seen: list[tuple[str, int, int]] = []

    def hook(item: BatchItem, done: int, total: int) -> None:
        seen.append((item.status, done, total))
        if then is not None:
            then(item)

    options = BatchOptions(out_dir=out_dir, draft=draft, on_item=hook, **kw)
    return run_batch([str(s) for s in sources], outline, options), seen
