"""Reading design docs from disk and choosing the template each one is checked against.

Kept apart from :mod:`drafter.validate` so the validator stays a pure function of text, and
from the CLI so that ``review``, ``status`` and batch reports read files the same way.
"""

from __future__ import annotations

import stat
from pathlib import Path

from drafter.errors import InputError
from drafter.outline import load_outline
from drafter.validate import Report, template_marker, validate_text

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


def read_text_file(path: Path, what: str = "file") -> str:
    """Read a UTF-8 text file or raise a one-line :class:`InputError` saying what is wrong."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(f"{what} {path} does not exist", hint="check the path") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror}", hint="check the path") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path} is a directory", hint=f"pass a {what}, e.g. {path}/*.md")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(
            f"{path} is not a regular file", hint=f"pass a {what} path, or '-' for stdin where allowed"
        )
    if info.st_size > MAX_DOCUMENT_BYTES:
        raise InputError(f"{what} {path} is larger than 20 MB", hint="pass a smaller file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror}", hint="check its permissions") from None
    if b"\x00" in raw:
        raise InputError(f"{what} {path} looks binary (it contains NUL bytes)", hint="pass a UTF-8 text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{what} {path} is not valid UTF-8 (byte {exc.start})", hint="re-save it as UTF-8"
        ) from None


def read_document(path: Path) -> str:
    """Read a markdown design doc for validation."""
    return read_text_file(path, "document")


def validate_document(
    text: str, *, template: str | None = None, path: str = "<text>", strict: bool = False
) -> Report:
    """Validate ``text`` against ``template``, else its ``drafter:template`` marker, else the default."""
    outline = load_outline(template or template_marker(text))
    return validate_text(text, outline, path=path, strict=strict)
