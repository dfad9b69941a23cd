"""Options and steps shared by the commands that read an issue (fetch, from-issue, batch)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from drafter.cli._app import emit

if TYPE_CHECKING:
    from drafter.config import Settings
    from drafter.sources.context import IssueContext


class TextOrJson(StrEnum):
    """``-f/--format`` of the listing commands: a table for people, JSON for machines."""

    text = "text"
    json = "json"


FORMAT = typer.Option(TextOrJson.text, "--format", "-f", help="text, or json for machines.")

NO_CACHE = typer.Option(
    None,
    "--no-cache",
    help="Fetch every tracker answer in full: no conditional requests from the user cache folder "
    "[env: DRAFTER_NO_CACHE; config no_cache].",
    show_default=False,
)

SOURCE_HELP = (
    "GitHub issue/PR URL or OWNER/REPO#N, GitLab issue/MR URL, Jira https://SITE/browse/KEY-1, "
    "a .md/.txt/.json file, or - for stdin."
)
NOTES = typer.Option([], "--notes", help="The team's own notes (repeatable); trusted more than the thread.")
NOTES_FILE = typer.Option(
    [], "--notes-file", help="Read notes from a UTF-8 file, or - for stdin (repeatable)."
)
MAX_CONTEXT = typer.Option(
    None,
    "--max-context",
    min=2_000,
    help="Character budget for the thread; the middle comments go first "
    "[env: DRAFTER_MAX_CONTEXT; config max_context; default 60000].",
    show_default=False,
)


def finite(value: float | None) -> float | None:
    """A Typer callback: ``nan`` and ``inf`` parse as floats, but no setting means them."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"must be a finite number, got {value}")
    return value


DEADLINE = typer.Option(
    None,
    "--deadline",
    min=0.0,
    callback=finite,
    help="Seconds for the model's part of each draft; chains still running then stop and the draft is "
    "written as partial (exit 1), which a re-run finishes [env: DRAFTER_DEADLINE; config deadline].",
    show_default=False,
)


MAX_WAIT = typer.Option(
    None,
    "--max-wait",
    min=0.0,
    callback=finite,
    help="Longest total wait, in seconds, for tracker rate limits "
    "[env: DRAFTER_MAX_WAIT; config max_wait; default 60].",
    show_default=False,
)
TEMPLATE = typer.Option(
    None,
    "--template",
    "-t",
    help="Template name (see 'drafter templates list') or path [env: DRAFTER_TEMPLATE; config template; "
    "default technical-design].",
)
TRACE = typer.Option(
    None,
    "--trace",
    help="Append one JSON line per model call (chain, messages, response, usage, latency) to this "
    "file, secrets redacted.",
    dir_okay=False,
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


def resolved(**flags: Any) -> Settings:
    """The effective settings for this command: the given flags (None = not given) > env > file."""
    from drafter.config import resolve_settings, user_config_file

    return resolve_settings(flags, os.environ, user_config=user_config_file(os.environ))


def attach_tracer(handle: Any, trace: Path | None, settings: Settings) -> None:
    """Send every model call of ``handle`` to ``--trace`` and, with ``--verbose``, to stderr."""
    from drafter.cli._app import OUTPUT

    hooks: list[Callable[[dict[str, Any]], None]] = []
    if trace is not None:
        from drafter.document.writer import check_regular
        from drafter.model.trace import Tracer

        # Appending to a FIFO blocks until a reader comes: refuse it (and any device) up front.
        check_regular(trace, "--trace", hint="name a regular file; --verbose prints each call on stderr")

        hooks.append(Tracer(trace, settings.secret_values()))
    if OUTPUT.verbose:
        hooks.append(_verbose_call)
    if handle is None or not hooks:
        return

    def tracer(event: dict[str, Any]) -> None:
        for hook in hooks:
            hook(event)

    handle.tracer = tracer


def _verbose_call(event: dict[str, Any]) -> None:
    usage = event.get("usage") or {}
    retry = " (retry)" if event.get("retry") else ""
    failed = f", failed: {event['error']}" if event.get("error") else ""
    seconds, out = float(event.get("latency_s") or 0), int(usage.get("completion_tokens") or 0)
    rate = f", {out / seconds:.1f} tokens/s" if seconds > 0 and out else ""
    emit(
        f"drafter: chain {event.get('chain') or '?'}{retry}: {seconds:.1f} s, "
        f"{usage.get('prompt_tokens', 0)}+{out} tokens{rate}{failed}",
        err=True,
    )


def cost_text(model: str, usage: dict[str, int], settings: Settings) -> str:
    """``~$0.0012`` for a model with a known price, else ``""``."""
    from drafter.model.pricing import estimate_cost

    cost = estimate_cost(
        model, usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0), prices=settings.prices
    )
    return "" if cost is None or not usage.get("calls") else f"~${cost:.4f}"


def refuse_terminal_stdin(source: str, notes_file: list[str]) -> None:
    """Refuse ``-`` (stdin) when stdin is a terminal: nothing was piped in, so reading would wait
    for typing that nobody means to do. Other input paths are checked with ``stat`` by the sources."""
    import sys

    from drafter.errors import InputError

    stream = sys.stdin
    if stream is None or not stream.isatty():
        return
    if source.strip() == "-":
        raise InputError(
            "SOURCE - reads the issue from standard input, which is a terminal here",
            hint="pipe it in (drafter from-issue - < issue.md) or pass the file's path",
        )
    if "-" in notes_file:
        raise InputError(
            "--notes-file - reads notes from standard input, which is a terminal here",
            hint="pipe them in (... --notes-file - < notes.md) or pass the file's path",
        )


def load_context(source: str, notes: list[str], notes_file: list[str], settings: Settings) -> IssueContext:
    """Fetch or read SOURCE and attach the notes, reporting rate-limit waits on stderr."""
    from drafter.errors import InputError
    from drafter.sources import SourceSettings, load_notes, load_source

    if source.strip() == "-" and "-" in notes_file:
        raise InputError(
            "SOURCE and --notes-file cannot both read standard input", hint="save one of them to a file"
        )
    refuse_terminal_stdin(source, notes_file)
    sources = SourceSettings.from_settings(
        settings, notify=lambda message: emit(f"drafter: {message}", err=True)
    )
    team_notes = load_notes(notes, notes_file)
    return load_source(source, sources).with_notes(team_notes)
