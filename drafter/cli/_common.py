"""Options and steps shared by the commands that read an issue (fetch, from-issue, batch)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import typer

from drafter.cli._app import emit

if TYPE_CHECKING:
    from drafter.context import IssueContext

SOURCE_HELP = (
    "GitHub issue/PR URL or OWNER/REPO#N, GitLab issue/MR URL, Jira https://SITE/browse/KEY-1, "
    "a .md/.txt/.json file, or - for stdin."
)
NOTES = typer.Option([], "--notes", help="The team's own notes (repeatable); trusted more than the thread.")
NOTES_FILE = typer.Option(
    [], "--notes-file", help="Read notes from a UTF-8 file, or - for stdin (repeatable)."
)
MAX_CONTEXT = typer.Option(
    60_000, "--max-context", min=2_000, help="Character budget for the thread; the middle comments go first."
)
MAX_WAIT = typer.Option(
    60.0, "--max-wait", min=0.0, help="Longest total wait, in seconds, for tracker rate limits."
)
TEMPLATE = typer.Option(
    None,
    "--template",
    "-t",
    envvar="DRAFTER_TEMPLATE",
    help="Template name (see 'drafter templates list') or path [env: DRAFTER_TEMPLATE; default technical-design].",
    show_envvar=False,
)
MODEL = typer.Option(
    None,
    "--model",
    "-m",
    help="offline, openai:NAME or an OpenAI model name [env: DRAFTER_MODEL; default: gpt-4o-mini when "
    "OPENAI_API_KEY is set, else offline].",
)
BASE_URL = typer.Option(
    None, "--base-url", help="OpenAI-compatible server URL (Ollama, vLLM, llama.cpp) [env: OPENAI_BASE_URL]."
)


def load_context(
    source: str, notes: list[str], notes_file: list[str], max_context: int, max_wait: float
) -> IssueContext:
    """Fetch or read SOURCE and attach the notes, reporting rate-limit waits on stderr."""
    from drafter.errors import InputError
    from drafter.sources import SourceSettings, load_notes, load_source

    if source.strip() == "-" and "-" in notes_file:
        raise InputError(
            "SOURCE and --notes-file cannot both read standard input", hint="save one of them to a file"
        )
    settings = SourceSettings.from_env(
        os.environ,
        max_context=max_context,
        max_wait=max_wait,
        notify=lambda message: emit(f"drafter: {message}", err=True),
    )
    team_notes = load_notes(notes, notes_file)
    return load_source(source, settings).with_notes(team_notes)
