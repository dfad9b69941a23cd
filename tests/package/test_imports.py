"""The fast path stays fast: ``drafter --help`` and ``drafter validate`` never import the model stack.

Each check runs in a fresh interpreter, since this test process may already hold those modules.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import DOCS

HEAVY = ("openai", "langchain_core", "langchain_openai", "httpx", "httpx2")
DOC = DOCS / "technical-design.md"


def _python(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=120, check=False, cwd=cwd
    )


def _imported(importtime_stderr: str) -> set[str]:
    """Top-level package names from ``-X importtime`` lines (``import time: self | cumulative | name``)."""
    names = set()
    for line in importtime_stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+\d+ \|\s*([\w.]+)\s*$", line)
        if match:
            names.add(match.group(1).split(".")[0])
    return names


def test_importing_the_cli_does_not_import_heavy_modules(tmp_path: Path) -> None:
    code = (
        "import drafter.cli, sys; "
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]; "
        "print(','.join(heavy)); sys.exit(1 if heavy else 0)"
    )
    proc = _python("-c", code, cwd=tmp_path)
    assert proc.returncode == 0, f"imported by drafter.cli: {proc.stdout.strip()} {proc.stderr}"


def test_importing_the_validator_does_not_import_heavy_modules(tmp_path: Path) -> None:
    code = (
        "import drafter.template.documents, drafter.template.validate, drafter.template.outline, sys; "
        f"heavy = [m for m in {HEAVY!r} + ('typer', 'rich') if m in sys.modules]; "
        "print(','.join(heavy)); sys.exit(1 if heavy else 0)"
    )
    proc = _python("-c", code, cwd=tmp_path)
    assert proc.returncode == 0, f"imported by the validator: {proc.stdout.strip()} {proc.stderr}"


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("validate", str(DOC)),
        ("validate", "--format", "json", str(DOC)),
        ("templates", "list"),
    ],
    ids=["help", "validate", "validate-json", "templates-list"],
)
def test_commands_do_not_import_heavy_modules(tmp_path: Path, args: tuple[str, ...]) -> None:
    proc = _python("-X", "importtime", "-m", "drafter", *args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = _imported(proc.stderr)
    assert "drafter" in imported  # the parse worked
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))


def _cli_modules() -> list[str]:
    import pkgutil

    import drafter.cli

    return sorted(f"drafter.cli.{m.name}" for m in pkgutil.iter_modules(drafter.cli.__path__))


@pytest.mark.parametrize("module", _cli_modules())
def test_no_command_module_imports_heavy_modules(tmp_path: Path, module: str) -> None:
    """Every command module on its own, under ``-X importtime`` and by ``sys.modules``."""
    code = (
        f"import {module}, sys; "
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]; "
        "print(','.join(heavy)); sys.exit(1 if heavy else 0)"
    )
    proc = _python("-X", "importtime", "-c", code, cwd=tmp_path)
    assert proc.returncode == 0, f"imported by {module}: {proc.stdout.strip()} {proc.stderr[-2000:]}"
    assert module in {line.split("|")[-1].strip() for line in proc.stderr.splitlines()}
    assert not _imported(proc.stderr) & set(HEAVY)


def test_every_command_help_skips_heavy_modules(tmp_path: Path) -> None:
    """``drafter COMMAND --help`` for every registered command imports none of the model stack."""
    listing = _python(
        "-c",
        "import typer.main, drafter.cli as c; print(' '.join(typer.main.get_command(c.app).commands))",
        cwd=tmp_path,
    )
    assert listing.returncode == 0, listing.stderr[-2000:]
    commands = listing.stdout.split()
    assert "from-issue" in commands and "batch" in commands
    for command in commands:
        proc = _python("-X", "importtime", "-m", "drafter", command, "--help", cwd=tmp_path)
        assert proc.returncode == 0, f"{command}: {proc.stderr[-2000:]}"
        heavy = _imported(proc.stderr) & set(HEAVY)
        assert not heavy, f"drafter {command} --help imported {sorted(heavy)}"
