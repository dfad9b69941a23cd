"""Odd settings are refused in one line with exit 2, and every yes/no setting reads one way.

``--max-wait nan`` used to be accepted and sleep through a 3600 s ``Retry-After``; a drafter.toml
in Latin-1 used to end in "unexpected UnicodeDecodeError" with exit 3; ``DRAFTER_DEBUG=no``
turned debugging on.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from drafter.cli import app
from drafter.config import flag
from tests.support.paths import EXAMPLE


def one_line_exit_2(result: Result) -> str:
    stderr = result.stderr
    assert result.exit_code == 2, stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN", "Infinity"])
@pytest.mark.parametrize(
    "command",
    [
        ["from-issue", str(EXAMPLE), "-m", "offline", "--max-wait"],
        ["fetch", str(EXAMPLE), "--max-wait"],
        ["batch", str(EXAMPLE), "-m", "offline", "--max-cost"],
    ],
)
def test_non_finite_numbers_are_refused(tmp_path: Path, command: list[str], value: str) -> None:
    extra = [] if command[0] == "fetch" else ["--out-dir", str(tmp_path / "out")]
    line = one_line_exit_2(CliRunner().invoke(app, [*command, value, *extra]))
    assert "finite" in line or "range" in line, line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("key", ["max_wait", "concurrency"])
def test_non_finite_numbers_in_the_config_are_refused(
    tmp_path: Path, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "drafter.toml").write_text(f"{key} = nan\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    line = one_line_exit_2(CliRunner().invoke(app, ["from-issue", str(EXAMPLE), "-m", "offline"]))
    assert "drafter.toml" in line and key in line


def test_a_config_file_that_is_not_utf8_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "drafter.toml").write_bytes('author = "Zoë"\n'.encode("latin-1"))
    monkeypatch.chdir(tmp_path)
    for command in (["config"], ["from-issue", str(EXAMPLE), "-m", "offline"]):
        line = one_line_exit_2(CliRunner().invoke(app, command))
        assert "drafter.toml" in line and "UTF-8" in line and "unexpected" not in line


@pytest.mark.parametrize(
    ("text", "on"),
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        ("on", True),
        (" yes ", True),
        ("", False),
        ("0", False),
        ("false", False),
        ("no", False),
        ("Off", False),
        ("maybe", False),
    ],
)
def test_every_boolean_reads_one_way(text: str, on: bool) -> None:
    assert flag(text) is on


@pytest.mark.parametrize("value", ["no", "0", "false", "off"])
def test_drafter_debug_off_means_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("DRAFTER_DEBUG", value)
    result = CliRunner().invoke(app, ["from-issue", str(tmp_path / "missing.md"), "-m", "offline"])
    line = one_line_exit_2(result)
    assert line.startswith("error:") and "does not exist" in line


def test_drafter_debug_on_raises_through(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from drafter.errors import DrafterError

    monkeypatch.setenv("DRAFTER_DEBUG", "yes")
    result = CliRunner().invoke(app, ["from-issue", str(tmp_path / "missing.md"), "-m", "offline"])
    assert isinstance(result.exception, DrafterError)
