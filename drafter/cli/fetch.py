"""``drafter fetch SOURCE``: show exactly the context the model would be given.

The command is also how users save an issue for offline runs (``--format json`` output is a valid
SOURCE). httpx2 and the sources package are imported inside the command so ``drafter --help`` and
``drafter validate`` stay fast.
"""

from __future__ import annotations

import json
from enum import StrEnum

import typer

from drafter.cli._app import app, emit, examples
from drafter.cli._common import (
    MAX_CONTEXT,
    MAX_WAIT,
    NO_CACHE,
    NOTES,
    NOTES_FILE,
    SOURCE_HELP,
    load_context,
    resolved,
)


class OutputFormat(StrEnum):
    markdown = "markdown"
    json = "json"


@app.command(
    "fetch",
    epilog=examples(
        (
            "What the model would read: the thread distilled, with roles and facts",
            "drafter fetch brettwooldridge/HikariCP#664",
        ),
        (
            "Save it once, then draft from the file offline or again later",
            "drafter fetch brettwooldridge/HikariCP#664 -f json > issue.json",
        ),
    ),
)
def fetch(
    source: str = typer.Argument(..., metavar="SOURCE", help=SOURCE_HELP),
    notes: list[str] = NOTES,
    notes_file: list[str] = NOTES_FILE,
    output_format: OutputFormat = typer.Option(
        OutputFormat.markdown, "--format", "-f", help="markdown for reading, json to save for offline runs."
    ),
    max_context: int | None = MAX_CONTEXT,
    max_wait: float | None = MAX_WAIT,
    no_cache: bool | None = NO_CACHE,
) -> None:
    """Fetch an issue or pull request and print the distilled context drafter would use.

    The thread comes with each author's role (maintainer, reporter, participant) and date, the
    facts found in it (decisions, workarounds, errors, ...) with their sources, and what was
    dropped as noise (bot, "+1" and tool-generated comments, issue-template HTML comments).
    """
    from drafter.sources import render_context_markdown

    context = load_context(
        source, notes, notes_file, resolved(max_context=max_context, max_wait=max_wait, no_cache=no_cache)
    )
    if context.dropped:
        from drafter.sources.distill import noise_text

        emit(f"drafter: dropped {noise_text(context.dropped)} as noise", err=True)
    if output_format is OutputFormat.json:
        emit(json.dumps(context.to_dict(), indent=2, ensure_ascii=False))
    else:
        emit(render_context_markdown(context).rstrip("\n"))
