"""Batch reports: JSON shape, JUnit XML, markdown summary, GitHub annotations and step summary."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from drafter.batch.reports import (
    REPORT_SCHEMA,
    annotation,
    append_step_summary,
    github_annotations,
    json_report,
    junit_report,
    markdown_summary,
    write_report,
)
from drafter.batch.runner import STATUSES, BatchItem, BatchRun
from drafter.errors import WriteError

USAGE = {"prompt_tokens": 300, "completion_tokens": 60, "calls": 3}
ERROR = {"rule": "placeholder-left", "severity": "error", "line": 12, "message": "Goals: '[Goal 1]' left"}
WARNING = {"rule": "todo-left", "severity": "warning", "line": 30, "message": "TODO(drafter) left, 50%"}


def sample() -> BatchRun:
    items = [
        BatchItem("acme/w#1", path="docs/design/github-acme-w-1-a.md", status="written", usage=dict(USAGE)),
        BatchItem("acme/w#2", path="docs/design/github-acme-w-2-b.md", status="unchanged"),
        BatchItem(
            "acme/w#3",
            path="docs/design/github-acme-w-3-c.md",
            status="invalid",
            reason="written with 1 validation error",
            findings=[ERROR, WARNING],
            usage=dict(USAGE),
            seconds=1.25,
        ),
        BatchItem("issues/missing.md", status="failed", reason="cannot read issues/missing.md: no such file"),
        BatchItem("acme/w#5", path="docs/design/x.md", status="skipped-edited", reason="edited by a human"),
        BatchItem("acme/w#6", status="skipped-budget", reason="--max-total-tokens 10 reached"),
        BatchItem('a|b <&> "quoted"', status="failed", reason="line one\nline two: 100%, done"),
    ]
    return BatchRun(items, seconds=2.5)


def check_shape(data: dict[str, Any]) -> None:
    assert set(data) == {"schema", "items", "totals"}
    assert data["schema"] == REPORT_SCHEMA
    for item in data["items"]:
        assert set(item) == {"source", "path", "status", "reason", "findings", "usage", "seconds"}
        assert isinstance(item["source"], str)
        assert item["path"] is None or isinstance(item["path"], str)
        assert item["status"] in STATUSES
        assert item["reason"] is None or isinstance(item["reason"], str)
        assert isinstance(item["seconds"], int | float)
        assert set(item["usage"]) == {"prompt_tokens", "completion_tokens", "calls"}
        for finding in item["findings"]:
            assert {"rule", "severity", "line", "message"} <= set(finding)
    totals = data["totals"]
    assert set(totals) == {"items", *STATUSES, "prompt_tokens", "completion_tokens", "calls", "seconds"}
    assert totals["items"] == len(data["items"]) == sum(totals[s] for s in STATUSES)


def test_json_report() -> None:
    data = json.loads(json_report(sample()))
    check_shape(data)
    totals = data["totals"]
    assert totals["failed"] == 2 and totals["invalid"] == 1 and totals["written"] == 1
    assert totals["calls"] == 6 and totals["prompt_tokens"] == 600
    assert data["items"][2]["findings"] == [ERROR, WARNING]
    check_shape(json.loads(json_report(BatchRun([]))))


def test_junit_is_well_formed() -> None:
    text = junit_report(sample())
    assert text.startswith("<?xml")
    root = ET.fromstring(text)
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("tests") == "7" and suite.get("failures") == "3" and suite.get("skipped") == "2"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [i.source for i in sample().items]
    failures = {c.get("name"): c.find("failure") for c in cases if c.find("failure") is not None}
    assert set(failures) == {"acme/w#3", "issues/missing.md", 'a|b <&> "quoted"'}
    invalid = failures["acme/w#3"]
    assert invalid is not None and invalid.get("type") == "invalid"
    assert "[placeholder-left]" in (invalid.text or "")
    skipped = [c.get("name") for c in cases if c.find("skipped") is not None]
    assert skipped == ["acme/w#5", "acme/w#6"]
    assert cases[2].get("time") == "1.250"
    ET.fromstring(junit_report(BatchRun([])))


def test_markdown_summary() -> None:
    text = markdown_summary(sample())
    assert text.startswith("## drafter batch: some drafts need attention\n")
    assert (
        "7 issues: 1 written, 1 unchanged, 1 skipped-edited, 1 skipped-budget, 1 invalid, 2 failed." in text
    )
    assert "| invalid | acme/w#3 | `docs/design/github-acme-w-3-c.md` | 1 | 1 |" in text
    assert "a\\|b" in text  # a pipe cannot break the table
    assert "line one line two" in text  # nor can a newline
    ok = markdown_summary(BatchRun([BatchItem("x", status="written")]))
    assert ok.startswith("## drafter batch: all drafts ok")


def test_annotation_escaping() -> None:
    line = annotation("error", "50% done\nnext", file="a,b:c.md", line=3, title="t: x")
    assert line == "::error file=a%2Cb%3Ac.md,line=3,title=t%3A x::50%25 done%0Anext"
    assert annotation("warning", "plain") == "::warning::plain"
    assert annotation("notice", "m", file=None, line=None) == "::notice::m"


def test_github_annotations() -> None:
    lines = list(github_annotations(sample()))
    assert lines[0] == (
        "::error title=drafter batch%3A failed::issues/missing.md: cannot read issues/missing.md: no such file"
    )
    assert lines[1].startswith("::error title=drafter batch%3A failed::a|b")
    assert "%0A" in lines[1] and "100%25" in lines[1]
    assert lines[2] == (
        "::error file=docs/design/github-acme-w-3-c.md,line=12,title=drafter [placeholder-left]"
        "::Goals: '[Goal 1]' left"
    )
    assert lines[3] == (
        "::warning file=docs/design/github-acme-w-3-c.md,line=30,title=drafter [todo-left]"
        "::TODO(drafter) left, 50%25"
    )
    assert len(lines) == 4
    capped = list(github_annotations(sample(), limit=2))
    assert len(capped) == 3 and capped[-1] == "::notice::2 more drafter findings; see the batch report"


def test_step_summary_is_appended(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    assert append_step_summary("# one", {}) is False
    assert append_step_summary("# one", {"GITHUB_STEP_SUMMARY": str(target)}) is True
    assert append_step_summary("# two\n", {"GITHUB_STEP_SUMMARY": str(target)}) is True
    assert target.read_text(encoding="utf-8") == "# one\n\n# two\n\n"
    with pytest.raises(WriteError, match="GITHUB_STEP_SUMMARY"):
        append_step_summary("x", {"GITHUB_STEP_SUMMARY": str(tmp_path / "no" / "such" / "file")})


def test_write_report_creates_folders(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "report.json"
    write_report(target, "{}\n")
    assert target.read_text(encoding="utf-8") == "{}\n"
