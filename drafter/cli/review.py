"""``drafter review``, ``drafter redraft`` and ``drafter status``: working on drafts people edit."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from drafter.cli._app import app, emit, examples, fail_usage
from drafter.cli._common import (
    BASE_URL,
    MAX_CONTEXT,
    MAX_WAIT,
    MODEL,
    NO_CACHE,
    NOTES,
    NOTES_FILE,
    TEMPLATE,
    TRACE,
    attach_tracer,
    load_context,
    resolved,
)
from drafter.cli.validate import gh_escape
from drafter.errors import EXIT_FINDINGS, EXIT_OK, DrafterError, InputError

if TYPE_CHECKING:
    from drafter.config import Settings
    from drafter.sources.context import IssueContext
    from drafter.template.outline import Outline


class ReviewFormat(StrEnum):
    text = "text"
    json = "json"
    github = "github"
    markdown = "markdown"
    html = "html"


class FailOn(StrEnum):
    error = "error"
    warning = "warning"


class StatusFormat(StrEnum):
    text = "text"
    json = "json"


SOURCE_OVERRIDE = typer.Option(
    None, "--source", help="Issue to compare with, instead of the SOURCE recorded in the draft's provenance."
)


def _read(path: Path) -> str:
    """A draft's text; a FIFO, device or folder is refused by ``stat`` before anything is opened."""
    from drafter.template.documents import read_text_file

    return read_text_file(path, "draft")


def _outline(text: str, template: str | None, configured: str | None = None) -> Outline:
    """``template`` if given, else the template the draft names (a known one only, or the
    config's ``configured`` template), else the default."""
    from drafter.document.provenance import split_provenance
    from drafter.template.outline import load_outline
    from drafter.template.validate import template_marker

    if template:
        return load_outline(template)
    _, provenance = split_provenance(text)
    recorded = (provenance.template if provenance else None) or template_marker(text)
    if not recorded:
        return load_outline(None)
    # Named by the document itself: only a template the project knows (see marker_template).
    from drafter.template.resources import marker_template

    return load_outline(marker_template(recorded, configured=configured))


def _explicit_template(template: str | None, settings: Settings) -> str | None:
    """--template or DRAFTER_TEMPLATE; a config-file template does not override a draft's own."""
    if template is not None:
        return template
    return settings.template if settings.origin("template").startswith("env ") else None


def _inputs(
    path: Path, text: str, source: str | None, settings: Settings, *, remote: bool = True
) -> IssueContext | None:
    """The draft's issue as it is now: from --source, else the SOURCE its state records.

    With ``remote`` False a tracker is not asked (the review page without --drift): only an
    issue file is read, for the checks against the inputs.
    """
    from drafter.document.provenance import read_draft, recorded_source

    provenance = read_draft(text, path).provenance
    recorded = provenance.source_spec if provenance else ""
    spec = source or recorded_source(recorded, path)
    if not remote and spec and ("://" in spec or "#" in spec) and not Path(spec).is_file():
        return None
    if not source and recorded and "://" not in spec and not Path(spec).is_file() and "#" not in spec:
        # A local issue file that is not where the draft's state says (kept outside the
        # repository, say): report what can be told without the issue, and say how to give it.
        emit(
            f"drafter: {path}: the issue file {recorded!r} was not found, so the issue was not "
            "compared; pass --source with the issue's file or URL",
            err=True,
        )
        return None
    return load_context(spec, [], [], settings) if spec else None


@app.command(
    epilog=examples(
        ("Structure and content of every draft", "drafter review docs/design/*.md"),
        (
            "Inline annotations on a pull request, failing on warnings too",
            "drafter review docs/design/*.md -f github --fail-on warning",
        ),
        (
            "Without a model: the deterministic checks only",
            "drafter review docs/design/*.md --model offline",
        ),
        (
            "One HTML page: every draft of a folder beside its sources, stale ones marked",
            "drafter review docs/design --model offline --format html --out review.html --drift",
        ),
    ),
)
def review(
    paths: list[Path] = typer.Argument(
        ..., help="Drafts to review; a folder means every draft in it.", show_default=False
    ),
    fmt: ReviewFormat = typer.Option(
        ReviewFormat.text,
        "--format",
        "-f",
        help="text, json, github (annotations), markdown (PR comment) or html (one self-contained page).",
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write the report to this file instead of stdout.", show_default=False
    ),
    drift: bool = typer.Option(
        False,
        "--drift",
        help="Also re-fetch each thread and mark drafts whose issue changed since (html: 'stale').",
    ),
    fail_on: FailOn = typer.Option(
        FailOn.error, "--fail-on", help="Exit 1 when findings at or above this exist."
    ),
    model: str | None = MODEL,
    base_url: str | None = BASE_URL,
    template: str | None = TEMPLATE,
    source: str | None = SOURCE_OVERRIDE,
    max_context: int | None = MAX_CONTEXT,
    max_wait: float | None = MAX_WAIT,
    no_cache: bool | None = NO_CACHE,
    trace: Path | None = TRACE,
) -> None:
    """Review drafts: structure, deterministic content checks, then a review chain against a rubric.

    With --model offline only the deterministic checks run (structure, TODOs, empty and near-empty
    sections, length budgets, references not in the inputs). Exit 0 when no finding reaches
    --fail-on, 1 when one does, 2 on bad input, 3 when the model failed.
    """
    from drafter.model.choice import OFFLINE, choose_model
    from drafter.model.openai import build_handle
    from drafter.revise.page import build_page, draft_view, expand_drafts
    from drafter.revise.review import format_markdown, format_text, review_text
    from drafter.revise.status import draft_status

    config = resolved(
        model=model, base_url=base_url, max_context=max_context, max_wait=max_wait, no_cache=no_cache
    )
    if out is not None:
        from drafter.document.writer import check_regular

        check_regular(out, "--out", hint="name a regular file")  # refused before any model call
    choice = choose_model(config)
    handle = None if choice.provider == OFFLINE else build_handle(choice)
    attach_tracer(handle, trace, config)
    template = _explicit_template(template, config)
    reports = []
    views = []
    drafts = expand_drafts(paths)
    for number, path in enumerate(drafts, start=1):
        if len(drafts) > 1 and (handle is not None or drift):  # slow work: a model or a tracker
            emit(f"drafter: reviewing {number}/{len(drafts)}: {path}", err=True)
        text = _read(path)
        outline = _outline(text, template, config.template)
        page = fmt is ReviewFormat.html
        try:
            ctx = _inputs(path, text, source, config, remote=drift or not page)
        except DrafterError as exc:
            if not page:
                raise
            ctx = None  # one unreachable thread does not cost the page of every other draft
            problem = f"the issue could not be read, so it was not compared: {exc.message}"
        else:
            problem = ""
        report = review_text(text, outline, path=str(path), ctx=ctx, handle=handle)
        if problem:
            report.notes.append(problem)
        reports.append(report)
        if fmt is ReviewFormat.html:
            status = draft_status(text, outline, ctx if drift else None, path=str(path))
            views.append(draft_view(number, str(path), text, outline, report, status, prices=config.prices))
        elif drift and ctx is not None:
            changed = draft_status(text, outline, ctx, path=str(path)).lines()
            report.notes.extend(line.split(": drift: ", 1)[1] for line in changed if ": drift: " in line)

    def show(text: str) -> None:
        if out is None:
            emit(text)
        else:
            from drafter.batch.reports import write_report

            write_report(out, text + "\n")
            emit(str(out))

    if fmt is ReviewFormat.html:
        show(build_page(views, drift_checked=drift).rstrip("\n"))
    elif fmt is ReviewFormat.json:
        show(json.dumps([r.to_dict() for r in reports], indent=2))
    elif fmt is ReviewFormat.markdown:
        show(format_markdown(reports).rstrip("\n"))
    elif fmt is ReviewFormat.github:
        lines = []
        for report in reports:
            file = gh_escape(report.path, prop=True)
            for f in report.findings:
                title = gh_escape(f"drafter {f.rule}", prop=True)
                lines.append(
                    f"::{f.severity} file={file},line={f.line},title={title}::"
                    + gh_escape(
                        f"{f.section}: {f.message} Fix: {f.fix}" if f.section else f"{f.message} Fix: {f.fix}"
                    )
                )
            lines.extend(f"::notice file={file}::{gh_escape(note)}" for note in report.notes)
        if lines or out is not None:
            show("\n".join(lines))
    else:
        lines = [line for report in reports for line in format_text(report)]
        if lines or out is not None:
            show("\n".join(lines))
        errors = sum(f.severity == "error" for r in reports for f in r.findings)
        warnings = sum(len(r.findings) for r in reports) - errors
        emit(f"{len(reports)} draft(s) reviewed: {errors} errors, {warnings} warnings", err=True)
    failed = any(r.failed(fail_on.value) for r in reports)
    raise typer.Exit(EXIT_FINDINGS if failed else EXIT_OK)


@app.command(
    epilog=examples(
        (
            "Regenerate one section; edits elsewhere in the file are kept",
            "drafter redraft docs/design/DRAFT.md --section Risks",
        ),
        (
            "Every subsection of section 4, one model call per chain",
            "drafter redraft docs/design/DRAFT.md --section 4",
        ),
        (
            "Finish a partial draft: only the sections that failed",
            "drafter redraft docs/design/DRAFT.md --failed",
        ),
        ("See the prompt first, call nothing", "drafter redraft docs/design/DRAFT.md -s 2.1 --dry-run"),
    ),
)
def redraft(
    path: Path = typer.Argument(..., help="A draft written by 'drafter from-issue'.", show_default=False),
    section: str | None = typer.Option(
        None,
        "--section",
        "-s",
        help="Section to regenerate: heading title or number; a section whose body is only "
        "sub-headings regenerates all of them.",
    ),
    failed: bool = typer.Option(
        False,
        "--failed",
        help="Regenerate every section recorded as failed (a partial draft), each chain once.",
    ),
    template: str | None = typer.Option(
        None,
        "--template",
        "-t",
        help="The template file the draft was made with, when it is not a built-in or in "
        ".drafter/templates/ [env: DRAFTER_TEMPLATE].",
        envvar="DRAFTER_TEMPLATE",
    ),
    notes: list[str] = NOTES,
    notes_file: list[str] = NOTES_FILE,
    model: str | None = MODEL,
    base_url: str | None = BASE_URL,
    source: str | None = SOURCE_OVERRIDE,
    keep_edits: bool = typer.Option(
        False, "--keep-edits", help="Leave the section alone if a human edited it."
    ),
    max_context: int | None = MAX_CONTEXT,
    max_wait: float | None = MAX_WAIT,
    no_cache: bool | None = NO_CACHE,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print the prompts of the chains that own the section(s); call no model."
    ),
    trace: Path | None = TRACE,
) -> None:
    """Regenerate one section (or every subsection of a parent) from the current issue; every
    other section stays byte for byte.

    A section a human edited is merged three ways (what drafter generated, your text, the new
    draft); overlapping changes get conflict markers and exit 1. With --failed, the sections a
    partial draft records as failed are redrafted (one a human has filled in since is kept), and
    a section whose answer is unusable again stays a TODO with exit 1. Exit 0 when the section
    was regenerated, merged or kept; 2 on bad input; 3 when the model failed.
    """
    from drafter.document.provenance import recorded_source
    from drafter.model.choice import OFFLINE, choose_model
    from drafter.model.openai import build_handle
    from drafter.revise.redraft import RedraftOptions
    from drafter.revise.redraft import redraft as run_redraft

    config = resolved(
        model=model, base_url=base_url, max_context=max_context, max_wait=max_wait, no_cache=no_cache
    )
    choice = choose_model(config)

    def load(spec: str) -> IssueContext:
        where = spec if source else recorded_source(spec, path)
        if not source and "://" not in where and "#" not in where and not Path(where).is_file():
            raise InputError(
                f"the issue file {spec!r} that {path.name} was drafted from was not found",
                hint="pass --source with the issue's file or URL",
            )
        return load_context(where, notes, notes_file, config)

    if (section is None) == (not failed):
        raise fail_usage("give one of --section NAME or --failed")
    if failed:
        from drafter.revise.redraft import failed_sections

        names = failed_sections(path)
        if not names:
            emit(str(path))
            emit(f"drafter: {path} records no failed sections; nothing to redraft", err=True)
            raise typer.Exit(EXIT_OK)
    else:
        assert section is not None
        names = [section]
    if dry_run:
        _redraft_dry_run(
            path, names, source, choice.spec, load, _outline(_read(path), template, config.template)
        )
        return
    handle = None if choice.provider == OFFLINE else build_handle(choice)
    attach_tracer(handle, trace, config)
    options = RedraftOptions(
        section=names[0],
        model=choice,
        handle=handle,
        keep_edits=keep_edits,
        source=source,
        template=template,
    )
    from drafter.document.locks import draft_lock_sync

    waiting = f"drafter: {path.name}: waiting for another drafter run (pid {{}}) writing it"
    # The same lock as from-issue and batch: a batch repairing this draft finishes first.
    with draft_lock_sync(path, lambda pid: emit(waiting.format(pid or "?"), err=True)):
        if failed:
            from drafter.model.loop import run_sync
            from drafter.revise.redraft import redraft_sections

            work = redraft_sections(path, names, options, load, lenient=True)
            run = run_sync(work, lambda: [options.handle])
            results, usage = run.results, run.usage
        else:
            one = run_redraft(path, options, load)
            results, usage = [one], one.usage
    emit(str(path))
    if usage.get("calls"):
        from drafter.cli._common import cost_text

        cost = cost_text(handle.name if handle is not None else choice.spec, usage, config)
        emit(
            f"drafter: {usage['calls']} model calls, {usage['prompt_tokens']}+{usage['completion_tokens']} "
            f"tokens" + (f", {cost} estimated" if cost else ""),
            err=True,
        )
    for warning in results[0].warnings if results else []:
        emit(f"drafter: warning: {warning}", err=True)
    for result in results:
        emit(f"drafter: {result.message()}", err=True)
    bad = any(result.status in ("conflict", "failed") for result in results)
    raise typer.Exit(EXIT_FINDINGS if bad else EXIT_OK)


def _redraft_dry_run(
    path: Path,
    sections: list[str],
    source: str | None,
    model: str,
    load: Callable[[str], IssueContext],
    outline: Outline,
) -> None:
    """``redraft --dry-run``: the prompts of the chains that own SECTIONS, as from-issue prints them."""
    from drafter.cli.from_issue import DraftFormat, print_dry_run
    from drafter.document.provenance import read_draft
    from drafter.drafting.chains import plan
    from drafter.revise.redraft import sections_for

    text = _read(path)
    targets = [s for name in sections for s in sections_for(outline, name)]
    provenance = read_draft(text, path).provenance
    spec = source or (provenance.source_spec if provenance else "")
    if not spec:
        raise InputError(
            f"{path} records no SOURCE to draft from", hint="pass --source ISSUE (URL, OWNER/REPO#N or file)"
        )
    owners = {c.name for c in plan(outline) for target in targets if target in c.sections.values()}
    print_dry_run(load(spec), outline, model, DraftFormat.text, chains=owners)


@app.command(
    epilog=examples(
        ("What humans edited, and what the thread gained since drafting", "drafter status docs/design/*.md"),
        ("The same for a script", "drafter status docs/design/*.md -f json"),
    ),
)
def status(
    paths: list[Path] = typer.Argument(..., help="Drafts to check.", show_default=False),
    fmt: StatusFormat = typer.Option(StatusFormat.text, "--format", "-f", help="text, or json for machines."),
    template: str | None = TEMPLATE,
    source: str | None = SOURCE_OVERRIDE,
    max_context: int | None = MAX_CONTEXT,
    max_wait: float | None = MAX_WAIT,
    no_cache: bool | None = NO_CACHE,
) -> None:
    """Report human-edited sections and the issue's new or edited comments since each draft was made.

    The issue is re-fetched from the SOURCE recorded in the draft. Exit 1 when any draft has
    drifted (for scheduled CI checks), 0 otherwise, 2 on bad input.
    """
    from drafter.revise.status import draft_status

    config = resolved(
        max_context=max_context, max_wait=max_wait, no_cache=no_cache
    )  # once, not once per draft
    template = _explicit_template(template, config)
    reports = []
    for path in paths:
        text = _read(path)
        reports.append(
            draft_status(
                text,
                _outline(text, template, config.template),
                _inputs(path, text, source, config),
                path=str(path),
            )
        )
    if fmt is StatusFormat.json:
        emit(json.dumps([r.to_dict() for r in reports], indent=2))
    else:
        emit("\n".join(line for r in reports for line in r.lines()))
    raise typer.Exit(EXIT_FINDINGS if any(r.drifted for r in reports) else EXIT_OK)
