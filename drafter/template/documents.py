"""Reading design docs from disk and choosing the template each one is checked against.

The template is ``--template`` (a name or a path) if given, else the draft's own
``<!-- drafter:template NAME -->`` marker, else the default. The marker is part of the document,
so it may only name a template the project knows (see :func:`drafter.template.resources.marker_template`).

Kept apart from :mod:`drafter.template.validate` so the validator stays a pure function of text, and
from the CLI so that ``review``, ``status`` and batch reports read files the same way.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

from drafter.errors import DrafterError, InputError
from drafter.template.findings import Report
from drafter.template.outline import load_outline
from drafter.template.resources import marker_template
from drafter.template.validate import template_marker, validate_text

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
# Below this many files a process pool costs more (fork, pickling) than it saves.
POOL_MIN_FILES = 64


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


def configured_template(cwd: Path | None = None) -> str | None:
    """The ``template`` set in the nearest config file (``drafter.toml`` / ``[tool.drafter]``), if any."""
    from drafter.config import find_config

    for _, table in find_config(cwd or Path.cwd()):
        value = table.get("template")
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def validate_document(
    text: str,
    *,
    template: str | None = None,
    path: str = "<text>",
    strict: bool = False,
    configured: str | None = None,
) -> Report:
    """Validate ``text`` against ``template``, else its ``drafter:template`` marker, else the default.

    The marker may only name a known template, or the config's template (``configured``); see
    :func:`~drafter.template.resources.marker_template`, whose :class:`~drafter.errors.TemplateMarkerError`
    is raised otherwise.
    """
    if not template and (marked := template_marker(text)) is not None:
        template = marker_template(marked, configured=configured)
    outline = load_outline(template or None)
    return validate_text(text, outline, path=path, strict=strict)


@dataclass(frozen=True)
class Unreadable:
    """A document that could not be read; ``message`` is the one-line reason and fix."""

    path: str
    message: str


def check_path(
    path: Path, *, template: str | None = None, strict: bool = False, configured: str | None = None
) -> Report | Unreadable:
    """Read and validate one file; an unreadable file is a result, a bad template raises."""
    try:
        text = read_document(path)
    except InputError as exc:
        return Unreadable(str(path), str(exc))
    return validate_document(text, template=template, path=str(path), strict=strict, configured=configured)


_Fatal = tuple[type[DrafterError], str, str | None]


def _check_chunk(
    paths: Sequence[Path], template: str | None, strict: bool, configured: str | None
) -> list[Report | Unreadable] | _Fatal:
    try:
        return [check_path(p, template=template, strict=strict, configured=configured) for p in paths]
    except DrafterError as exc:
        # Sent back as parts: exceptions with keyword-only arguments lose them when pickled.
        return type(exc), exc.message, exc.hint


def default_jobs(count: int) -> int:
    """How many processes to validate ``count`` files with: one per usable CPU for large batches."""
    if count < POOL_MIN_FILES or not sys.platform.startswith("linux"):
        return 1  # fork is cheap and safe only on Linux; elsewhere a pool would re-import drafter
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cpus, 8, count // (POOL_MIN_FILES // 2)))


def validate_paths(
    paths: Sequence[Path], *, template: str | None = None, strict: bool = False, jobs: int | None = None
) -> list[Report | Unreadable]:
    """Validate many files, in order; large batches are split over ``jobs`` forked processes.

    Raises :class:`~drafter.errors.TemplateError` (or another :class:`DrafterError`) when a
    template cannot be used, exactly as checking the files one by one would. Without
    ``template``, the config file's template is read once, for the drafts' markers to name.
    """
    jobs = default_jobs(len(paths)) if jobs is None else jobs
    configured = None if template else configured_template()
    if jobs <= 1 or len(paths) < 2:
        return [check_path(p, template=template, strict=strict, configured=configured) for p in paths]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if template is not None:
        load_outline(template)  # fail early, and let the workers inherit the parsed outline
    size = -(-len(paths) // (jobs * 2))  # two chunks per worker evens out uneven files
    chunks = [paths[i : i + size] for i in range(0, len(paths), size)]
    outcomes: list[Report | Unreadable] = []
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        for part in pool.map(_check_chunk, chunks, repeat(template), repeat(strict), repeat(configured)):
            if isinstance(part, tuple):
                error_type, message, hint = part
                raise error_type(message, hint=hint)
            outcomes.extend(part)
    return outcomes
