"""Partial drafts: a chain whose answers stay unusable is recorded, reported and finished later.

A transient fault (two unusable answers in a row) must not leave a draft degraded for good with
exit 0: the draft is written as ``partial`` (exit 1), its state names the failed sections, and a
re-run (``batch``) or ``redraft --failed`` drafts only those, leaving a human's edits alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from typer.testing import CliRunner

from drafter.cli import app
from drafter.document.provenance import read_draft
from drafter.drafting.chains import plan
from drafter.model.choice import resolve_model
from drafter.model.handle import ModelHandle
from drafter.pipeline import DraftOptions
from drafter.template.outline import Outline, load_outline
from tests.support.batching import batch
from tests.support.chat import SchemaChat, reply
from tests.support.issues import ISSUES


class BrokenChat(SchemaChat):
    """Answers every chain validly, except the chains in ``broken``, which get prose."""

    broken: set[str] = set()

    def _answer(self, messages: list[BaseMessage]) -> ChatResult:
        text = "\n".join(str(m.content) for m in messages)
        matching = [s for s in self.specs if all(f'"{key}": {{"sources"' in text for key in s.sections)]
        spec = max(matching, key=lambda s: len(s.sections))
        if spec.name in self.broken:
            return ChatResult(generations=[ChatGeneration(message=reply("Sorry, I cannot help with that."))])
        return super()._answer(messages)


def model(outline: Outline, broken: set[str]) -> tuple[BrokenChat, DraftOptions]:
    chat = BrokenChat(specs=plan(outline), broken=broken)
    options = DraftOptions(
        model=resolve_model("openai:fake", {"OPENAI_API_KEY": "sk-test"}),
        handle=ModelHandle(chat, "openai:fake"),
        author="Ada",
    )
    return chat, options


def state_of(path: Path) -> Any:
    record = read_draft(path.read_text(encoding="utf-8"), path)
    assert record.provenance is not None and record.state == "file"
    return record.provenance


@pytest.fixture
def outline() -> Outline:
    return load_outline("technical-design")


def solution_ids(outline: Outline) -> list[str]:
    spec = next(s for s in plan(outline) if s.name == "solution")
    from drafter.document.content import section_id

    return [section_id(section) for section in spec.sections.values()]


# -- batch ------------------------------------------------------------------------------------------
def test_a_chain_that_fails_twice_makes_the_item_partial_and_the_run_exit_1(
    tmp_path: Path, outline: Outline
) -> None:
    chat, options = model(outline, {"solution"})
    run, _ = batch(ISSUES[:2], outline, tmp_path, options)
    assert [item.status for item in run.items] == ["partial", "partial"]
    assert run.exit_code() == 1 and run.totals()["partial"] == 2
    item = run.items[0]
    assert "unusable after retries" in (item.reason or "") and "re-run redrafts only those" in (
        item.reason or ""
    )
    # Every call is counted, the two failed answers of the solution chain included.
    assert item.usage["calls"] == len(plan(outline)) + 1
    assert state_of(Path(item.path or "")).failed == solution_ids(outline)


def test_a_rerun_redrafts_only_the_failed_sections_and_keeps_human_edits(
    tmp_path: Path, outline: Outline
) -> None:
    _, options = model(outline, {"solution"})
    run, _ = batch(ISSUES[:1], outline, tmp_path, options)
    path = Path(run.items[0].path or "")
    text = path.read_text(encoding="utf-8")
    edited = text.replace("## 1. Problem Statement\n", "## 1. Problem Statement\n\nA HUMAN WROTE THIS.\n", 1)
    assert edited != text
    path.write_text(edited, encoding="utf-8")

    chat, options = model(outline, set())  # the fault has passed
    again, _ = batch(ISSUES[:1], outline, tmp_path, options)
    item = again.items[0]
    assert item.status == "written", item.reason
    assert "redrafted the" in (item.reason or "")
    assert chat.calls == 1 and item.usage["calls"] == 1  # the solution chain, once
    after = path.read_text(encoding="utf-8")
    assert "A HUMAN WROTE THIS." in after
    assert "the model's answer" not in after  # no TODO left from the failed chain
    assert state_of(path).failed == []

    chat, options = model(outline, set())
    third, _ = batch(ISSUES[:1], outline, tmp_path, options)
    assert third.items[0].status == "skipped-edited" and chat.calls == 0


def test_a_rerun_that_fails_again_stays_partial(tmp_path: Path, outline: Outline) -> None:
    _, options = model(outline, {"solution"})
    batch(ISSUES[:1], outline, tmp_path, options)
    chat, options = model(outline, {"solution"})
    run, _ = batch(ISSUES[:1], outline, tmp_path, options)
    item = run.items[0]
    assert item.status == "partial" and run.exit_code() == 1
    assert "still unusable" in (item.reason or "")
    assert chat.calls == 2 and item.usage["calls"] == 2  # one chain and its one retry
    assert state_of(Path(item.path or "")).failed == solution_ids(outline)


def test_a_failed_section_a_human_filled_in_is_kept_and_no_longer_failed(
    tmp_path: Path, outline: Outline
) -> None:
    _, options = model(outline, {"risks"})
    run, _ = batch(ISSUES[:1], outline, tmp_path, options)
    path = Path(run.items[0].path or "")
    failed = state_of(path).failed
    assert failed
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    # The human writes their own text under the first failed section's heading.
    heading = next(i for i, line in enumerate(lines) if line.lstrip("#").strip() == "4.1 Phasing")
    lines.insert(heading + 1, "\nOUR OWN RISK ANALYSIS.")
    path.write_text("\n".join(lines), encoding="utf-8")

    chat, options = model(outline, set())
    again, _ = batch(ISSUES[:1], outline, tmp_path, options)
    assert "OUR OWN RISK ANALYSIS." in path.read_text(encoding="utf-8")
    assert again.items[0].status in ("written", "invalid"), again.items[0].reason
    assert state_of(path).failed == []  # filled in by the human, the others redrafted
    assert chat.calls == 1


# -- from-issue and redraft --failed ----------------------------------------------------------------
def _handle(outline: Outline, broken: set[str]) -> Any:
    chat = BrokenChat(specs=plan(outline), broken=broken)
    return ModelHandle(chat, "openai:fake")


def test_from_issue_reports_partial_and_redraft_failed_finishes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outline: Outline
) -> None:
    from drafter.model import openai as providers

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    runner = CliRunner()
    monkeypatch.setattr(providers, "build_handle", lambda choice: _handle(outline, {"problem"}))
    result = runner.invoke(
        app,
        ["from-issue", str(ISSUES[1]), "--out-dir", str(tmp_path), "--model", "openai:fake", "-f", "json"],
    )
    assert result.exit_code == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["partial"] is True and data["failed_sections"]
    path = Path(data["path"])
    assert state_of(path).failed == data["failed_sections"]

    text = runner.invoke(
        app, ["from-issue", str(ISSUES[1]), "--out-dir", str(tmp_path), "--model", "openai:fake"]
    )
    assert text.exit_code == 1
    assert "partial draft:" in text.stderr and f"drafter redraft {path} --failed" in text.stderr

    monkeypatch.setattr(providers, "build_handle", lambda choice: _handle(outline, set()))
    fixed = runner.invoke(
        app, ["redraft", str(path), "--failed", "--model", "openai:fake", "--source", str(ISSUES[1])]
    )
    assert fixed.exit_code == 0, fixed.stderr
    assert "1 model calls" in fixed.stderr and "regenerated" in fixed.stderr
    assert state_of(path).failed == []
    nothing = runner.invoke(
        app, ["redraft", str(path), "--failed", "--model", "openai:fake", "--source", str(ISSUES[1])]
    )
    assert nothing.exit_code == 0 and "records no failed sections" in nothing.stderr


def test_redraft_failed_that_fails_again_exits_1_and_keeps_the_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outline: Outline
) -> None:
    from drafter.model import openai as providers

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr(providers, "build_handle", lambda choice: _handle(outline, {"risks"}))
    runner = CliRunner()
    first = runner.invoke(
        app,
        ["from-issue", str(ISSUES[1]), "--out-dir", str(tmp_path), "--model", "openai:fake", "-f", "json"],
    )
    path = Path(json.loads(first.stdout)["path"])
    failed = state_of(path).failed
    again = runner.invoke(
        app, ["redraft", str(path), "--failed", "--model", "openai:fake", "--source", str(ISSUES[1])]
    )
    assert again.exit_code == 1, again.stderr
    assert "unusable again; it stays a TODO" in again.stderr
    assert state_of(path).failed == failed


@pytest.mark.parametrize("args", [[], ["--failed", "--section", "2.1"]])
def test_redraft_needs_exactly_one_of_section_or_failed(tmp_path: Path, args: list[str]) -> None:
    path = tmp_path / "x.md"
    path.write_text("# x\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["redraft", str(path), *args])
    assert result.exit_code == 2
    assert "give one of --section NAME or --failed" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_failed_section_the_human_deleted_does_not_block_the_others(
    tmp_path: Path, outline: Outline
) -> None:
    _, options = model(outline, {"problem"})
    run, _ = batch(ISSUES[:1], outline, tmp_path, options)
    path = Path(run.items[0].path or "")
    text = path.read_text(encoding="utf-8")
    start = text.index("### 1.3 Root Cause Analysis")
    end = text.index("## 2.", start)
    path.write_text(text[:start] + text[end:], encoding="utf-8")  # the human drops the optional 1.3

    chat, options = model(outline, set())
    again, _ = batch(ISSUES[:1], outline, tmp_path, options)
    item = again.items[0]
    assert item.status in ("written", "invalid"), item.reason
    assert chat.calls == 1 and state_of(path).failed == []
    assert "1.3 Root Cause Analysis" not in path.read_text(encoding="utf-8")


def test_an_edited_partial_draft_is_not_repaired_with_another_template(
    tmp_path: Path, outline: Outline
) -> None:
    _, options = model(outline, {"solution"})
    run, _ = batch(ISSUES[:1], outline, tmp_path, options)
    path = Path(run.items[0].path or "")
    path.write_text(path.read_text(encoding="utf-8") + "\nA human line.\n", encoding="utf-8")
    before = path.read_bytes()
    adr = load_outline("adr")
    chat, options = model(adr, set())
    again, _ = batch(ISSUES[:1], adr, tmp_path, options)
    # An ADR draft is a file of its own (named after its template): the edited draft is untouched.
    assert again.items[0].status == "written" and again.items[0].path != str(path)
    assert path.read_bytes() == before


def test_redraft_failed_takes_the_template_file_the_draft_was_made_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drafter.model import openai as providers
    from drafter.template.resources import builtin_dir

    team = tmp_path / "tpl" / "team.md"
    team.parent.mkdir()
    team.write_text((builtin_dir("templates") / "adr.md").read_text(encoding="utf-8"), encoding="utf-8")
    outline = load_outline(str(team))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(providers, "build_handle", lambda choice: _handle(outline, {plan(outline)[0].name}))
    runner = CliRunner()
    first = runner.invoke(
        app, ["from-issue", str(ISSUES[1]), "-m", "openai:fake", "--template", str(team), "--out", "d.md"]
    )
    assert first.exit_code == 1, first.stderr
    assert f"drafter redraft d.md --failed --template {team}" in first.stderr
    monkeypatch.setattr(providers, "build_handle", lambda choice: _handle(outline, set()))
    done = runner.invoke(
        app,
        [
            "redraft",
            "d.md",
            "--failed",
            "-m",
            "openai:fake",
            "--template",
            str(team),
            "--source",
            str(ISSUES[1]),
        ],
    )
    assert done.exit_code == 0, done.stderr
    assert state_of(tmp_path / "d.md").failed == []


def test_redraft_failed_without_the_state_file_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drafter.document.provenance import state_path
    from drafter.model import openai as providers

    outline = load_outline("technical-design")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr(providers, "build_handle", lambda choice: _handle(outline, {"risks"}))
    out = tmp_path / "d.md"
    CliRunner().invoke(app, ["from-issue", str(ISSUES[1]), "-m", "openai:fake", "--out", str(out)])
    state_path(out).unlink()
    result = CliRunner().invoke(app, ["redraft", str(out), "--failed", "-m", "openai:fake"])
    assert result.exit_code == 2
    assert "cannot tell which sections of the draft failed" in result.stderr and "--section" in result.stderr
