"""The state file beside a draft: who reads it, what happens without it, and old inline drafts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from drafter.cli import app
from drafter.document.provenance import read_draft, state_path
from tests.support import paths
from tests.support.paths import ROOT

CORPUS = sorted(paths.CORPUS.glob("*.json"))
runner = CliRunner()


def cli(*args: str | Path) -> Any:
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "issues").mkdir()
    source = tmp_path / "issues" / "hikari.json"
    source.write_text(
        (ROOT / "examples" / "issue-hikaricp-664.json").read_text(encoding="utf-8"), encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _draft(repo: Path) -> Path:
    result = cli(
        "from-issue", "issues/hikari.json", "--model", "offline", "--out-dir", "docs/design", "--author", "A"
    )
    assert result.exit_code == 0, result.stderr
    return Path(result.stdout.strip())


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_hidden_data_in_a_draft_stays_under_400_bytes(tmp_path: Path, path: Path) -> None:
    out = tmp_path / "d.md"
    result = cli("from-issue", path, "--model", "offline", "--out", out, "--notes", "Keep the v1 API " * 20)
    assert result.exit_code == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    hidden = sum(len(m.group(0).encode()) for m in re.finditer(r"<!--.*?-->", text, re.DOTALL))
    assert hidden < 400, hidden
    assert "Keep the v1 API" not in "".join(re.findall(r"<!--.*?-->", text, re.DOTALL))
    state = json.loads(state_path(out).read_text(encoding="utf-8"))
    assert state["schema"] == "drafter.state/1" and state["notes"] and state["bases"]


def test_the_state_records_the_source_from_the_repository_root(repo: Path) -> None:
    draft = _draft(repo)
    state = json.loads(state_path(draft).read_text(encoding="utf-8"))
    assert state["source_spec"] == "issues/hikari.json"
    outside = repo.parent / "outside-issue.json"
    outside.write_text((repo / "issues" / "hikari.json").read_text(encoding="utf-8"), encoding="utf-8")
    result = cli("from-issue", outside, "--model", "offline", "--out", "docs/other.md")
    assert result.exit_code == 0, result.stderr
    assert json.loads(state_path(repo / "docs" / "other.md").read_text(encoding="utf-8"))["source_spec"] == (
        "outside-issue.json"  # outside the repository: the bare name, never a path that climbs out
    )


def test_without_the_state_file_status_says_so_and_redraft_merges_two_ways(repo: Path) -> None:
    draft = _draft(repo)
    text = draft.read_text(encoding="utf-8")
    goal_todo = "TODO(drafter): state the goals that were agreed, each with a check that shows it met."
    assert goal_todo in text
    draft.write_text(text.replace(goal_todo, "Our own goal."), encoding="utf-8")
    state_path(draft).unlink()

    status = cli("status", draft, "--source", "issues/hikari.json")
    assert status.exit_code == 0, status.stderr
    assert "no state" in status.stdout and "commit the state file" in status.stdout

    redone = cli(
        "redraft", draft, "--section", "Goals", "--model", "offline", "--source", "issues/hikari.json"
    )
    assert redone.exit_code == 1, redone.stderr  # the human's lines are kept as conflicts
    assert "warning: the state file" in redone.stderr and "is missing" in redone.stderr
    after = draft.read_text(encoding="utf-8")
    assert "<<<<<<<" in after and "Our own goal." in after
    assert state_path(draft).exists()  # written again with what it knows now


def test_batch_drafts_again_when_the_state_is_missing(repo: Path) -> None:
    args = [
        "batch",
        "issues/hikari.json",
        "--model",
        "offline",
        "--out-dir",
        "docs/design",
        "--report",
        "r.json",
    ]

    def statuses() -> list[str]:
        result = cli(*args)
        assert result.exit_code == 0, result.stderr
        return [item["status"] for item in json.loads((repo / "r.json").read_text(encoding="utf-8"))["items"]]

    assert statuses() == ["written"]
    assert statuses() == ["unchanged"]
    draft = Path(json.loads((repo / "r.json").read_text(encoding="utf-8"))["items"][0]["path"])
    state_path(draft).unlink()
    assert statuses() == ["written"]  # unedited, so drafted again, which restores its state
    assert state_path(draft).exists()


def test_an_old_inline_draft_works_and_is_migrated_on_its_next_write(repo: Path) -> None:
    draft = _draft(repo)
    record = read_draft(draft.read_text(encoding="utf-8"), draft)
    assert record.state == "file" and record.provenance is not None
    # Rewrite it as drafter wrote drafts before the state file: one inline block, no state file.
    legacy_block = json.dumps(
        {"schema": "drafter.document.provenance/1", **json.loads(record.provenance.state_json())}
    )
    old = record.body.rstrip("\n") + "\n\n<!-- drafter:provenance\n" + legacy_block + "\n-->\n"
    old = old.replace('"bases": {', '"bases_unused": {')  # old drafts stored bases compressed
    draft.write_text(old, encoding="utf-8")
    state_path(draft).unlink()
    assert read_draft(old, draft).state == "inline"

    status = cli("status", draft)
    assert status.exit_code == 0 and "no state" not in status.stdout

    redone = cli("redraft", draft, "--section", "Goals", "--model", "offline")
    assert redone.exit_code == 0, redone.stderr
    after = draft.read_text(encoding="utf-8")
    assert "<!-- drafter:provenance" not in after and after.count("<!-- drafter {") == 1
    assert read_draft(after, draft).state == "file"


def test_a_draft_cannot_be_named_like_a_state_file_and_each_draft_has_its_own(repo: Path) -> None:
    (repo / "docs").mkdir()
    bad = cli("from-issue", "issues/hikari.json", "--model", "offline", "--out", "docs/x.drafter.json")
    assert bad.exit_code == 2 and "named like a draft's state file" in bad.stderr
    assert not (repo / "docs" / "x.drafter.json").exists()
    for name in ("x.md", "x.txt"):
        assert (
            cli("from-issue", "issues/hikari.json", "--model", "offline", "--out", f"docs/{name}").exit_code
            == 0
        )
    for name in ("x.md", "x.txt"):
        draft = repo / "docs" / name
        assert read_draft(draft.read_text(encoding="utf-8"), draft).state == "file"


def test_a_state_file_of_another_write_or_a_broken_one_is_not_used(repo: Path) -> None:
    draft = _draft(repo)
    state = state_path(draft)
    good = state.read_text(encoding="utf-8")
    # Same hashes but other content (a state written for a draft whose own write then failed).
    state.write_text(good.replace('"partial": false', '"partial": true'), encoding="utf-8")
    assert read_draft(draft.read_text(encoding="utf-8"), draft).state == "stale"
    state.write_text("{not json", encoding="utf-8")
    assert read_draft(draft.read_text(encoding="utf-8"), draft).state == "invalid"
    status = cli("status", draft)
    assert status.exit_code == 0 and "cannot be read as a state file" in status.stdout


def test_hand_edited_state_values_of_the_wrong_type_are_dropped(repo: Path) -> None:
    draft = _draft(repo)
    state = state_path(draft)
    data = json.loads(state.read_text(encoding="utf-8"))
    data["bases"] = {"solution-overview/goals": 5}
    data["notes"] = [1, {"a": 2}, "kept"]
    data["section_sources"] = {"x": "not a list"}
    from drafter.document.provenance import Provenance

    prov = Provenance.from_dict(data)
    assert prov.bases == {} and prov.notes == ["kept"] and prov.section_sources == {}


def test_redraft_without_state_of_an_unedited_draft_is_clean_and_marks_the_state_partial(repo: Path) -> None:
    draft = _draft(repo)
    state_path(draft).unlink()
    absolute = str(repo / "issues" / "hikari.json")
    redone = cli("redraft", draft, "--section", "Goals", "--model", "offline", "--source", absolute)
    assert redone.exit_code == 0, redone.stderr
    assert "rebuilt with only this section's record" in redone.stderr
    assert "<<<<<<<" not in draft.read_text(encoding="utf-8")  # nothing of a human's to protect
    state = json.loads(state_path(draft).read_text(encoding="utf-8"))
    assert state["partial"] is True and state["source_spec"] == "issues/hikari.json"  # not the absolute path
    status = cli("status", draft)
    assert "rebuilt by a redraft" in status.stdout


def test_status_still_reports_edits_when_the_issue_file_is_gone(repo: Path) -> None:
    draft = _draft(repo)
    (repo / "issues" / "hikari.json").rename(repo / "moved.json")
    draft.write_text(
        draft.read_text(encoding="utf-8").replace("## 5. References", "## 5. References\n\nMine."),
        encoding="utf-8",
    )
    status = cli("status", draft)
    assert status.exit_code == 0, status.stderr
    assert "was not found" in status.stderr and "--source" in status.stderr
    assert "edited by a human: 5. References" in status.stdout
