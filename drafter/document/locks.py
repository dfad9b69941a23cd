"""One writer per draft: an advisory lock, so two runs into one folder never draft an issue twice.

Two ``drafter batch`` runs started on one folder (a re-triggered CI job, a developer beside a
scheduled run) used to both see "no draft yet" and both pay for it. Each draft now has a lock
that a run holds from the moment it decides to draft until the file is written; a second run
that wants the same draft waits for it, then finds the first run's draft and reports it
``unchanged`` with no model call.

The lock is ``flock(2)`` on a small file named by a hash of the draft's absolute path, in a
per-user folder of the system's temporary directory (``drafter-locks-UID``): never in the
drafts' folder, which is committed. The kernel releases it when the process dies (kill -9
included), so a crash never leaves a stale lock. Lock files are not removed (removing one while
another process waits on it would let two runs hold "the" lock at once); they are a few bytes
each. The lock serialises runs on one machine, which is where two runs share a checkout; on a
platform without ``fcntl`` it is a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import os
import stat
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

POLL_SECONDS = 0.25


@functools.lru_cache(maxsize=64)
def _real_folder(folder: str) -> str:
    """A folder's real path; cached, as a batch locks hundreds of drafts in one or two folders
    and resolving walks every component with ``lstat``."""
    return os.path.realpath(folder)


def lock_path(draft: Path) -> Path:
    """The lock file of the draft at ``draft``: the same for every spelling of its path (the
    folder is resolved; a draft file that is itself a symlink is locked under its own name)."""
    real = os.path.join(_real_folder(os.path.abspath(draft.parent)), draft.name)
    key = hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    user = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"drafter-locks-{user}" / f"{key}.lock"


def _try_lock(draft: Path) -> int | None:
    """The open, locked file descriptor, or None when another process holds the lock."""
    if fcntl is None:  # pragma: no cover - Windows
        return -1
    path = lock_path(draft)
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        if not _private(path.parent):
            return -1  # someone else's folder: never follow their files; draft unlocked
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError:
        return -1  # no usable temporary folder (or a planted link): draft unlocked, not at all
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    # A fixed-width record written in place: no truncation (a metadata update that costs a
    # millisecond on some file systems, a thousand times in a re-run of a large batch).
    os.pwrite(fd, f"{os.getpid():<20}\n".encode(), 0)
    return fd


def _private(folder: Path) -> bool:
    """The lock folder is a real folder (not a link), ours, and closed to everyone else: in a
    shared temporary directory, another user could otherwise plant links to our files in it."""
    info = folder.lstat()
    owner = os.getuid() if hasattr(os, "getuid") else info.st_uid
    return stat.S_ISDIR(info.st_mode) and info.st_uid == owner and not info.st_mode & 0o077


def _unlock(fd: int) -> None:
    if fd >= 0 and fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def holder(draft: Path) -> str:
    """The pid written by the process holding the lock, or "" when unknown."""
    try:
        return lock_path(draft).read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def _attempts(draft: Path, on_wait: Callable[[str], None] | None) -> Iterator[int | None]:
    """Lock attempts: None while another process holds the lock (``on_wait`` told once, with
    its pid), then the locked descriptor. The caller waits between attempts its own way."""
    told = False
    while (fd := _try_lock(draft)) is None:
        if on_wait is not None and not told:
            on_wait(holder(draft))
            told = True
        yield None
    yield fd


@contextlib.asynccontextmanager
async def draft_lock(draft: Path, on_wait: Callable[[str], None] | None = None) -> AsyncIterator[None]:
    """Hold the draft's lock inside the block, waiting (without blocking the loop) while another
    process holds it."""
    for fd in _attempts(draft, on_wait):
        if fd is not None:
            break
        await asyncio.sleep(POLL_SECONDS)
    assert fd is not None
    try:
        yield
    finally:
        _unlock(fd)


@contextlib.contextmanager
def draft_lock_sync(draft: Path, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """:func:`draft_lock` for synchronous callers (``from-issue``)."""
    for fd in _attempts(draft, on_wait):
        if fd is not None:
            break
        time.sleep(POLL_SECONDS)
    assert fd is not None
    try:
        yield
    finally:
        _unlock(fd)
