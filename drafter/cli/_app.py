"""The Typer application and the one place where errors become exit codes.

Command modules register themselves on :data:`app`; library code raises :class:`DrafterError`
and :class:`_Group.invoke` turns it into one line on stderr plus the error's exit code. Heavy
modules (langchain, openai, httpx2) are imported inside commands, never here, so that
``drafter --help`` and ``drafter validate`` start fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import typer
import typer.core
from typer.core import TyperGroup

from drafter.errors import EXIT_RUNTIME, DrafterError

# Help is plain text (rich_markup_mode=None below). typer 0.19 still escapes every "[required]"
# and "[default: ...]" for rich's markup when rich is installed, which printed "\[required]" on
# every --help, and it imported rich to do so. With help as plain text nothing needs escaping.
typer.core.HAS_RICH = False


def examples(*pairs: tuple[str, str]) -> str:
    """An "Examples:" block for a command's ``--help`` (click's ``\\b`` keeps its lines unwrapped).

    Each pair is ``(what it does, the command)``, shown as a comment over a ``$`` line, like gh's
    EXAMPLES; ``tests/cli/test_help.py`` runs every example's parser to keep them true.
    """
    lines = ["\b", "Examples:"]
    for what, command in pairs:
        lines += [f"  # {what}", f"  $ {command}"]
    return "\n".join(lines)


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
    "models",
    "config",
    "init",
)

# Options of the whole app that users type after the subcommand too (`drafter batch ... -q`).
_GLOBAL_FLAGS = frozenset({"-q", "--quiet", "-v", "--verbose"})
_GLOBAL_VALUED = frozenset({"--color"})


def hoist_global_options(args: list[str]) -> list[str]:
    """Move ``-q``/``-v``/``--color WHEN`` given after the subcommand in front of it.

    click only parses a group's options before its subcommand; users of ``gh`` and ``git`` expect
    ``drafter batch ... -q`` to work as ``drafter -q batch ...``. Nothing after ``--`` moves, and
    a flag that is the value of the option before it (``--notes -v``) stays with that option
    when written ``--notes=-v``.
    """
    front: list[str] = []
    rest: list[str] = []
    seen_command = False
    index = 0
    while index < len(args):
        token = args[index]
        if token == "--":
            rest.extend(args[index:])
            break
        if not seen_command:
            if token in _GLOBAL_VALUED and index + 1 < len(args):
                rest.extend(args[index : index + 2])
                index += 2
                continue
            seen_command = not token.startswith("-")
            rest.append(token)
        elif token in _GLOBAL_FLAGS or token.startswith("--color="):
            front.append(token)
        elif token in _GLOBAL_VALUED and index + 1 < len(args):
            front.extend(args[index : index + 2])
            index += 1
        else:
            rest.append(token)
        index += 1
    return front + rest


class _Group(TyperGroup):
    """Maps :class:`DrafterError` (and anything unexpected) to one line and an exit code."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if ctx.parent is None:
            args = hoist_global_options(list(args))
        return super().parse_args(ctx, args)

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
        from drafter.config.about import DISTRIBUTION, version

        typer.echo(f"drafter {version()} ({DISTRIBUTION})")
        raise typer.Exit(0)


class Colour(StrEnum):
    """``--color``: when stderr gets colours."""

    auto = "auto"
    always = "always"
    never = "never"


@dataclass
class Output:
    """How chatty this run is: set by the app-wide ``--quiet``/``--verbose`` on every invocation."""

    quiet: bool = False
    verbose: bool = False
    color: str = "auto"


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
    color: Colour = typer.Option(
        "auto",
        "--color",
        help="Colour on stderr: auto (a terminal, unless NO_COLOR is set; FORCE_COLOR forces it), "
        "always or never. -q, -v and --color also work after the command.",
    ),
) -> None:
    """drafter: issue in, design doc out."""
    from drafter.config.redaction import register_env

    register_env(os.environ)  # once per run: every output is cleaned of the configured secrets
    OUTPUT.quiet = quiet
    OUTPUT.verbose = verbose and not quiet
    OUTPUT.color = color.value


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
    """Whether to colour ``stream``: ``--color`` first, then ``NO_COLOR`` (https://no-color.org)
    and ``FORCE_COLOR`` (https://force-color.org), then whether it is a terminal."""
    if OUTPUT.color != "auto":
        return OUTPUT.color == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR", "") not in ("", "0", "false"):
        return True
    return bool(stream.isatty())


def stderr_console() -> Any:
    """A rich console on stderr that follows :func:`use_colour` (rich is imported lazily: it is
    not needed for ``--help``). rich's own reading of NO_COLOR/FORCE_COLOR is overridden, so
    every command decides the same way."""
    from rich.console import Console

    colour = use_colour(sys.stderr)
    return Console(stderr=True, no_color=not colour, force_terminal=True if colour else None, highlight=False)


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
        # chain -> (tokens received, seconds): what a streaming model has sent so far
        self.received: dict[str, tuple[int, float]] = {}
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
        self._show()

    def progress(self, chain: str, tokens: int, seconds: float) -> None:
        """A streaming model's progress on ``chain`` (``ModelHandle.on_progress``)."""
        self.received[chain] = (tokens, seconds)
        self._show()

    def attach(self, inner: Callable[[Any], None] | None) -> Callable[[Any], None]:
        """An ``on_handle`` hook that also sends the handle's progress to this status line."""

        def hook(handle: Any) -> None:
            if inner is not None:
                inner(handle)
            if handle is not None and self.status is not None:
                handle.on_progress = self.progress

        return hook

    def _show(self) -> None:
        if self.status is None:
            return
        parts = [f"{c} done" for c in self.finished]
        for chain in self.running:
            tokens, seconds = self.received.get(chain, (0, 0.0))
            parts.append(
                f"{chain} running ({tokens} tokens, {seconds:.0f} s)" if tokens else f"{chain} running"
            )
        self.status.update(f"{self.label}: {', '.join(parts)}" if parts else self.label)


def fail_usage(message: str) -> typer.Exit:
    """Print a usage error line and return the Exit to raise (exit code 2)."""
    emit(f"error: {message}", err=True)
    return typer.Exit(2)
