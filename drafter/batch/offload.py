"""A second core for a large batch: each finished draft is validated in a worker process.

A batch is CPU-bound on one core long before its model calls are (about 50 ms of CPU per draft
against 3 calls in flight for half a second each), and the largest single step of a draft that
needs nothing from the event loop is validating the finished document: one markdown parse of the
whole draft and the template checks, a pure function of the text and the template
(:func:`drafter.template.validate.validate_text`). A batch of :data:`MIN_ITEMS` issues or more,
on a machine with two cores or more, hands it to one worker process; the draft, its report and
its files are the same either way.

The worker is started with ``spawn`` (a fork of a process running threads can inherit a held
lock) and only on the first draft, so a re-run that drafts nothing starts none. It imports the
template layer only: markdown-it and jinja2, not the model stack.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

# Below this many issues a worker's start (~0.3 s of imports on the other core) is not won back.
MIN_ITEMS = 64


def wanted(items: int, offload: bool | None) -> bool:
    """Whether a batch of ``items`` issues validates in a worker; ``offload`` forces it either way."""
    if offload is not None:
        return offload
    return items >= MIN_ITEMS and (os.cpu_count() or 1) >= 2


def validation_pool() -> ProcessPoolExecutor:
    """One worker process, started when the first draft is submitted."""
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
