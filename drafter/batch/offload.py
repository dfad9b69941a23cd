"""A second core for a large batch: the pure, CPU-bound steps of a draft run in a worker process.

A batch is CPU-bound on one core long before its model calls are (about 45 ms of CPU per draft
against 3 calls in flight for half a second each). Two steps of a draft need nothing from the
event loop and are pure functions of picklable inputs: finishing the fetched thread (distilling
it: one markdown parse per comment, the typed facts; links; the budget; see
:func:`drafter.batch.prepare.finished`) and validating the finished document (one markdown parse
of the whole draft and the template checks: :func:`drafter.template.validate.validate_text`).
A batch of :data:`MIN_ITEMS` issues or more, on a machine with two cores or more, hands both to
one worker process; the drafts, reports and files are the same either way, and a worker that
dies only moves the work back in line.

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
