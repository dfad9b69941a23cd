"""What a fetched thread distils to, remembered by fingerprint, so a re-run can skip distilling it.

A batch re-run fetches every issue again to learn whether it changed, and most have not. Deciding
"unchanged" needs the hash of the finished context (:meth:`IssueContext.content_hash`), and
finishing a context (distilling it: noise, roles, typed facts from one markdown parse per comment;
links; the ``--max-context`` budget) costs far more than the fetch. That work is a pure function
of the thread as fetched, the budget and the notes, and of drafter's own code, so its result is
kept here: the **fingerprint** of those inputs names an entry that holds the finished context's
hash. A batch whose fingerprint has an entry compares that hash with the existing draft's inputs
and, when they agree, reports the issue unchanged without distilling it. Anything else (no entry,
another hash, an entry that cannot be read) takes the full path, which also writes the entry.

The fingerprint covers drafter's version, the markdown parser's version and the source text of
the modules that finish a context (this package and the markdown layer), so a changed rule is a
new fingerprint, never a stale answer. Entries live beside the HTTP cache (``cache_dir/threads``),
written atomically with 0600 permissions; they hold two hashes and no issue text. A cache must
never break a run: a folder that cannot be written turns storing off for the run, silently.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from drafter.sources.context import IssueContext, Note

FORMAT = "1"
SUBFOLDER = "threads"
_HASH_LENGTH = 16  # IssueContext.content_hash's


@functools.cache
def code_version() -> str:
    """A digest of what finishing a context depends on besides its inputs: drafter's version, the
    markdown parser's version and the source of the modules involved; ``""`` if unreadable."""
    import markdown_it

    from drafter.config.about import version
    from drafter.template import mdparse

    here = Path(__file__).resolve().parent
    files = [*sorted(here.glob("*.py")), Path(mdparse.__file__).resolve()]
    digest = hashlib.sha256(f"{FORMAT}\n{version()}\n{markdown_it.__version__}\n".encode())
    try:
        for path in files:
            digest.update(path.name.encode() + b"\n" + path.read_bytes() + b"\n")
    except OSError:
        return ""
    return digest.hexdigest()


def fingerprint(raw: IssueContext, max_context: int, notes: Sequence[Note]) -> str | None:
    """The name of the entry for ``raw`` (a context as fetched, not distilled) finished under
    ``max_context`` with ``notes``; None when drafter's own code cannot be fingerprinted."""
    code = code_version()
    if not code:
        return None
    payload = f"{code}\n{max_context}\n{notes!r}\n{raw!r}"
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


class ThreadMemo:
    """Entries under ``folder/threads/``: one small file per fingerprint, holding a context hash."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder) / SUBFOLDER
        self.writable = True

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / key

    def get(self, key: str) -> str | None:
        """The finished context's hash recorded for ``key``, or None (a miss, whatever the reason)."""
        try:
            text = self._path(key).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            return None
        version, _, value = text.partition(" ")
        value = value.strip()
        if version != FORMAT or len(value) != _HASH_LENGTH or not value.isalnum():
            return None
        return value

    def put(self, key: str, content_hash: str) -> None:
        """Record ``content_hash`` for ``key``; a folder that cannot be written turns storing off."""
        if not self.writable or self.get(key) == content_hash:
            return
        path = self._path(key)
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.parent.mkdir(mode=0o700, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(handle, "w", encoding="ascii") as stream:
                    stream.write(f"{FORMAT} {content_hash}\n")
                os.replace(temporary, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except OSError:
            self.writable = False
