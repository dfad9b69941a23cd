"""``drafter fetch`` through Typer's CliRunner: outputs, exit codes and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drafter.cli import app

from .conftest import GITHUB_API

ROOT = Path(__file__).resolve().parents[2]
HIKARI = ROOT / "tests" / "fixtures" / "corpus" / "brettwooldridge__HikariCP__664.json"
NOTES = ROOT / "tests" / "fixtures" / "local" / "notes.md"

runner = CliRunner()


def _one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in stderr
    return lines[0]


def test_markdown_output_with_notes() -> None:
    result = runner.invoke(
        app, ["fetch", str(HIKARI), "--notes", "Keep the pool API stable.", "--notes-file", str(NOTES)]
    )
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith("# Null PoolEntry connection causes NPE\n")
    assert "- **Reference:** brettwooldridge/HikariCP#664" in out
    assert "## Comments (8)" in out
    assert "### @kvoss-dev (participant, 2016-07-06)" in out
    assert "### @jtorrance (maintainer, 2016-07-08)" in out
    assert "- **State:** closed (completed)" in out
    # The typed facts, each with its source.
    assert "## Facts found in the thread" in out and "**Decisions**" in out
    assert "- **agreed:** (1): that's what I'm going with for 2.4.7. PoolEntry.recycle() won't hand" in out
    assert "## Team notes (the team's own words, not from the thread)" in out
    assert "Keep the pool API stable." in out and "v1 wire format" in out


def test_json_output_is_a_valid_source(tmp_path: Path) -> None:
    result = runner.invoke(app, ["fetch", str(HIKARI), "--format", "json", "--notes", "n1"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["schema"] == "drafter.issue-context/2"
    assert data["state_reason"] == "completed"
    assert {c["role"] for c in data["comments"]} == {"participant", "maintainer"}
    assert any(f["kind"] == "decision" and f["status"] == "declined" for f in data["facts"])
    assert data["notes"] == [{"text": "n1", "source": "cli"}]
    saved = tmp_path / "saved.json"
    saved.write_text(result.stdout, encoding="utf-8")
    again = runner.invoke(app, ["fetch", str(saved), "--format", "json"])
    assert again.exit_code == 0 and json.loads(again.stdout) == data


def test_budget_marker_in_output() -> None:
    result = runner.invoke(app, ["fetch", str(HIKARI), "--max-context", "9500"])
    assert result.exit_code == 0
    assert "omitted here" in result.stdout and "to fit --max-context" in result.stdout


def test_noise_is_dropped_and_counted() -> None:
    kubevirt = ROOT / "tests" / "fixtures" / "corpus" / "kubevirt__kubevirt__9565.json"
    result = runner.invoke(app, ["fetch", str(kubevirt)])
    assert result.exit_code == 0, result.stderr
    assert "## Dropped as noise\n\n2 bot comments." in result.stdout
    assert "kubevirt-bot" not in result.stdout and "/lifecycle stale" not in result.stdout
    assert "dropped 2 bot comments" in result.stderr
    data = json.loads(runner.invoke(app, ["fetch", str(kubevirt), "--format", "json"]).stdout)
    assert data["dropped"] == {"bot comment": 2}


def test_stdin_source_and_notes_conflict() -> None:
    result = runner.invoke(app, ["fetch", "-"], input="# Piped title\n\nPiped body\n")
    assert result.exit_code == 0 and result.stdout.startswith("# Piped title")
    result = runner.invoke(app, ["fetch", "-", "--notes-file", "-"], input="x")
    assert result.exit_code == 2
    assert "cannot both read standard input" in _one_line_error(result.stderr)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["https://bitbucket.org/o/r/issues/1/x"], "unsupported source"),
        (["https://user:pw@github.com/o/r/issues/1"], "embeds credentials"),
        (["missing-file.md"], "does not exist"),
        (["https://github.com/o/r/issues/1", "--notes", ""], "--notes was given an empty text"),
    ],
)
def test_errors_are_one_line_exit_2(args: list[str], expected: str) -> None:
    result = runner.invoke(app, ["fetch", *args])
    assert result.exit_code == 2
    line = _one_line_error(result.stderr)
    assert expected in line
    assert "pw@" not in line


def test_bad_flag_values_exit_2() -> None:
    result = runner.invoke(app, ["fetch", str(HIKARI), "--max-context", "10"])
    assert result.exit_code == 2
    result = runner.invoke(app, ["fetch", str(HIKARI), "--format", "yaml"])
    assert result.exit_code == 2


def test_bad_env_value_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_API_URL", "not a url")
    result = runner.invoke(app, ["fetch", str(HIKARI)])
    assert result.exit_code == 2
    assert "GITHUB_API_URL must be an http(s) URL" in _one_line_error(result.stderr)


@pytest.mark.vcr
def test_fetch_github_through_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_API_URL", GITHUB_API)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_FAKE0000000000000000000000000000good")
    result = runner.invoke(app, ["fetch", "https://github.com/acme/private/issues/1", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["title"] == "Null PoolEntry connection causes NPE"


@pytest.mark.vcr
def test_fetch_not_found_through_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_API_URL", GITHUB_API)
    result = runner.invoke(app, ["fetch", "https://github.com/acme/private/issues/1"])
    assert result.exit_code == 2
    line = _one_line_error(result.stderr)
    assert "not found or no access" in line and "GITHUB_TOKEN" in line


def test_help_does_not_import_httpx() -> None:
    code = (
        "import sys; from drafter.cli import app; "
        "assert not {'httpx', 'httpx2'} & set(sys.modules), 'an HTTP client was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
