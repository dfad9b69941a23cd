"""The Typer application and the one place where errors become exit codes.

Command modules register themselves on :data:`app`; library code raises :class:`DrafterError`
and :class:`_Group.invoke` turns it into one line on stderr plus the error's exit code. Heavy
modules (langchain, openai, httpx2) are imported inside commands, never here, so that
``drafter --help`` and ``drafter validate`` start fast.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperGroup

from drafter.errors import EXIT_RUNTIME, DrafterError


def _debug() -> bool:
    from drafter.config import flag

    return flag(os.environ.get("DRAFTER_DEBUG", ""))


def _is_usage_error(exc: Exception) -> bool:
    """Typer's (vendored click's) ``UsageError``, except the request to show help."""
    names = {klass.__name__ for klass in type(exc).__mro__}
    return "UsageError" in names and "NoArgsIsHelpError" not in names


# The order `drafter --help` lists commands in: the main job first, then the everyday ones.
COMMAND_ORDER = (
    "from-issue",
    "fetch",
    "batch",
    "review",
    "redraft",
    "status",
    "validate",
    "templates",
    "prompts",
    "eval",
    "config",
    "init",
)


class _Group(TyperGroup):
    """Maps :class:`DrafterError` (and anything unexpected) to one line and an exit code."""

    def list_commands(self, ctx: Any) -> list[str]:
        rank = {name: i for i, name in enumerate(COMMAND_ORDER)}
        return sorted(super().list_commands(ctx), key=lambda name: rank.get(name, len(rank)))

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except DrafterError as exc:
            if _debug():
                raise
            emit(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except BrokenPipeError:
            # Output piped into `head` and the reader went away: not an error worth a message.
            sys.stderr.close()
            raise typer.Exit(0) from None
        except KeyboardInterrupt:
            typer.echo("error: interrupted", err=True)
            raise typer.Exit(130) from None
        except Exception as exc:
            if _is_usage_error(exc) and not _debug():
                # A bad flag value or unknown option: one line naming the fix, like every other error.
                usage: Any = exc
                where = usage.ctx.command_path if usage.ctx is not None else "drafter"
                message = " ".join(usage.format_message().split())
                emit(f"error: {message} (see '{where} --help')", err=True)
                raise typer.Exit(usage.exit_code) from None
            # Exit, Abort and help requests belong to typer/click, which handle them themselves.
            if _debug() or type(exc).__module__.split(".")[0] in ("typer", "click"):
                raise
            name = type(exc).__name__
            line = " ".join(str(exc).split())[:300]
            emit(
                f"error: unexpected {name}: {line} (set DRAFTER_DEBUG=1 for the traceback and report it)",
                err=True,
            )
            raise typer.Exit(EXIT_RUNTIME) from None


app = typer.Typer(
    cls=_Group,
    name="drafter",
    help=(
        "Turn an issue (GitHub, GitLab, Jira or a local file) plus notes into a technical design doc "
        "in your team's template, and check design docs against that template.\n\n"
        "Exit codes: 0 ok; 1 findings (a gate failed); 2 bad input or usage (including an unwritable "
        "output path); 3 runtime failure (model or network after retries)."
    ),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    # Plain help: rich-formatted help costs ~70 ms of imports on every `--help`, over the
    # 0.25 s cold-start budget, and plain text reads the same in a terminal, a pipe and CI logs.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"drafter {version('drafter')}")
        except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
            typer.echo("drafter (not installed)")
        raise typer.Exit(0)


@dataclass
class Output:
    """How chatty this run is: set by the app-wide ``--quiet``/``--verbose`` on every invocation."""

    quiet: bool = False
    verbose: bool = False


OUTPUT = Output()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="Print only results (paths, reports) and errors; no progress or notes."
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Also print each model call: chain, seconds and tokens."
    ),
) -> None:
    """drafter: issue in, design doc out."""
    from drafter.config.redaction import register_env

    register_env(os.environ)  # once per run: every output is cleaned of the configured secrets
    OUTPUT.quiet = quiet
    OUTPUT.verbose = verbose and not quiet


def emit(text: str, *, err: bool = False) -> None:
    """Print one block of output; the only way commands write to the terminal.

    Under ``--quiet`` the informational ``drafter: ...`` lines on stderr are dropped; results on
    stdout and error lines are always printed.
    """
    if err and OUTPUT.quiet and text.startswith("drafter: "):
        return
    from drafter.config.redaction import for_terminal

    typer.echo(for_terminal(text), err=err)


def use_colour(stream: Any) -> bool:
    """Colours only on a terminal and never when ``NO_COLOR`` is set (https://no-color.org)."""
    return bool(stream.isatty()) and not os.environ.get("NO_COLOR")


def stderr_console() -> Any:
    """A rich console on stderr (imported lazily: rich is not needed for ``--help``)."""
    from rich.console import Console

    colour = use_colour(sys.stderr)
    return Console(stderr=True, no_color=not colour, highlight=False)


class LiveStatus:
    """A spinner on stderr naming the chains being drafted, on a terminal and without ``--quiet``.

    Usage::

        with LiveStatus("drafting") as status:
            options.on_event = status.update     # (chain, "running" | "done")
    """

    def __init__(self, label: str) -> None:
        self.label = label
        self.running: list[str] = []
        self.finished: list[str] = []
        self.status: Any = None
        if sys.stderr.isatty() and not OUTPUT.quiet:
            self.status = stderr_console().status(label)

    def __enter__(self) -> LiveStatus:
        if self.status is not None:
            self.status.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.status is not None:
            self.status.stop()

    def update(self, chain: str, state: str) -> None:
        if state == "running" and chain not in self.running:
            self.running.append(chain)
        elif state == "done":
            if chain in self.running:
                self.running.remove(chain)
            self.finished.append(chain)
        if self.status is not None:
            parts = [f"{c} done" for c in self.finished] + [f"{c} running" for c in self.running]
            self.status.update(f"{self.label}: {', '.join(parts)}" if parts else self.label)


def fail_usage(message: str) -> typer.Exit:
    """Print a usage error line and return the Exit to raise (exit code 2)."""
    emit(f"error: {message}", err=True)
    return typer.Exit(2)
