"""Ctrl-C and SIGTERM during a long run: stop, and still say what was done.

A CI job that is cancelled, or a developer who presses Ctrl-C, used to lose the batch report with
the rest of the run: the drafts written so far were on disk, but nothing said which. A batch
turns the first SIGINT or SIGTERM into a cancellation of its own task, lets the items in flight
unwind (their locks released, their atomic writes either done or not begun), marks the items
that did not finish ``not-run``, writes its reports and exits 130 (SIGINT) or 143 (SIGTERM), as a
shell reports a process ended by that signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator


def exit_code(name: str) -> int:
    """128 + the signal's number: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + int(signal.Signals[name])


@contextlib.contextmanager
def cancel_on_signals(on_signal: Callable[[str], None]) -> Iterator[None]:
    """Inside the block, SIGINT and SIGTERM cancel the running task after calling ``on_signal``
    with the signal's name. Outside the main thread (where handlers cannot be set) it does nothing.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):

        def handler(sig: signal.Signals = sig) -> None:
            on_signal(sig.name)
            if task is not None:
                task.cancel()

        try:
            loop.add_signal_handler(sig, handler)
        except (ValueError, RuntimeError, NotImplementedError):
            continue  # not the main thread, or no signals here
        installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
