"""Local sources: markdown/text files, saved JSON (GitHub REST shape or drafter's own), stdin, notes.

Local input is how drafter runs offline and in CI, and how a user replays ``drafter fetch --format
json`` output. Files are checked with ``stat`` before they are opened, so a directory, FIFO or device
fails with a message instead of blocking or reading garbage; content must be non-empty UTF-8 text
without NUL bytes.
"""

from __future__ import annotations

import json
import stat
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

from drafter.errors import InputError, SourceError
from drafter.sources import github
from drafter.sources.context import CONTEXT_SCHEMA, READABLE_SCHEMAS, Comment, IssueContext, Note
from drafter.sources.urls import SUPPORTED_FORMS, GitHubRef, parse_url

MAX_FILE_BYTES = 32 * 1024 * 1024
TEXT_SUFFIXES = (".md", ".markdown", ".txt")
_SHAPES = (
    "expected a GitHub REST issue object with 'title', 'body' and an optional 'comments_list', "
    "or drafter's own JSON from 'drafter fetch --format json'"
)


def read_bytes(path: str, *, what: str, stdin: Callable[[], BinaryIO] | None = None) -> bytes:
    """Read a regular file (or stdin for ``-``) after checking it is safe and not too large."""
    if path == "-":
        stream = stdin() if stdin is not None else sys.stdin.buffer
        data = stream.read(MAX_FILE_BYTES + 1)
        label = "standard input"
    else:
        label = path
        try:
            info = Path(path).stat()
        except FileNotFoundError:
            raise InputError(f"{what} {path!r} does not exist", hint="check the path") from None
        except OSError as exc:
            raise InputError(f"cannot read {what} {path!r}: {exc.strerror}", hint="check the path") from None
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"{what} {path!r} is a directory", hint="give a .md, .txt or .json file")
        if not stat.S_ISREG(info.st_mode):
            raise InputError(
                f"{what} {path!r} is not a regular file (FIFO, socket or device)",
                hint="save the content to a file, or pipe it in with '-'",
            )
        if info.st_size > MAX_FILE_BYTES:
            raise InputError(
                f"{what} {path!r} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB",
                hint="trim it to the issue text",
            )
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise InputError(
                f"cannot read {what} {path!r}: {exc.strerror}", hint="check permissions"
            ) from None
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"{what} on {label} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    return data


def decode_text(data: bytes, *, label: str) -> str:
    """Decode UTF-8 text (BOM allowed); refuse binary, invalid UTF-8 and empty content."""
    if b"\x00" in data:
        raise InputError(f"{label} contains NUL bytes and looks binary", hint="give a UTF-8 text file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{label} is not valid UTF-8 (byte {exc.start})",
            hint="re-save it as UTF-8, e.g. 'iconv -t UTF-8 FILE > FILE.utf8'",
        ) from None
    if not text.strip():
        raise InputError(f"{label} is empty", hint="give a file with the issue text")
    return text


def load_local(path: str, *, stdin: Callable[[], BinaryIO] | None = None) -> IssueContext:
    """Load a ``.md``/``.txt``/``.json`` file, or ``-`` (stdin, JSON if it starts with ``{``)."""
    suffix = Path(path).suffix.lower() if path != "-" else ""
    if path != "-" and Path(path).exists() and not Path(path).is_file():
        read_bytes(path, what="source file")  # raises: directory, FIFO, socket or device
    if path != "-" and suffix not in TEXT_SUFFIXES + (".json",):
        if not Path(path).exists():
            raise SourceError(f"source {path!r} is not a file or a supported URL", hint=SUPPORTED_FORMS)
        raise SourceError(
            f"unsupported file type {suffix or '(none)'!r} for {path!r}",
            hint="give a .md, .txt or .json file, or pipe the text in with '-'",
        )
    label = "standard input" if path == "-" else repr(path)
    text = decode_text(read_bytes(path, what="source file", stdin=stdin), label=label)
    if suffix == ".json" or (path == "-" and text.lstrip().startswith("{")):
        return from_json(text, label=label)
    return from_text(text)


def from_text(text: str) -> IssueContext:
    """Title is the first heading, else the first non-empty line; the rest is the body."""
    from markdown_it import MarkdownIt

    lines = text.splitlines()
    tokens = MarkdownIt("commonmark").parse(text)
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.map is not None and index + 1 < len(tokens):
            title = tokens[index + 1].content.strip()
            if title:
                start, end = token.map
                before = "\n".join(lines[:start]).strip()
                after = "\n".join(lines[end:]).strip()
                body = f"{before}\n\n{after}".strip()
                return IssueContext(title=title[:300], body=body)
    first = next(i for i, line in enumerate(lines) if line.strip())
    title = lines[first].strip()
    body = "\n".join(lines[first + 1 :]).strip()
    return IssueContext(title=title[:300], body=body)


def from_json(text: str, *, label: str) -> IssueContext:
    """Parse drafter's IssueContext JSON or a GitHub REST issue with ``comments_list``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"{label} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            hint="fix the file or save it again with 'drafter fetch --format json'",
        ) from None
    if not isinstance(data, dict):
        raise SourceError(f"{label} holds a JSON {type(data).__name__}, not an issue object", hint=_SHAPES)
    if data.get("schema") in READABLE_SCHEMAS:
        try:
            return IssueContext.from_dict(data)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise SourceError(f"{label} is not a valid drafter issue context ({exc})", hint=_SHAPES) from None
    if "schema" in data and isinstance(data.get("schema"), str):
        raise SourceError(
            f"{label} has schema {data['schema']!r}, which this drafter does not read",
            hint=f"regenerate it with this drafter's 'drafter fetch --format json' ({CONTEXT_SCHEMA})",
        )
    return _from_github_json(data, label=label)


def _from_github_json(data: dict[str, Any], *, label: str) -> IssueContext:
    title = data.get("title")
    body = data.get("body")
    raw_comments = data.get("comments_list", [])
    if not isinstance(title, str) or not title.strip() or not (body is None or isinstance(body, str)):
        raise SourceError(f"{label} has no string 'title' and 'body'", hint=_SHAPES)
    if not isinstance(raw_comments, list) or not all(isinstance(c, dict) for c in raw_comments):
        raise SourceError(f"{label} has a 'comments_list' that is not a list of objects", hint=_SHAPES)
    comments = [_comment(item, index, label) for index, item in enumerate(raw_comments)]
    ref = None
    html_url = data.get("html_url")
    if isinstance(html_url, str) and html_url:
        try:
            parsed = parse_url(html_url)
        except SourceError:
            parsed = None
        ref = parsed if isinstance(parsed, GitHubRef) else None
    ctx = github.to_context(data, comments, ref)
    return ctx if ref is not None else _as_local(ctx)


def _as_local(ctx: IssueContext) -> IssueContext:
    return replace(ctx, tracker="local")


def _comment(item: dict[str, Any], index: int, label: str) -> Comment:
    body = item.get("body")
    if not (body is None or isinstance(body, str)):
        raise SourceError(f"{label}: comment {index + 1} has a non-string 'body'", hint=_SHAPES)
    return github.comment_from(item, index)


def load_notes(
    texts: Sequence[str] = (),
    files: Sequence[str] = (),
    *,
    stdin: Callable[[], BinaryIO] | None = None,
) -> tuple[Note, ...]:
    """Build the team's notes from ``--notes TEXT`` values and ``--notes-file PATH`` (``-`` = stdin)."""
    notes: list[Note] = []
    for text in texts:
        if not text.strip():
            raise InputError("--notes was given an empty text", hint="drop the flag or write the note")
        notes.append(Note(text=text.strip(), source="cli"))
    if list(files).count("-") > 1:
        raise InputError("--notes-file - was given more than once", hint="standard input can be read once")
    for path in files:
        label = "notes from standard input" if path == "-" else f"notes file {path!r}"
        data = read_bytes(path, what="notes file", stdin=stdin)
        notes.append(
            Note(text=decode_text(data, label=label).strip(), source="stdin" if path == "-" else path)
        )
    return tuple(notes)
