"""The sources of a batch: a list file, one identity per issue, and stable shards.

``batch`` accepts the same issue spelled many ways (``owner/repo#12``, its URL, its pull-request
URL), from arguments, a file and a label query; it drafts each issue once, and N CI jobs given
``--shard K/N`` split the list between them the same way on every machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from drafter.errors import DrafterError, InputError
from drafter.sources.settings import SourceSettings


def read_sources_file(path: Path) -> list[str]:
    """One SOURCE per line; blank lines and ``#`` comments (whole-line or trailing) are ignored.

    A local file is found relative to the list file first (so a list can sit next to its
    issues), then relative to the current directory.
    """
    if path.exists() and not path.is_file():  # a FIFO would block the read below until a writer came
        raise InputError(f"--from-file {path} is not a regular file", hint="save the list to a file")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            f"cannot read --from-file {path}: it does not exist", hint="check the path"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise InputError(f"cannot read --from-file {path}: {reason}", hint="pass a UTF-8 text file") from None
    sources = []
    for line in text.splitlines():
        value = line.strip()
        if value.startswith("#"):
            continue
        if " #" in value:
            value = value.split(" #", 1)[0].strip()
        if value:
            beside = path.parent / value
            local = "://" not in value and not value.startswith("-") and beside.is_file()
            sources.append(str(beside) if local else value)
    return sources


def source_key(spec: str, settings: SourceSettings | None = None) -> str:
    """A canonical identity of SOURCE: equal for two spellings of the same issue.

    ``owner/repo#12``, ``https://github.com/owner/repo/issues/12`` and the ``/pull/12`` URL are
    one key; a local file is keyed by its resolved path. A SOURCE that cannot be parsed keys by its
    text (it fails later, as its own item).
    """
    from urllib.parse import urlsplit

    from drafter.sources.urls import GitHubRef, GitLabRef, JiraRef, parse_source

    hosts: frozenset[str] = frozenset()
    if settings is not None and settings.gitlab_api_url:
        hosts = frozenset({(urlsplit(settings.gitlab_api_url).hostname or "").lower()})
    text = spec.strip()
    try:
        ref = parse_source(text, gitlab_hosts=hosts)
    except DrafterError:
        return f"raw:{text}"
    if isinstance(ref, GitHubRef):
        return f"github:{ref.host.lower()}/{ref.owner.lower()}/{ref.repo.lower()}#{ref.number}"
    if isinstance(ref, GitLabRef):
        sep = "!" if ref.kind == "pull_request" else "#"
        return f"gitlab:{ref.host.lower()}:{ref.port or ''}/{ref.project.lower()}{sep}{ref.number}"
    if isinstance(ref, JiraRef):
        return f"jira:{ref.host.lower()}/{ref.key.upper()}"
    if ref.path == "-":
        return "stdin:-"
    return f"local:{Path(ref.path).resolve()}"


def dedupe(sources: Iterable[str], settings: SourceSettings | None = None) -> list[str]:
    """Sources in first-seen order, each issue once (by :func:`source_key`)."""
    seen: set[str] = set()
    out = []
    for spec in sources:
        key = source_key(spec, settings)
        if key not in seen:
            seen.add(key)
            out.append(spec.strip())
    return out


def parse_shard(text: str) -> tuple[int, int]:
    """``K/N`` (1 <= K <= N) -> ``(K, N)``; raises :class:`InputError` otherwise."""
    index, sep, count = text.strip().partition("/")
    if not sep or not index.isdigit() or not count.isdigit():
        raise InputError(f"--shard must be K/N such as 1/4, got {text!r}")
    k, n = int(index), int(count)
    if n < 1 or not 1 <= k <= n:
        raise InputError(f"--shard {text} is out of range", hint="K counts from 1 to N, as in 1/4 ... 4/4")
    return k, n


def shard_of(key: str, count: int) -> int:
    """The 1-based shard of a source key among ``count``: a stable hash, the same on every machine."""
    value = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
    return value % count + 1


def select_shard(
    sources: Sequence[str], shard: tuple[int, int] | None, settings: SourceSettings | None = None
) -> list[str]:
    """The sources of shard ``(K, N)``; N jobs with K = 1..N cover each source exactly once."""
    if shard is None or shard[1] == 1:
        return list(sources)
    k, n = shard
    return [spec for spec in sources if shard_of(source_key(spec, settings), n) == k]
