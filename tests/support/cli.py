"""Running drafter's commands in process, and reading their one-line errors."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from drafter.cli import app


def run(*args: str | Path) -> Result:
    """``drafter ARGS...`` through Typer's CliRunner (arguments may be paths)."""
    return CliRunner().invoke(app, [str(a) for a in args])


def one_line_error(result: Result) -> str:
    """The run failed with exactly one stderr line and no traceback; return that line."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert lines[0].startswith("error: ")
    return lines[0]
