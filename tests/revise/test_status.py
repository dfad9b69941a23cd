"""``drafter status``: human edits and issue drift, against recorded tracker answers.

The cassettes in ``cassettes/review/`` were recorded against ``tests/support/review_server.py``, whose issue
gains a comment (``acme/drift``) or has one edited (``acme/edited``) after the first fetch: the
first fetch makes the draft, the second is the status check.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from drafter.cli import app
from drafter.model.choice import resolve_model
from drafter.pipeline import DraftOptions, draft
from drafter.revise.status import draft_status
from drafter.sources.context import Comment, IssueContext
from drafter.template.outline import load_outline
from tests.support.paths import ROOT

API = "http://127.0.0.1:8766/github"
runner = CliRunner()


@pytest.fixture
def vcr_cassette_dir() -> str:
    return str(ROOT / "cassettes" / "review")


def cli(*args: str | Path) -> Any:
    return runner.invoke(app, [str(a) for a in args])


def make(tmp_path: Path, source: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GITHUB_API_URL", API)
    out = tmp_path / "draft.md"
    result = cli("from-issue", source, "--model", "offline", "--author", "Ada", "--out", out)
    assert result.exit_code == 0, result.stderr
    return out


@pytest.mark.vcr
def test_new_comment_is_drift(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make(tmp_path, "https://github.com/acme/drift/issues/1", monkeypatch)
    text = path.read_text(encoding="utf-8")
    assert "[Issue acme/drift#1](https://github.com/acme/drift/issues/1)" in text
    result = cli("status", path, "--format", "json")
    assert result.exit_code == 1, result.stderr
    [report] = json.loads(result.stdout)
    assert report["drifted"] is True and report["issue_edited"] is False
    [change] = report["comments"]
    assert change["id"] == "102" and change["kind"] == "new" and change["author"] == "carol"
    assert change["url"].endswith("#issuecomment-102")
    assert any("Rollback" in s for s in change["sections"])
    assert report["edited_sections"] == []


@pytest.mark.vcr
def test_edited_comment_is_drift_and_names_the_citing_sections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make(tmp_path, "acme/edited#1", monkeypatch)
    result = cli("status", path)
    assert result.exit_code == 1, result.stderr
    assert "drift: edited comment 101 by @bob" in result.stdout


@pytest.mark.vcr
def test_no_change_is_clean_and_human_edits_are_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make(tmp_path, "acme/stable#1", monkeypatch)
    clean = cli("status", path)
    assert clean.exit_code == 0, clean.stderr
    assert "up to date" in clean.stdout
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("## 4. Implementation Strategy", "## 4. Implementation Strategy\n\nEdited."), "utf-8"
    )
    edited = cli("status", path)
    assert edited.exit_code == 0, edited.stderr  # human edits alone are not drift
    assert "edited by a human: 4. Implementation Strategy" in edited.stdout


def _ctx(*comments: Comment) -> IssueContext:
    return IssueContext(
        title="T", body="Body text about exports.", url="https://x.test/i/1", comments=comments
    )


def test_library_status_removed_comment_and_older_drafts() -> None:
    outline = load_outline("adr")
    first = _ctx(Comment("1", "bob", "The decision should batch exports.", created_at="2024-01-01"))
    result = draft(first, outline, DraftOptions(model=resolve_model("offline", {})))
    gone = draft_status(result.text, outline, _ctx(), provenance=result.provenance)
    assert [(c.id, c.kind) for c in gone.comments] == [("1", "removed")]
    assert gone.drifted
    assert result.provenance is not None
    older = draft_status(result.text, outline, first, provenance=replace(result.provenance, issue_hash=""))
    assert any("older draft" in note for note in older.notes) and not older.drifted
    assert draft_status("# no provenance\n", outline, first).notes
