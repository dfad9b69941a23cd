"""``drafter review``: deterministic checks, the review chain over a fake chat model, output formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from drafter.cli import app
from drafter.document.regions import locate
from drafter.errors import ProviderError
from drafter.model.choice import resolve_model
from drafter.model.handle import ModelHandle
from drafter.pipeline import DraftOptions, draft
from drafter.revise.review import DEFAULT_BUDGET, review_text
from drafter.sources.context import Comment, IssueContext
from drafter.template.outline import load_outline
from tests.support.chat import RecordingFake, reply

runner = CliRunner()
URL = "https://github.com/acme/exports/issues/7"


def issue() -> IssueContext:
    return IssueContext(
        title="Export job times out",
        body="The export job times out on large accounts. See https://docs.example.org/export for the job.",
        tracker="github",
        url=URL,
        number="7",
        repo="acme/exports",
        comments=(Comment("101", "bob", "Batching would fix it.", f"{URL}#issuecomment-101"),),
    )


@pytest.fixture
def drafted(tmp_path: Path) -> Path:
    source = tmp_path / "issue.json"
    source.write_text(json.dumps(issue().to_dict()), encoding="utf-8")
    out = tmp_path / "draft.md"
    result = runner.invoke(
        app,
        ["from-issue", str(source), "--model", "offline", "--author", "Ada", "--out", str(out), "-t", "adr"],
    )
    assert result.exit_code == 0, result.stderr
    return out


def cli(*args: str | Path) -> Any:
    return runner.invoke(app, ["review", *(str(a) for a in args)])


def rules(data: dict[str, Any]) -> set[str]:
    return {f["rule"] for f in data["findings"]}


def test_offline_review_runs_deterministic_checks_and_says_so(drafted: Path) -> None:
    result = cli(drafted, "--model", "offline", "--format", "json")
    assert result.exit_code == 0, result.stderr  # only warnings: the default gate is error
    [data] = json.loads(result.stdout)
    assert data["offline"] is True
    assert any("only deterministic checks ran" in note for note in data["notes"])
    assert "structure/todo-left" in rules(data)
    assert all(f["section"] and f["line"] >= 1 and f["fix"] for f in data["findings"])
    gated = cli(drafted, "--model", "offline", "--fail-on", "warning")
    assert gated.exit_code == 1


def test_invented_link_is_an_error_anchored_to_its_line(drafted: Path) -> None:
    text = drafted.read_text(encoding="utf-8")
    text = text.replace(
        "## Decision\n\n", "## Decision\n\nWe follow https://evil.example.com/made-up here.\n", 1
    )
    drafted.write_text(text, encoding="utf-8")
    line = text.split("\n").index("We follow https://evil.example.com/made-up here.") + 1
    result = cli(drafted, "--model", "offline", "--format", "github")
    assert result.exit_code == 1
    wanted = f"::error file={drafted},line={line},title=drafter link-not-in-inputs::Decision: reference"
    assert any(row.startswith(wanted) for row in result.stdout.splitlines()), result.stdout
    assert "::notice" in result.stdout


def test_near_empty_and_over_budget(drafted: Path) -> None:
    outline = load_outline("adr")
    text = drafted.read_text(encoding="utf-8")
    regions = {r.section.heading: r.text for r in locate(text, outline).regions.values()}
    text = text.replace(regions["Context"], "Short.").replace(
        regions["Decision"], "word " * (DEFAULT_BUDGET + 5)
    )
    report = review_text(text, outline, ctx=issue())
    found = {(f.rule, f.section) for f in report.findings}
    assert ("near-empty", "Context") in found and ("over-budget", "Decision") in found


def test_markdown_report_for_a_pull_request(drafted: Path) -> None:
    result = cli(drafted, "--model", "offline", "--format", "markdown")
    assert result.stdout.startswith("## drafter review\n")
    assert "| Line | Severity | Section | Finding | Suggested fix |" in result.stdout
    assert "> offline review" in result.stdout


def _model_review(answer: dict[str, Any]) -> tuple[Any, RecordingFake]:
    outline = load_outline("adr")
    text = draft(issue(), outline, DraftOptions(model=resolve_model("offline", {}))).text
    chat = RecordingFake(messages=iter([reply(answer)]))
    return review_text(text, outline, ctx=issue(), handle=ModelHandle(chat, "fake")), chat


def test_review_chain_findings_are_anchored_and_unsourced_claims_flagged() -> None:
    answer = {
        "findings": [
            {
                "section": "Consequences",
                "quote": "",
                "category": "missing-rollback",
                "severity": "error",
                "message": "No way back is described.",
                "fix": "Say how to switch back.",
                "sources": ["issue"],
            },
            {
                "section": "Context",
                "quote": "The export job times out",
                "category": "unsupported-claim",
                "severity": "warning",
                "message": "The account size is not in the thread.",
                "fix": "Cite the comment.",
                "sources": [],
            },
        ]
    }
    report, chat = _model_review(answer)
    assert report.model == "fake" and report.usage["calls"] == 1 and report.failed("error")
    prompt = chat.seen[0][1].content
    assert "unsupported-claim" in prompt and "<issue_data" in prompt
    model = [f for f in report.findings if f.origin == "model"]
    rollback = next(f for f in model if f.rule == "review/missing-rollback")
    assert rollback.section == "Consequences" and rollback.severity == "error"
    claim = next(f for f in model if f.rule == "review/unsupported-claim")
    assert "cites no input" in claim.message and claim.section == "Context"
    assert "The export job times out" in report_text_line(claim.line)


def report_text_line(line: int) -> str:
    outline = load_outline("adr")
    text = draft(issue(), outline, DraftOptions(model=resolve_model("offline", {}))).text
    return text.split("\n")[line - 1]


def test_unusable_model_answer_is_a_provider_error() -> None:
    outline = load_outline("adr")
    chat = RecordingFake(messages=iter([reply("not json"), reply("still not json")]))
    with pytest.raises(ProviderError):
        review_text("# x\n", outline, handle=ModelHandle(chat, "fake"))
