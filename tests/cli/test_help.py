"""Every command's --help, the shared flag vocabulary and the global options (issue #20)."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import typer.main

from drafter.cli import app
from drafter.cli._app import OUTPUT, hoist_global_options, use_colour
from tests.support.cli import run
from tests.support.paths import ROOT


def commands() -> Iterator[tuple[str, click.Command]]:
    """Every leaf command as ``("templates list", command)``."""
    root = typer.main.get_command(app)
    assert isinstance(root, click.Group)
    ctx = click.Context(root)
    for name in root.list_commands(ctx):
        command = root.get_command(ctx, name)
        assert command is not None
        if isinstance(command, click.Group):
            for sub in command.list_commands(ctx):
                leaf = command.get_command(ctx, sub)
                assert leaf is not None
                yield f"{name} {sub}", leaf
        else:
            yield name, command


NAMES = [name for name, _ in commands()]


@pytest.mark.parametrize("name", NAMES)
def test_help_has_no_markup_escapes_and_shows_examples(name: str) -> None:
    result = run(*name.split(), "--help")
    assert result.exit_code == 0, result.output
    assert "\\[" not in result.stdout
    assert "Examples:\n" in result.stdout
    examples = [line for line in result.stdout.splitlines() if line.strip().startswith("$ ")]
    assert len(examples) >= 1
    assert any(name in line for line in examples)


def example_commands() -> Iterator[tuple[str, list[str]]]:
    for name, command in commands():
        for line in (command.epilog or "").splitlines():
            line = line.strip()
            if not line.startswith("$ "):
                continue
            text = line[2:]
            if "$(" in text:  # git add $(drafter batch ...): the inner command
                text = text.split("$(", 1)[1].rsplit(")", 1)[0]
            words = shlex.split(text.split(" > ", 1)[0])
            assert words[0] == "drafter"
            yield name, words[1:]


@pytest.mark.parametrize(("name", "args"), list(example_commands()))
def test_every_example_parses(name: str, args: list[str]) -> None:
    """Each example names a real command and real options: click parses every option before the
    eager --help answers, so an unknown option or a missing value fails here."""
    result = run(*args, "--help")
    assert result.exit_code == 0, result.output
    assert f"Usage: drafter {name} " in result.stdout


def test_batch_usage_names_many_sources() -> None:
    assert "Usage: drafter batch [OPTIONS] SOURCES..." in run("batch", "--help").stdout


# -- one vocabulary -----------------------------------------------------------------------------
def test_j_means_concurrency_everywhere_and_old_spellings_still_work(tmp_path: Path) -> None:
    doc = ROOT / "templates" / "adr.md"
    for args in (["-j", "2"], ["--concurrency", "2"], ["--jobs", "2"]):
        result = run("validate", doc, *args)
        assert result.exit_code in (0, 1), result.output
        assert "No such option" not in result.output
    helps = {name: run(*name.split(), "--help").stdout for name in ("batch", "validate")}
    for text in helps.values():
        assert "-j, --concurrency" in text
    assert "--jobs" not in helps["validate"]  # hidden alias for one release


def test_eval_out_dir_and_hidden_out() -> None:
    text = run("eval", "--help").stdout
    assert "--out-dir" in text
    assert "--out " not in text and "--out\n" not in text


@pytest.mark.parametrize(
    "command", [("templates", "list"), ("prompts", "list"), ("templates", "show", "adr")]
)
def test_listings_take_format_json_and_the_old_json_flag(command: tuple[str, ...]) -> None:
    import json

    new = run(*command, "-f", "json")
    old = run(*command, "--json")
    assert new.exit_code == old.exit_code == 0
    assert json.loads(new.stdout) == json.loads(old.stdout)
    assert "--json" not in run(*command, "--help").stdout


# -- global options after the command -----------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["batch", "x", "-q"], ["-q", "batch", "x"]),
        (["-v", "batch", "x"], ["-v", "batch", "x"]),
        (
            ["templates", "list", "--verbose", "--color", "never"],
            ["--verbose", "--color", "never", "templates", "list"],
        ),
        (["--color", "always", "fetch", "x"], ["--color", "always", "fetch", "x"]),
        (["validate", "--color=never", "a.md"], ["--color=never", "validate", "a.md"]),
        (["from-issue", "x", "--notes=-v"], ["from-issue", "x", "--notes=-v"]),
        (["fetch", "x", "--", "-q"], ["fetch", "x", "--", "-q"]),
    ],
)
def test_global_options_are_hoisted_in_front_of_the_command(args: list[str], expected: list[str]) -> None:
    assert hoist_global_options(args) == expected


def test_quiet_after_the_command_drops_notes(tmp_path: Path) -> None:
    result = run(
        "from-issue",
        ROOT / "examples" / "issue-hikaricp-664.json",
        "--model",
        "offline",
        "--out-dir",
        tmp_path,
        "-q",
    )
    assert result.exit_code in (0, 1), result.output
    assert "drafter:" not in result.stderr
    assert result.stdout.strip().endswith(".md")


class Stream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("flag", "env", "tty", "expected"),
    [
        ("auto", {}, True, True),
        ("auto", {}, False, False),
        ("auto", {"NO_COLOR": "1"}, True, False),
        ("auto", {"FORCE_COLOR": "1"}, False, True),
        ("auto", {"FORCE_COLOR": "0"}, True, True),
        ("auto", {"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),
        ("always", {"NO_COLOR": "1"}, False, True),
        ("never", {"FORCE_COLOR": "1"}, True, False),
    ],
)
def test_colour_follows_flag_then_no_color_then_force_color_then_the_terminal(
    monkeypatch: pytest.MonkeyPatch, flag: str, env: dict[str, str], tty: bool, expected: bool
) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(OUTPUT, "color", flag)
    assert use_colour(Stream(tty)) is expected


def test_color_flag_is_validated() -> None:
    result = run("templates", "list", "--color", "sometimes")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
