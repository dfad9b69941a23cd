"""``drafter fetch SOURCE``: show exactly the context the model would be given.

The command is also how users save an issue for offline runs (``--format json`` output is a valid
SOURCE). httpx and the sources package are imported inside the command so ``drafter --help`` and
``drafter validate`` stay fast.
"""

from __future__ import annotations

import json
import os
from enum import StrEnum

import typer

from drafter.cli._app import app, emit


class OutputFormat(StrEnum):
    markdown = "markdown"
    json = "json"


@app.command("fetch")
def fetch(
    source: str = typer.Argument(
        ...,
        metavar="SOURCE",
        help=(
            "GitHub issue/PR URL or OWNER/REPO#N, GitLab issue/MR URL, Jira https://SITE/browse/KEY-1, "
            "a .md/.txt/.json file, or - for stdin."
        ),
    ),
    notes: list[str] = typer.Option(
        [], "--notes", help="The team's own notes (repeatable); trusted more than the thread."
    ),
    notes_file: list[str] = typer.Option(
        [], "--notes-file", help="Read notes from a UTF-8 file, or - for stdin (repeatable)."
    ),
    output_format: OutputFormat = typer.Option(
        OutputFormat.markdown, "--format", help="markdown for reading, json to save for offline runs."
    ),
    max_context: int = typer.Option(
        60_000,
        "--max-context",
        min=2_000,
        help="Character budget for the thread; the middle comments go first.",
    ),
    max_wait: float = typer.Option(
        60.0, "--max-wait", min=0.0, help="Longest total wait, in seconds, for tracker rate limits."
    ),
) -> None:
    """Fetch an issue or pull request and print the context drafter would use."""
    from drafter.errors import InputError
    from drafter.sources import SourceSettings, load_notes, load_source, render_context_markdown

    if source.strip() == "-" and "-" in notes_file:
        raise InputError(
            "SOURCE and --notes-file cannot both read standard input",
            hint="save one of them to a file",
        )
    settings = SourceSettings.from_env(
        os.environ,
        max_context=max_context,
        max_wait=max_wait,
        notify=lambda message: emit(f"drafter: {message}", err=True),
    )
    team_notes = load_notes(notes, notes_file)
    context = load_source(source, settings).with_notes(team_notes)
    if output_format is OutputFormat.json:
        emit(json.dumps(context.to_dict(), indent=2, ensure_ascii=False))
    else:
        emit(render_context_markdown(context).rstrip("\n"))
