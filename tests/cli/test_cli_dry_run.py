"""``from-issue --dry-run`` prints the exact prompts and schemas and calls no model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drafter.cli import app
from tests.support.paths import ROOT

ISSUE = ROOT / "tests" / "fixtures" / "corpus" / "ClickHouse__ClickHouse__83677.json"


def test_dry_run_prints_prompts_and_schemas_without_calling(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A real provider is configured; with --block-network any call would fail the test.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    result = CliRunner().invoke(
        app,
        [
            "from-issue",
            str(ISSUE),
            "--model",
            "openai:x",
            "--dry-run",
            "-f",
            "json",
            "--out-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [c["chain"] for c in data["chains"]] == ["problem", "solution", "risks"]
    assert data["chains"][1]["depends_on"] == ["problem"]
    risks = data["chains"][2]
    assert "[the problem chain's draft goes here]" in risks["messages"][2]["content"]
    assert risks["output_schema"]["type"] == "object"
    assert all(c["estimated_prompt_tokens"] > 0 for c in data["chains"])
    assert "<issue_data" in data["chains"][0]["messages"][1]["content"]
    assert not list(tmp_path.iterdir())  # nothing written


def test_dry_run_text_lists_every_chain() -> None:
    result = CliRunner().invoke(app, ["from-issue", str(ISSUE), "--dry-run"])
    assert result.exit_code == 0, result.stderr
    for chain in ("problem", "solution", "risks"):
        assert f"===== chain {chain}" in result.stdout
    assert "no model called" in result.stderr
    assert "writing an offline draft" not in result.stderr
