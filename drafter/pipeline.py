"""``from-issue`` as a library call: fetch -> draft -> render -> validate -> stamp -> write.

Usage::

    settings = resolve_settings({}, os.environ)
    outcome = from_issue(FromIssueRequest("examples/issue-hikaricp-664.json", settings))
    print(outcome.path, outcome.result.report.valid())

:func:`from_issue` owns the whole flow of one issue: the model chosen from the settings, the
template, the issue fetched with the team's notes, then :func:`draft_to` under the draft's lock
after the target was checked once. :func:`draft_to` (draft in memory with
:mod:`drafter.drafting.compose`, then write the draft and its state file) is the one step that
``from-issue``, ``batch`` and ``eval`` share; ``redraft`` and a batch's repair of a partial draft
splice sections into an existing file instead (:mod:`drafter.revise.repair`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drafter.config import Settings
from drafter.document.provenance import record_source
from drafter.document.writer import WriteStatus, default_template, draft_filename, write_draft
from drafter.drafting.compose import (
    OFFLINE_NOTICE,
    PROMPT_NAMES,
    DraftOptions,
    DraftResult,
    Events,
    assemble_draft,
    draft,
    draft_async,
    draft_model_name,
    expected_inputs_hash,
    expected_inputs_hash_of,
    previous_markdown,
    prompt_versions,
)
from drafter.errors import InputError
from drafter.model.choice import OFFLINE, ModelChoice
from drafter.model.loop import run_sync
from drafter.sources.context import IssueContext
from drafter.template.outline import Outline

if TYPE_CHECKING:
    from drafter.model.handle import ModelHandle

__all__ = [
    "OFFLINE_NOTICE",
    "PROMPT_NAMES",
    "DraftOptions",
    "DraftResult",
    "FromIssueOutcome",
    "FromIssueRequest",
    "Prepared",
    "assemble_draft",
    "draft",
    "draft_async",
    "draft_model_name",
    "draft_to",
    "expected_inputs_hash",
    "expected_inputs_hash_of",
    "from_issue",
    "prepare",
    "previous_markdown",
    "prompt_versions",
    "result_summary",
    "target_path",
    "write_result",
]


def target_path(
    ctx: IssueContext,
    out: Path | None,
    out_dir: Path,
    template: str | None = None,
    settings: Settings | None = None,
) -> Path:
    """``--out`` if given, else ``--out-dir`` / the sanitised draft file name, which names
    ``template`` when it is not the default one (:func:`drafter.document.writer.draft_filename`)."""
    return out if out is not None else out_dir / draft_filename(ctx, template, default_template(settings))


def write_result(result: DraftResult, path: Path, *, force: bool = False) -> WriteStatus:
    """Write a finished draft and its state file atomically, refusing to overwrite human edits
    without ``force``."""
    provenance = result.provenance
    state = (provenance.stamped or provenance.state_json()) if provenance is not None else None
    return write_draft(path, result.text, state, force=force)


async def draft_to(
    ctx: IssueContext,
    outline: Outline,
    options: DraftOptions,
    path: Path,
    *,
    source: str,
    force: bool = False,
    before_write: Callable[[], None] | None = None,
) -> tuple[DraftResult, WriteStatus]:
    """Draft ``ctx`` and write it to ``path`` with its state file: the step every flow shares.

    ``source`` is the SOURCE as given, recorded in the state file (relative to the repository) so
    ``redraft`` and ``status`` can fetch the thread again. ``before_write`` runs between drafting
    and writing, and may raise to keep the file as it is (a batch item superseded meanwhile).
    The caller holds the draft's lock and has checked the target.
    """
    options = replace(options, source_spec=record_source(source, path))
    result = await draft_async(ctx, outline, options)
    if before_write is not None:
        before_write()
    status = await asyncio.to_thread(write_result, result, path, force=force)
    return result, status


def result_summary(result: DraftResult, path: Path | None, status: str) -> dict[str, Any]:
    """The ``--format json`` object of ``from-issue``."""
    return {
        "path": str(path) if path else None,
        "status": status,
        "valid": result.report.valid(),
        "findings": [f.to_dict() for f in result.report.findings],
        "model": result.model,
        "usage": result.usage,
        "fallbacks": result.fallbacks,
        "partial": bool(result.failed),
        "failed_sections": result.failed,
        "seconds": round(result.seconds, 3),
    }


# -- the whole flow of one issue ---------------------------------------------------------------------
@dataclass
class FromIssueRequest:
    """One ``from-issue`` run: the issue, the resolved settings, and where the draft goes.

    ``out`` is a file, ``Path("-")`` for standard output (no file, no state file), or ``None``
    for ``settings.out_dir`` / the draft's own name. ``handle`` is a ready model handle (tests);
    ``on_handle`` sees the handle built for the run, or None offline (the CLI attaches its tracer).
    ``notify`` gets messages for the user: a rate-limit wait, a lock being waited for, the
    offline default.
    """

    source: str
    settings: Settings
    notes: tuple[str, ...] = ()
    notes_files: tuple[str, ...] = ()
    out: Path | None = None
    force: bool = False
    handle: ModelHandle | None = None
    on_handle: Callable[[ModelHandle | None], None] | None = None
    on_event: Events | None = None
    notify: Callable[[str], None] | None = None

    @property
    def to_stdout(self) -> bool:
        return self.out is not None and str(self.out) == "-"

    def say(self, message: str) -> None:
        if self.notify is not None:
            self.notify(message)


@dataclass
class Prepared:
    """What a run drafts from: the model, the template and the issue with the team's notes."""

    choice: ModelChoice
    outline: Outline
    ctx: IssueContext


@dataclass
class FromIssueOutcome:
    """A finished ``from-issue``: the draft, where it went (``None``: stdout) and its write status."""

    result: DraftResult
    path: Path | None
    status: str
    cost: float | None = None

    @property
    def exit_code(self) -> int:
        """0 for a valid, complete draft; 1 when it has validation errors or is partial."""
        return 0 if self.result.report.valid() and not self.result.failed else 1

    def to_dict(self) -> dict[str, Any]:
        """The ``--format json`` object of ``from-issue``."""
        summary = result_summary(self.result, self.path, self.status)
        summary["estimated_cost_usd"] = round(self.cost, 4) if self.cost is not None else None
        return summary


def prepare(request: FromIssueRequest) -> Prepared:
    """Choose the model, load the template, fetch the issue and attach the notes; no model call."""
    from drafter.document.writer import check_regular
    from drafter.model.choice import choose_model
    from drafter.sources import SourceSettings, load_notes, load_source
    from drafter.template.outline import load_outline

    if request.out is not None and not request.to_stdout:
        if request.out.is_dir():
            raise InputError(
                f"--out {request.out} is a directory", hint="use --out-dir for a folder, or name a file"
            )
        # A FIFO or device (/dev/stdout) is refused before anything is fetched, drafted or opened.
        check_regular(
            request.out, "--out", hint="name a regular file, or pass --out - to print the draft on stdout"
        )
    if request.source.strip() == "-" and "-" in request.notes_files:
        raise InputError(
            "SOURCE and --notes-file cannot both read standard input", hint="save one of them to a file"
        )
    settings = request.settings
    choice = choose_model(settings)
    outline = load_outline(settings.template)
    sources = SourceSettings.from_settings(settings, notify=request.notify)
    notes = load_notes(list(request.notes), list(request.notes_files))
    return Prepared(choice, outline, load_source(request.source, sources).with_notes(notes))


def from_issue(request: FromIssueRequest, prepared: Prepared | None = None) -> FromIssueOutcome:
    """Draft one issue and write it (or print it): the whole ``from-issue``, as a library call."""
    from drafter.config import git_author
    from drafter.document.locks import draft_lock_sync
    from drafter.document.writer import check_target
    from drafter.model.pricing import estimate_cost

    prepared = prepared or prepare(request)
    choice, outline, ctx = prepared.choice, prepared.outline, prepared.ctx
    settings = request.settings
    offline = choice.provider == OFFLINE and request.handle is None
    if choice.defaulted and offline:
        request.say("no model configured (set OPENAI_API_KEY or --model); writing an offline draft")
    handle = request.handle
    if handle is None and not offline:
        from drafter.model.openai import build_handle

        handle = build_handle(choice)
    if request.on_handle is not None:
        request.on_handle(handle)
    options = DraftOptions(
        model=choice,
        handle=handle,
        author=settings.author or git_author(),
        on_event=request.on_event,
        deadline=settings.deadline,
    )
    path: Path | None = None
    if request.to_stdout:
        result, status = draft(ctx, outline, options), "stdout"
    else:
        if request.out is None and not settings.out_dir.exists():
            try:
                settings.out_dir.mkdir(parents=True)
            except OSError as exc:
                raise InputError(
                    f"cannot create --out-dir {settings.out_dir}: {exc.strerror}",
                    hint="pick a writable folder",
                ) from None
        path = target_path(ctx, request.out, settings.out_dir, outline.name, settings)
        waiting = f"{path.name}: waiting for another drafter run (pid {{}}) drafting it"
        # Held from the check to the write, so a concurrent run never drafts the same file too.
        with draft_lock_sync(path, lambda pid: request.say(waiting.format(pid or "?"))):
            check_target(path, force=request.force, template=outline.name)  # before any model call
            job = draft_to(ctx, outline, options, path, source=request.source, force=request.force)
            result, status = run_sync(job, lambda: [options.handle])
    usage = result.usage
    cost = estimate_cost(
        result.model, usage["prompt_tokens"], usage["completion_tokens"], prices=settings.prices
    )
    return FromIssueOutcome(result, path, status, cost if usage["calls"] else None)
