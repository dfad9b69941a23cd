"""``drafter from-issue``: the main job, one issue in, one validated draft out."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from drafter.cli._app import LiveStatus, app, emit, examples
from drafter.cli._common import (
    BASE_URL,
    DEADLINE,
    MAX_CONTEXT,
    MAX_WAIT,
    MODEL,
    NO_CACHE,
    NOTES,
    NOTES_FILE,
    SOURCE_HELP,
    TEMPLATE,
    TRACE,
    attach_tracer,
    refuse_terminal_stdin,
    resolved,
)
from drafter.errors import InputError

if TYPE_CHECKING:
    from drafter.pipeline import FromIssueOutcome
    from drafter.sources.context import IssueContext
    from drafter.template.outline import Outline


class DraftFormat(StrEnum):
    text = "text"
    json = "json"


@app.command(
    "from-issue",
    epilog=examples(
        (
            "An offline draft of the bundled example: no key, no network",
            "drafter from-issue examples/issue-hikaricp-664.json --model offline",
        ),
        (
            "A GitHub issue with the team's notes, as an RFC",
            "drafter from-issue brettwooldridge/HikariCP#664 -t rfc --notes 'Java 8 support stays'",
        ),
        (
            "Print the prompts and schemas instead of calling the model",
            "drafter from-issue https://github.com/brettwooldridge/HikariCP/issues/664 --dry-run",
        ),
    ),
)
def from_issue(
    source: str = typer.Argument(..., metavar="SOURCE", help=SOURCE_HELP),
    notes: list[str] = NOTES,
    notes_file: list[str] = NOTES_FILE,
    template: str | None = TEMPLATE,
    model: str | None = MODEL,
    base_url: str | None = BASE_URL,
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Write the draft to this file (a regular file), or - to print it on stdout with its marker "
        "and no state file.",
    ),
    out_dir: Path | None = typer.Option(
        None,
        "--out-dir",
        help="Folder for the draft, named <tracker>-<owner>-<repo>-<number>-<slug>.md "
        "[env: DRAFTER_OUT_DIR; config out_dir; default docs/design].",
        show_default=False,
    ),
    author: str | None = typer.Option(
        None,
        "--author",
        help="Author for the header [env: DRAFTER_AUTHOR; config author; default: git config user.name].",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite a draft even if a human edited it."),
    fmt: DraftFormat = typer.Option(DraftFormat.text, "--format", "-f", help="text, or json for machines."),
    max_context: int = MAX_CONTEXT,
    max_wait: float = MAX_WAIT,
    deadline: float | None = DEADLINE,
    no_cache: bool | None = NO_CACHE,
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Print the exact prompts and output schemas with token estimates; call no model.",
    ),
    trace: Path | None = TRACE,
    edit: bool = typer.Option(
        False, "--edit", help="Open the written draft in $VISUAL or $EDITOR when done."
    ),
) -> None:
    """Draft a design doc from an issue, validate it against the template, and write it.

    Exit 0 when a valid draft was written; 1 when it was written with validation findings or
    is partial (a section's answer stayed unusable; `redraft --failed` finishes it); 2 when nothing was written (bad input, or the target was edited by a human); 3 when the
    model or network failed after retries.
    """
    from drafter.pipeline import FromIssueRequest, prepare
    from drafter.pipeline import from_issue as run

    to_stdout = out is not None and str(out) == "-"
    if to_stdout and (fmt is DraftFormat.json and not dry_run or edit):
        raise InputError(
            "--out - prints the draft itself on stdout, so it cannot go with --format json or --edit",
            hint="pass --out FILE to get the JSON summary or to open the draft",
        )
    refuse_terminal_stdin(source, notes_file)
    settings = resolved(
        model=model,
        template=template,
        out_dir=out_dir,
        base_url=base_url,
        author=author,
        max_context=max_context,
        max_wait=max_wait,
        no_cache=no_cache,
        deadline=deadline,
    )
    editor = editor_command(settings.env) if edit and not dry_run else None
    request = FromIssueRequest(
        source,
        settings,
        tuple(notes),
        tuple(notes_file),
        out,
        force,
        on_handle=lambda handle: attach_tracer(handle, trace, settings),
        notify=lambda message: emit(f"drafter: {message}", err=True),
    )
    if dry_run:
        prepared = prepare(request)
        print_dry_run(prepared.ctx, prepared.outline, prepared.choice.spec, fmt)
        return
    with LiveStatus(f"drafting {source}") as live:
        outcome = run(replace(request, on_event=live.update, on_handle=live.attach(request.on_handle)))
    _report(outcome, fmt, settings.template)
    if editor is not None and outcome.path is not None:
        open_in_editor(editor, outcome.path)
    raise typer.Exit(outcome.exit_code)


def _report(outcome: FromIssueOutcome, fmt: DraftFormat, template: str | None) -> None:
    """Print a finished from-issue: the path (or the draft itself) on stdout, the rest on stderr."""
    result, path = outcome.result, outcome.path
    if path is None:
        emit(result.text.rstrip("\n"))  # --out -: the draft with its marker is all of stdout
    if fmt is DraftFormat.json:
        emit(json.dumps(outcome.to_dict(), indent=2))
        return
    if path is not None:
        emit(str(path))
    usage = result.usage
    detail = f"model {result.model}"
    if usage["calls"]:
        detail += f", {usage['calls']} calls, {usage['prompt_tokens']}+{usage['completion_tokens']} tokens"
        detail += f", ~${outcome.cost:.4f} estimated" if outcome.cost is not None else ""
    errors = [f for f in result.report.findings if f.severity == "error"]
    warnings = len(result.report.findings) - len(errors)
    done = "written to stdout" if path is None else outcome.status
    done += ", partial" if result.failed else ""
    emit(f"drafter: {done} ({detail}); {len(errors)} errors, {warnings} warnings", err=True)
    where = "<stdout>" if path is None else str(path)
    for finding in errors:
        emit(f"{where}:{finding.line}: error [{finding.rule}] {finding.message}", err=True)
    if result.failed:
        finish = (
            "run it again (or use --out FILE, then drafter redraft FILE --failed)"
            if path is None
            else f"finish them with: drafter redraft {path} --failed{_template_flag(template)}"
        )
        emit(
            f"drafter: partial draft: {len(result.failed)} section(s) had no usable answer after "
            f"retries ({', '.join(result.failed)}); {finish}",
            err=True,
        )
    elif result.fallbacks:
        emit("drafter: sections left as TODO by the model: " + ", ".join(result.fallbacks), err=True)


def _template_flag(template: str | None) -> str:
    """`` --template PATH`` when the draft's template is a file a later command cannot find by name."""
    if template and ("/" in template or "\\" in template or template.endswith(".md")):
        return f" --template {template}"
    return ""


def editor_command(env: Mapping[str, str]) -> str:
    """``$VISUAL`` or ``$EDITOR`` as written (``code --wait`` included); an InputError when neither
    is set, rather than click's fallback to vi on a machine that may have no terminal."""
    for name in ("VISUAL", "EDITOR"):
        value = env.get(name, "").strip()
        if value:
            return value
    raise InputError("--edit needs an editor", hint="set VISUAL or EDITOR, e.g. export EDITOR=vim")


def open_in_editor(command: str, path: Path) -> None:
    """Open ``path`` in the editor and wait; a failing editor is reported, not fatal.

    ``click.edit`` runs the command through the shell as git does, so quoting and arguments in
    ``$EDITOR`` mean what they mean to git.
    """
    import click

    try:
        click.edit(filename=str(path), editor=command)
    except click.ClickException as exc:
        emit(f"drafter: the editor failed: {exc.format_message()}", err=True)


def print_dry_run(
    ctx: IssueContext, outline: Outline, model: str, fmt: DraftFormat, chains: set[str] | None = None
) -> None:
    """Print what each chain (or only ``chains``) would send; shared by from-issue, batch and redraft."""
    from drafter.drafting.chains import ChainRunner
    from drafter.template.prompts import Prompts

    # Every model but the offline drafter is reached through an OpenAI-compatible server, which
    # is sent the JSON schema itself (see drafter.model.openai).
    plans = ChainRunner(outline, ctx, None, Prompts()).dry_run(native_schema=model != "offline")
    if chains is not None:
        plans = [p for p in plans if p["chain"] in chains]
    if fmt is DraftFormat.json:
        emit(json.dumps({"model": model, "chains": plans}, indent=2, ensure_ascii=False))
        return
    total = sum(p["estimated_prompt_tokens"] for p in plans)
    for plan in plans:
        after = f" (after {', '.join(plan['depends_on'])})" if plan["depends_on"] else ""
        emit(f"===== chain {plan['chain']}{after}: ~{plan['estimated_prompt_tokens']} prompt tokens =====")
        for message in plan["messages"]:
            emit(f"----- {message['role']} -----\n{message['content']}")
        emit(f"----- output schema -----\n{json.dumps(plan['output_schema'], indent=2)}")
    note = " (the offline drafter sends none of these)" if model == "offline" else ""
    emit(f"drafter: dry run, no model called; ~{total} prompt tokens in {len(plans)} calls{note}", err=True)
