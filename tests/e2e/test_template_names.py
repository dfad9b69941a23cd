"""``from-issue`` with several templates on one issue, then ``redraft`` of a parent section, through
the CLI and offline: the flow of issue #20's items 9 and 10 as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from drafter.cli import app
from drafter.document.provenance import split_provenance
from tests.support.paths import EXAMPLE

NAME = "github-brettwooldridge-hikaricp-664-null-poolentry-connection-causes-npe"


def drafter(*args: str | Path) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def from_issue(out: Path, *args: str) -> Any:
    source = out.parent / EXAMPLE.name  # in the repository, so redraft finds it again
    return drafter("from-issue", source, "--out-dir", out, "--model", "offline", "--author", "Ada", *args)


@pytest.fixture
def out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    (tmp_path / EXAMPLE.name).write_bytes(EXAMPLE.read_bytes())
    return tmp_path / "design"


def template_of(path: Path) -> str:
    _, marker = split_provenance(path.read_text(encoding="utf-8"))
    assert marker is not None
    return marker.template


def test_rfc_then_adr_then_default_write_three_drafts(out: Path) -> None:
    for template in ("rfc", "adr"):
        result = from_issue(out, "-t", template, "-f", "json")
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["path"] == str(out / f"{NAME}.{template}.md")
    default = from_issue(out)
    assert default.exit_code == 0, default.stderr
    assert default.stdout.strip() == str(out / f"{NAME}.md")
    named = from_issue(out, "-t", "technical-design", "-f", "json")  # the default, named: the same file
    assert json.loads(named.stdout)["status"] == "unchanged"
    drafts = sorted(p.name for p in out.glob("*.md"))
    assert drafts == [f"{NAME}.adr.md", f"{NAME}.md", f"{NAME}.rfc.md"]
    assert [template_of(out / d) for d in drafts] == ["adr", "technical-design", "rfc"]


def test_a_draft_from_another_template_is_refused_before_any_work(out: Path, tmp_path: Path) -> None:
    target = tmp_path / "doc.md"
    assert from_issue(out, "-t", "rfc", "--out", str(target)).exit_code == 0
    before = target.read_bytes()
    refused = from_issue(out, "-t", "adr", "--out", str(target))
    assert refused.exit_code == 2
    errors = [line for line in refused.stderr.splitlines() if line.strip()]
    assert errors == [
        f"error: {target} is a draft from template 'rfc'; refusing to replace it with one from template "
        "'adr' (pass --force to replace it, or --out to write elsewhere)"
    ]
    assert target.read_bytes() == before
    forced = from_issue(out, "-t", "adr", "--out", str(target), "--force")
    assert forced.exit_code == 0, forced.stderr
    assert template_of(target) == "adr"


def test_redraft_a_parent_section_of_a_template_named_draft(out: Path) -> None:
    assert from_issue(out, "-t", "rfc").exit_code == 0
    path = out / f"{NAME}.rfc.md"
    assert from_issue(out).exit_code == 0
    plain = (out / f"{NAME}.md").read_bytes()
    result = drafter("redraft", path, "--section", "Summary", "--model", "offline")
    assert result.exit_code == 0, result.stderr
    assert "section 'Summary' unchanged" in result.stderr
    parent = drafter("redraft", out / f"{NAME}.md", "--section", "4", "--model", "offline")
    assert parent.exit_code == 0, parent.stderr
    assert "section '4. Implementation Strategy': '4.1 Phasing' unchanged" in parent.stderr
    assert (out / f"{NAME}.md").read_bytes() == plain
