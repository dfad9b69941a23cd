"""The Typer application and the one place where errors become exit codes.

Command modules register themselves on :data:`app`; library code raises :class:`DrafterError`
and :class:`_Group.invoke` turns it into one line on stderr plus the error's exit code. Heavy
modules (langchain, openai, httpx) are imported inside commands, never here, so that
``drafter --help`` and ``drafter validate`` start fast.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from drafter.errors import EXIT_RUNTIME, DrafterError


def _debug() -> bool:
    return os.environ.get("DRAFTER_DEBUG", "") not in ("", "0", "false")


class _Group(TyperGroup):
    """Maps :class:`DrafterError` (and anything unexpected) to one line and an exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except DrafterError as exc:
            if _debug():
                raise
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except BrokenPipeError:
            # Output piped into `head` and the reader went away: not an error worth a message.
            sys.stderr.close()
            raise typer.Exit(0) from None
        except KeyboardInterrupt:
            typer.echo("error: interrupted", err=True)
            raise typer.Exit(130) from None
        except Exception as exc:
            # Exit, Abort and usage errors belong to typer/click, which handle them themselves.
            if _debug() or type(exc).__module__.split(".")[0] in ("typer", "click"):
                raise
            name = type(exc).__name__
            line = " ".join(str(exc).split())[:300]
            typer.echo(
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
        "Exit codes: 0 ok; 1 findings (a gate failed); 2 bad input or usage; 3 runtime failure "
        "(model, network, disk)."
    ),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
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


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """drafter: issue in, design doc out."""


def emit(text: str, *, err: bool = False) -> None:
    """Print one block of output; the only way commands write to the terminal."""
    typer.echo(text, err=err)


def fail_usage(message: str) -> typer.Exit:
    """Print a usage error line and return the Exit to raise (exit code 2)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()
