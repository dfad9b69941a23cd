"""Writing drafts: safe file names, atomic replacement, and never over a human's edits.

A draft is written to a temporary file in the target directory and moved into place with
``os.replace``, so a crash (even SIGKILL) leaves either the old file or the new one, never half of
one. Its state file (:mod:`drafter.document.provenance`) is written the same way just before it; a crash
between the two leaves a state file for the new text beside the old draft, which the hashes tell
apart (``stale``), so nothing reads the wrong state. An existing file is overwritten only when
drafter wrote it and nobody changed it since, as told by the hash in its marker; otherwise
``--force`` is required.

Only regular files are written or read as drafts. A FIFO, socket or device at the target (``--out
/dev/stdout``, a named pipe) is refused with :class:`~drafter.errors.WriteError` before anything is
opened: reading a FIFO blocks until a writer comes, and renaming over a device either fails or
replaces it, so neither can be written atomically. Standard output is asked for with ``--out -``.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from drafter.config import Settings
from drafter.config.redaction import redact
from drafter.document.provenance import (
    STATE_SUFFIX,
    StateStatus,
    digest,
    read_draft,
    split_provenance,
    state_path,
)
from drafter.errors import EditedDraftError, WriteError
from drafter.sources.context import IssueContext
from drafter.template.resources import DEFAULT_TEMPLATE, template_name

WriteStatus = Literal["written", "unchanged"]


def _slug(text: str, limit: int) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:limit].rstrip("-")


def slugify(text: str, limit: int = 48) -> str:
    """ASCII, lowercase, dash-separated; never empty, never a path."""
    return _slug(text, limit) or "draft"


def draft_filename(ctx: IssueContext, template: str | None = None, default: str = DEFAULT_TEMPLATE) -> str:
    """``<tracker>-<owner>-<repo>-<number>-<slug>[.<template>].md``, every part sanitised.

    Parts that sanitise to nothing (``../..``) are left out rather than named "draft".
    ``template`` is the name of the template the draft is made from; when it is not ``default``
    (the run's default template, :func:`default_template`) it becomes part of the name, so
    ``-t rfc`` and ``-t adr`` on one issue write two files. It goes after a dot because a slug
    never holds one: ``...-12-fix-the-rfc.md`` stays the default draft of an issue titled "Fix
    the RFC", never an RFC draft of "Fix the"; and the name still ends in ``.md`` and sorts
    beside the default draft.
    """
    parts = [ctx.tracker or "local"]
    if ctx.repo:
        parts.extend(ctx.repo.split("/"))
    if ctx.number:
        parts.append(ctx.number)
    parts.append(ctx.title)
    slugs = [slug for slug in (_slug(p, 40) for p in parts) if slug]
    tag = _slug(template, 40) if template and template != template_name(default) else ""
    return "-".join(slugs or ["draft"]) + (f".{tag}" if tag else "") + ".md"


def default_template(settings: Settings | None = None) -> str:
    """The name of the template a run uses when no ``--template`` flag is given: the one the
    environment or a config file names (resolved once with the settings), else the built-in."""
    configured = settings.default_template if settings is not None else None
    return template_name(configured or DEFAULT_TEMPLATE)


_KINDS = (
    (stat.S_ISFIFO, "a FIFO or pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def check_regular(path: Path, what: str, *, hint: str) -> bool:
    """True if ``path`` is a regular file, False if nothing is there; else a :class:`WriteError`.

    Decided by ``stat`` alone (symbolic links followed), so nothing is opened: a FIFO, socket or
    device (``/dev/stdout`` is one of them, or a pipe) is refused before it can block a command.
    ``what`` names the path in the message (``--out``, ``--trace``, ``output path``).
    """
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return False  # a missing file or folder is reported by whoever needs it
    except OSError as exc:
        raise WriteError(f"cannot use {what} {path}: {exc.strerror or exc}", hint=hint) from None
    if stat.S_ISREG(info.st_mode):
        return True
    if stat.S_ISDIR(info.st_mode):
        raise WriteError(f"{what} {path} is a directory", hint=hint)
    kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a file")
    raise WriteError(f"{what} {path} is {kind}, not a regular file", hint=hint)


@dataclass(frozen=True)
class Existing:
    """What is at the target path before writing; ``state`` as :class:`~drafter.document.provenance.Record`."""

    exists: bool
    edited: bool
    inputs_hash: str | None
    text: str = ""
    state: StateStatus = "none"
    # Section ids recorded as failed: the draft is partial (see drafter.drafting.compose.DraftResult).
    failed: tuple[str, ...] = ()
    template: str = ""


def inspect_target(path: Path) -> Existing:
    """Read the target (if any) and tell whether a human edited it and which inputs made it."""
    if not check_regular(
        path, "output path", hint="drafts are regular files: remove it or pick another path"
    ):
        return Existing(False, False, None)
    # The state file beside it is read too (read_draft): a FIFO there would block just the same.
    check_regular(state_path(path), "state file", hint="remove it; drafter writes it as a regular file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return Existing(True, True, None)
    record = read_draft(text, path)
    if record.provenance is None:
        return Existing(True, True, None, text)
    edited = digest(record.body.rstrip("\n")) != record.provenance.generated
    failed = tuple(record.provenance.failed)
    return Existing(
        True, edited, record.provenance.inputs, text, record.state, failed, record.provenance.template
    )


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and ``os.replace``; every file drafter
    writes goes through here, and through :func:`drafter.config.redaction.redact` on the way."""
    text = redact(text)
    check_regular(path, "output path", hint="remove it or write elsewhere")
    directory = path.parent
    if not directory.is_dir():
        raise WriteError(
            f"output directory {directory} does not exist",
            hint=f"create it (mkdir -p {directory}) or pick another",
        )
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise WriteError(
            f"cannot write in {directory}: {exc.strerror}",
            hint="check the directory's permissions or pick another",
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise WriteError(
            f"cannot write {path}: {exc.strerror}", hint="check the path and free disk space"
        ) from None


def check_target(path: Path, *, force: bool = False, template: str | None = None) -> Existing:
    """Fail early (before any model call) if ``path`` cannot or must not be written.

    ``template``: the name of the template the new draft is made from. An existing draft made
    from another one is not replaced without ``force`` either: it is a different document of the
    same issue (an ADR is not an older RFC), so replacing it loses work as surely as a human edit.
    """
    if path.name.endswith(STATE_SUFFIX):
        raise WriteError(
            f"{path.name} is named like a draft's state file (*{STATE_SUFFIX})",
            hint="give the draft a .md name",
        )
    existing = inspect_target(path)
    check_regular(state_path(path), "state file", hint="remove it; drafter writes it as a regular file")
    if existing.exists and existing.edited and not force:
        raise EditedDraftError(
            f"{path} was edited by a human (or not written by drafter); refusing to overwrite it",
            hint="pass --force to replace it, or --out to write elsewhere",
        )
    if existing.exists and template and existing.template and existing.template != template and not force:
        raise EditedDraftError(
            f"{path} is a draft from template '{existing.template}'; refusing to replace it with "
            f"one from template '{template}'",
            hint="pass --force to replace it, or --out to write elsewhere",
        )
    directory = path.parent
    if not directory.is_dir():
        raise WriteError(
            f"output directory {directory} does not exist",
            hint=f"create it (mkdir -p {directory}) or pick another",
        )
    if not os.access(directory, os.W_OK | os.X_OK):
        raise WriteError(f"cannot write in {directory}: permission denied", hint="pick a writable folder")
    return existing


def write_draft(path: Path, text: str, state: str | None = None, *, force: bool = False) -> WriteStatus:
    """Write a draft (and its ``state`` file's text) unless that would destroy human edits.

    Returns ``unchanged`` when both files already hold exactly this. A draft made from another
    template than ``text``'s marker names is not replaced without ``force`` (see :func:`check_target`):
    checked here too, so every flow that writes a draft (batch, eval) refuses it.
    """
    _, marker = split_provenance(text)
    existing = check_target(path, force=force, template=marker.template if marker is not None else None)
    state_file = state_path(path)
    same_state = state is None or _read(state_file) == state
    if existing.exists and existing.text == text and same_state:
        return "unchanged"
    if state is not None and not same_state:
        write_atomic(state_file, state)
    write_atomic(path, text)
    return "written"


def _read(path: Path) -> str | None:
    if not path.is_file():  # missing, or not a regular file: never opened (a FIFO would block)
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
