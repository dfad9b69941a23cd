"""Everyday use: dry runs that call nothing, --edit, cost lines and the batch --max-cost guard."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from drafter.cli import app
from drafter.template.outline import load_outline
from tests.support.chat import fake, fake_handle
from tests.support.issues import ISSUES
from tests.support.paths import EXAMPLE


def cli(*args: str | Path) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real provider is configured, but building a model client fails the test."""
    from drafter.model import openai as providers

    def refuse(choice: Any) -> Any:
        raise AssertionError("a dry run built a model client")

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setattr(providers, "build_handle", refuse)


# -- dry runs ------------------------------------------------------------------------------------------
@pytest.mark.usefixtures("no_model")
def test_batch_dry_run_prints_every_issue_and_calls_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli("batch", *ISSUES[:2], "--model", "openai:x", "--out-dir", out, "--dry-run")
    assert result.exit_code == 0, result.stderr
    for issue in ISSUES[:2]:
        assert f"########## {issue}" in result.stdout
    assert result.stdout.count("===== chain problem") == 2
    assert "no model called" in result.stderr
    assert not out.exists()


@pytest.mark.usefixtures("no_model")
def test_redraft_dry_run_prints_the_owning_chain_only(tmp_path: Path) -> None:
    draft = tmp_path / "draft.md"
    made = cli("from-issue", EXAMPLE, "--model", "offline", "--out", draft)
    assert made.exit_code == 0, made.stderr
    before = draft.read_bytes()
    # The example lies outside the draft's folder (and any repository it is in): name it.
    result = cli(
        "redraft", draft, "--section", "4.2", "--model", "openai:x", "--dry-run", "--source", EXAMPLE
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("===== chain ") == 1
    assert "===== chain risks" in result.stdout
    assert "no model called" in result.stderr
    assert draft.read_bytes() == before


# -- --edit --------------------------------------------------------------------------------------------
def test_edit_opens_the_written_draft_in_the_editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    editor = tmp_path / "my editor.py"
    editor.write_text(
        "import sys\nopen(sys.argv[-1], 'a', encoding='utf-8').write('EDITED BY ' + sys.argv[1] + '\\n')\n",
        encoding="utf-8",
    )
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", f"{sys.executable} '{editor}' --flag")
    result = cli("from-issue", EXAMPLE, "--model", "offline", "--out", tmp_path / "d.md", "--edit")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "d.md").read_text(encoding="utf-8").endswith("EDITED BY --flag\n")
    monkeypatch.setenv("VISUAL", f"{sys.executable} '{editor}' --visual")
    again = cli("from-issue", EXAMPLE, "--model", "offline", "--out", tmp_path / "e.md", "--edit")
    assert again.exit_code == 0, again.stderr
    assert (tmp_path / "e.md").read_text(encoding="utf-8").endswith("EDITED BY --visual\n")


def test_edit_without_an_editor_fails_before_drafting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.delenv("EDITOR", raising=False)
    result = cli("from-issue", EXAMPLE, "--model", "offline", "--out", tmp_path / "d.md", "--edit")
    assert result.exit_code == 2
    assert "set VISUAL or EDITOR" in result.stderr
    assert not (tmp_path / "d.md").exists()


# -- cost ----------------------------------------------------------------------------------------------
def test_from_issue_prints_tokens_and_estimated_cost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from drafter.model import openai as providers

    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr(providers, "build_handle", lambda choice: fake_handle("adr"))
    args = ("from-issue", EXAMPLE, "--template", "adr", "--model", "gpt-4o-mini")
    result = cli(*args, "--out-dir", "a")
    assert result.exit_code == 0, result.stderr
    # 300 prompt + 60 completion tokens at 0.15/0.60 USD per 1M
    assert "3 calls, 300+60 tokens, ~$0.0001 estimated" in result.stderr
    (tmp_path / "drafter.toml").write_text('[prices]\n"gpt-4o-mini" = [1000, 1000]\n', encoding="utf-8")
    priced = cli(*args, "--out-dir", "b", "-f", "json")
    assert priced.exit_code == 0, priced.stderr
    assert json.loads(priced.stdout)["estimated_cost_usd"] == pytest.approx(0.36)


def test_offline_and_unknown_models_print_no_cost(tmp_path: Path) -> None:
    result = cli("from-issue", EXAMPLE, "--model", "offline", "--out-dir", tmp_path)
    assert result.exit_code == 0
    assert "~$" not in result.stderr


def _priced_batch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    from drafter.model import openai as providers

    chat, options = fake(load_outline("adr"))
    assert options.handle is not None
    options.handle.name = "openai:gpt-4o-mini"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr(providers, "build_handle", lambda choice: options.handle)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    return chat


def test_batch_summary_prints_cost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _priced_batch(monkeypatch, tmp_path)
    result = cli("batch", *ISSUES[:2], "--template", "adr", "--model", "gpt-4o-mini", "--out-dir", "out")
    assert result.exit_code == 0, result.stderr
    assert "tokens, ~$" in result.stderr and "estimated" in result.stderr


def test_max_cost_stops_starting_new_drafts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _priced_batch(monkeypatch, tmp_path)
    (tmp_path / "drafter.toml").write_text('[prices]\n"gpt-4o-mini" = [1000, 1000]\n', encoding="utf-8")
    result = cli(
        "batch", *ISSUES[:3], "--template", "adr", "--model", "gpt-4o-mini", "--out-dir", "out",
        "-j", "1", "--max-cost", "0.01", "--report", "report.json",
    )  # fmt: skip
    assert result.exit_code == 1, result.stderr
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    statuses = [item["status"] for item in report["items"]]
    assert statuses.count("written") == 1 and statuses.count("skipped-budget") == 2
    reasons = [item["reason"] for item in report["items"] if item["status"] == "skipped-budget"]
    assert all("--max-cost $0.01 reached" in r for r in reasons)


def test_max_cost_needs_a_priced_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _priced_batch(monkeypatch, tmp_path)
    result = cli("batch", ISSUES[0], "--model", "openai:unpriced", "--max-cost", "1", "--out-dir", "out")
    assert result.exit_code == 2
    assert "--max-cost needs a model with a known price" in result.stderr
    assert cli("batch", ISSUES[0], "--max-cost", "0", "--out-dir", "out").exit_code == 2


def test_a_failing_editor_is_reported_and_the_draft_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", f"{sys.executable} -c 'raise SystemExit(4)'")
    result = cli("from-issue", EXAMPLE, "--model", "offline", "--out", tmp_path / "d.md", "--edit")
    assert result.exit_code == 0, result.stderr
    assert "the editor failed" in result.stderr and "Traceback" not in result.output
    assert (tmp_path / "d.md").is_file()
    monkeypatch.setenv("EDITOR", str(tmp_path / "no-such-editor"))
    missing = cli("from-issue", EXAMPLE, "--model", "offline", "--out", tmp_path / "e.md", "--edit")
    assert missing.exit_code == 0 and "the editor failed" in missing.stderr
