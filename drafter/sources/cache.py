"""A small on-disk cache of tracker GETs, so a re-run asks "changed?" instead of re-downloading.

A nightly batch re-fetches every issue and every page of its comments; most have not changed, and
each full fetch spends the tracker's rate limit. With an entry on disk, :class:`TrackerHttp` sends
``If-None-Match``/``If-Modified-Since``; a ``304 Not Modified`` (which GitHub does not count
against the rate limit) is answered from the stored body. A ``200`` replaces the entry.

What is stored, per entry, in one JSON file: the request URL, the status (200), the few response
headers drafter reads (validators, pagination, content type) and the body. Never a request header,
so never a token: the token only picks the entry, through the SHA-256 of the credential headers
(``anon`` without one), so two tokens, or a token and no token, never share an answer.

Files are written atomically (a private temporary file, then a rename) with 0600 permissions in a
0700 folder. A cache must never break a fetch: an entry that cannot be read or parsed is a miss,
and a folder that cannot be written turns storing off for the run, with one warning. No ``fsync``:
a torn entry after a crash is only a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = 1
SUBFOLDER = "http"
# Response headers worth keeping: validators, both trackers' pagination, the body's type.
KEPT_HEADERS = (
    "etag",
    "last-modified",
    "link",
    "content-type",
    "x-next-page",
    "x-page",
    "x-per-page",
    "x-total",
    "x-total-pages",
)
ANONYMOUS = "anon"

# Folders a write failed in, in this process: later fetches skip them without warning again.
_unwritable: set[str] = set()
_unwritable_lock = threading.Lock()


def identity(credentials: Mapping[str, str]) -> str:
    """Who asked, without the secret: SHA-256 of the credential headers, or ``anon``."""
    if not credentials:
        return ANONYMOUS
    text = "\n".join(f"{name.lower()}: {value}" for name, value in sorted(credentials.items()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CachedReply:
    """A stored 200: its URL, the kept headers, the body as it arrived and its parsed JSON."""

    url: str
    headers: dict[str, str]
    body: bytes
    data: Any

    def validators(self) -> dict[str, str]:
        """The conditional headers that ask the tracker whether this entry is still current."""
        wanted: dict[str, str] = {}
        if "etag" in self.headers:
            wanted["If-None-Match"] = self.headers["etag"]
        if "last-modified" in self.headers:
            wanted["If-Modified-Since"] = self.headers["last-modified"]
        return wanted


class HttpCache:
    """Entries under ``folder/http/``, one file per (URL, request variant, identity).

    ``notify`` receives the one-line warning when the folder cannot be written.
    """

    def __init__(self, folder: Path, notify: Callable[[str], None] | None = None) -> None:
        self.folder = Path(folder) / SUBFOLDER
        self.notify = notify

    @staticmethod
    def key(url: str, variant: Mapping[str, str], who: str) -> str:
        """The entry's name: SHA-256 of the URL, the non-secret request headers and the identity."""
        headers = "\n".join(f"{name.lower()}: {value}" for name, value in sorted(variant.items()))
        return hashlib.sha256(f"{url}\n{headers}\n{who}".encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def load(self, key: str, url: str) -> CachedReply | None:
        """The entry for ``key`` if it is whole and for ``url``; anything else is a miss."""
        try:
            raw = self._path(key).read_bytes()
            entry = json.loads(raw)
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("format") != FORMAT or entry.get("status") != 200:
            return None
        headers, body = entry.get("headers"), entry.get("body")
        if entry.get("url") != url or not isinstance(headers, dict) or not isinstance(body, str):
            return None
        if not all(isinstance(k, str) and isinstance(v, str) and v.isprintable() for k, v in headers.items()):
            return None  # a header value that could not go back on the wire
        kept = {k.lower(): v for k, v in headers.items() if k.lower() in KEPT_HEADERS}
        if "etag" not in kept and "last-modified" not in kept:
            return None  # nothing to revalidate with
        try:
            data = json.loads(body)
        except ValueError:
            return None
        return CachedReply(url, kept, body.encode("utf-8"), data)

    def store(self, key: str, url: str, headers: Mapping[str, str], body: bytes) -> None:
        """Keep a 200 that has a validator and allows storing; a failure turns storing off."""
        if str(self.folder) in _unwritable:
            return
        kept = {name: headers[name] for name in KEPT_HEADERS if name in headers}
        if "etag" not in kept and "last-modified" not in kept:
            return
        if "no-store" in headers.get("cache-control", "").lower():
            return
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return
        entry = {"format": FORMAT, "url": url, "status": 200, "headers": kept, "body": text}
        try:
            self._write(key, json.dumps(entry, ensure_ascii=False).encode("utf-8"))
        except OSError as exc:
            self._turn_off(exc)

    def _write(self, key: str, data: bytes) -> None:
        self.folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.folder.mkdir(mode=0o700, exist_ok=True)
        with contextlib.suppress(OSError):  # a folder someone else made: the files stay 0600
            os.chmod(self.folder, 0o700)
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.chmod(temporary, 0o600)
            os.replace(temporary, self._path(key))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    def _turn_off(self, exc: OSError) -> None:
        reason = exc.strerror or type(exc).__name__
        with _unwritable_lock:
            if str(self.folder) in _unwritable:
                return
            _unwritable.add(str(self.folder))
        if self.notify is not None:
            self.notify(f"HTTP cache off for this run: cannot write to {self.folder} ({reason})")
