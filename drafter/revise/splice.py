"""Writing regenerated sections into a draft that exists, byte for byte around them.

``redraft`` and a batch's repair (:mod:`drafter.revise.redraft`) decide *what* to put in a draft;
this module only edits its lines: a section's body replaced, the Sources list brought up to date,
the marker put back, and the result written with a backup of the old draft beside it. Every line
keeps the line end it had, and a new line takes the file's dominant one, so a human's CRLF file
stays CRLF and nothing outside the regenerated sections changes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from drafter.document.provenance import Provenance, digest, state_path
from drafter.document.regions import Located, Region, bare
from drafter.document.render import render_sources
from drafter.document.writer import write_atomic
from drafter.errors import EditedDraftError, InputError, WriteError
from drafter.sources.context import IssueContext


def read_text(path: Path) -> str:
    """The draft's text exactly as on disk (line ends kept), or a one-line :class:`InputError`."""
    if path.exists() and not path.is_file():  # a FIFO or device would block the open below
        raise InputError(f"{path} is not a regular file", hint="pass the path of a draft drafter wrote")
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return handle.read()
    except FileNotFoundError:
        raise InputError(f"{path} does not exist", hint="pass the path of a draft drafter wrote") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}", hint="pass a UTF-8 markdown draft") from None


def line_end(lines: list[str]) -> str:
    """The line end most of ``lines`` use: what a new line in this file should end with."""
    crlf = sum(line.endswith("\r\n") for line in lines)
    return "\r\n" if crlf * 2 > len(lines) else "\n"


def splice(lines: list[str], region: Region, text: str, eol: str) -> list[str]:
    """``lines`` with the core of ``region`` replaced by ``text``."""
    new = [line + eol for line in text.split("\n")] if text else []
    if region.start == region.end:  # empty body: keep blank lines around the new text
        at = region.heading + 1
        return [*lines[:at], eol, *new, *lines[at:]] if new else lines
    return [*lines[: region.start], *new, *lines[region.end :]]


def replace_sources(
    lines: list[str], located: Located, ctx: IssueContext, section_sources: dict[str, list[str]]
) -> tuple[list[str], int]:
    """``lines`` with the Sources list rendered again from ``section_sources``, and where the body
    now ends; ``located`` is ``lines`` located (it must have a Sources list)."""
    assert located.sources_line is not None
    eol = line_end(lines)
    start, end = located.sources_line, located.body_end
    while end > start and not bare(lines[end - 1]).strip():
        end -= 1
    block = [line + eol for line in render_sources(ctx, section_sources).split("\n")]
    return [*lines[:start], *block, *lines[end:]], located.body_end + len(block) - (end - start)


def _provenance_span(lines: list[str], start: int) -> int:
    """The line after the marker (one line) or legacy block (many) that starts at ``start``."""
    for index in range(start, len(lines)):
        if bare(lines[index]).rstrip().endswith("-->"):
            return index + 1
    return len(lines)


def finish(lines: list[str], body_end: int, provenance: Provenance, keep_generated: bool, eol: str) -> str:
    """Put the marker in place of the old marker or block at ``body_end``; return the whole text.

    ``provenance.generated`` is updated unless ``keep_generated`` (a draft a human edited stays
    edited, so ``from-issue`` still refuses to overwrite it).
    """
    head = "".join(lines[:body_end])
    tail = "".join(lines[_provenance_span(lines, body_end) :])
    if not keep_generated:
        provenance.generated = digest((head + tail).replace("\r\n", "\n").rstrip("\n"))
    return head + provenance.marker().replace("\n", eol) + tail


def write_with_backup(path: Path, original: str, text: str, state: str) -> None:
    """Write the ``state`` file, then ``text`` atomically; a copy of the old draft stays beside it
    until that succeeded. Should the draft's write fail, the new state file is told apart from the
    draft left in place by the digest in its marker, and read as stale."""
    if read_text(path) != original:
        raise EditedDraftError(
            f"{path} changed while the section was being redrafted; nothing was written",
            hint="run redraft again",
        )
    backup = path.with_name(f"{path.name}.drafter-backup")
    try:
        shutil.copy2(path, backup)
    except OSError as exc:
        raise WriteError(
            f"cannot back up {path} to {backup}: {exc.strerror}", hint="check the folder's permissions"
        ) from None
    try:
        write_atomic(state_path(path), state)
        write_atomic(path, text)
    except WriteError as exc:
        raise WriteError(f"{exc.message}; the previous draft is kept at {backup}", hint=exc.hint) from None
    backup.unlink(missing_ok=True)
