"""``drafter validate`` and ``drafter templates`` through Typer's CliRunner: exit codes and formats."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drafter.cli import app
from drafter.cli.validate import gh_escape
from drafter.template.findings import RULES
from tests.support.cli import one_line_error, run
from tests.support.paths import DOCS

TD = DOCS / "technical-design.md"

runner = CliRunner()


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No .drafter/templates overrides from the checkout leak into these runs.
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    path = tmp_path / "bad.md"
    text = TD.read_text(encoding="utf-8").replace("**Status:** In Review", "**Status:** Done")
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def todo(tmp_path: Path) -> Path:
    path = tmp_path / "todo.md"
    path.write_text(TD.read_text(encoding="utf-8") + "\nTODO: link the dashboard.\n", encoding="utf-8")
    return path


# -- exit codes ----------------------------------------------------------------------------------


def test_valid_document_exits_0() -> None:
    result = run("validate", TD)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr.strip() == "1 file checked: 1 valid, 0 invalid (0 errors, 0 warnings)"


@pytest.mark.parametrize(("name", "doc"), [("rfc", "rfc.md"), ("adr", "adr.md")])
def test_builtin_templates_by_name(name: str, doc: str) -> None:
    assert run("validate", "--template", name, DOCS / doc).exit_code == 0
    assert run("validate", "-t", name, TD).exit_code == 1


@pytest.mark.parametrize(
    ("template", "good", "bad_doc"),
    [("kep-template.md", "kep.md", "kep-bad.md"), ("rust-rfc-template.md", "rust-rfc.md", "rust-rfc-bad.md")],
)
def test_team_template_by_path(template: str, good: str, bad_doc: str) -> None:
    assert run("validate", "--template", DOCS / template, DOCS / good).exit_code == 0
    result = run("validate", "--template", DOCS / template, DOCS / bad_doc)
    assert result.exit_code == 1
    assert "[missing-section]" in result.stdout or "[metadata-missing]" in result.stdout


def test_errors_exit_1_with_text_lines(bad: Path) -> None:
    result = run("validate", bad)
    assert result.exit_code == 1
    line = next(i for i, text in enumerate(bad.read_text().split("\n")) if "Status:" in text) + 1
    assert result.stdout.splitlines() == [
        f"{bad}:{line}: error [metadata-invalid] header field 'Status' is 'Done'; use one of Draft, In Review, Approved"
    ]
    assert result.stderr.strip() == "1 file checked: 0 valid, 1 invalid (1 errors, 0 warnings)"


def test_warnings_alone_exit_0_and_strict_exits_1(todo: Path) -> None:
    relaxed = run("validate", todo)
    assert relaxed.exit_code == 0
    assert "warning [todo-left]" in relaxed.stdout
    strict = run("validate", "--strict", todo)
    assert strict.exit_code == 1
    assert "error [todo-left]" in strict.stdout
    assert "1 invalid (1 errors, 0 warnings)" in strict.stderr


def test_unknown_section_warning_is_an_error_under_strict(tmp_path: Path) -> None:
    path = tmp_path / "extra.md"
    path.write_text(
        TD.read_text(encoding="utf-8") + "\n## 6. Appendix\n\nLoad test numbers.\n", encoding="utf-8"
    )
    assert run("validate", path).exit_code == 0
    assert run("validate", path, "--strict").exit_code == 1


def test_many_files_mixed(bad: Path, todo: Path) -> None:
    result = run("validate", TD, bad, todo)
    assert result.exit_code == 1
    assert "3 files checked: 2 valid, 1 invalid (1 errors, 1 warnings)" in result.stderr


@pytest.mark.parametrize("kind", ["missing", "directory", "binary", "latin-1", "fifo"])
def test_unreadable_file_exits_2_with_one_line(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{kind}.md"
    if kind == "directory":
        path.mkdir()
    elif kind == "binary":
        path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    elif kind == "latin-1":
        path.write_bytes("# Caf\xe9 design\n".encode("latin-1"))
    elif kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs here")
        os.mkfifo(path)
    result = run("validate", path)
    assert result.exit_code == 2
    (message,) = result.stdout.splitlines()
    assert message.startswith(f"{path}: error: ")
    assert "Traceback" not in result.output
    expected = {
        "missing": "does not exist",
        "directory": "is a directory",
        "binary": "looks binary",
        "latin-1": "is not valid UTF-8",
        "fifo": "is not a regular file",
    }[kind]
    assert expected in message


def test_unreadable_file_does_not_hide_other_results(tmp_path: Path, bad: Path) -> None:
    result = run("validate", TD, tmp_path / "nope.md", bad)
    assert result.exit_code == 2
    assert "[metadata-invalid]" in result.stdout
    assert "nope.md: error: document" in result.stdout


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.md"
    path.write_bytes(b"\xef\xbb\xbf" + TD.read_bytes())
    assert run("validate", path).exit_code == 0


def test_crlf_document_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "crlf.md"
    path.write_bytes(TD.read_bytes().replace(b"\n", b"\r\n"))
    assert run("validate", path).exit_code == 0


def test_unknown_template_exits_2_with_one_line() -> None:
    result = run("validate", "--template", "nope", TD)
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "unknown template 'nope'" in line and "drafter templates list" in line


@pytest.mark.parametrize(
    ("text", "message"),
    [("Just prose.\n", "has no headings"), ("## Goals\n\n## Goals\n", "repeats the heading 'Goals'")],
)
def test_broken_template_exits_2(tmp_path: Path, text: str, message: str) -> None:
    template = tmp_path / "team.md"
    template.write_text(text, encoding="utf-8")
    result = run("validate", "--template", template, TD)
    assert result.exit_code == 2
    assert message in one_line_error(result)


def test_missing_template_path_exits_2(tmp_path: Path) -> None:
    result = run("validate", "--template", tmp_path / "gone.md", TD)
    assert result.exit_code == 2
    assert "does not exist" in one_line_error(result)


@pytest.mark.parametrize(
    "args", [["validate"], ["validate", "--format", "xml", str(TD)], ["validate", "--bogus", str(TD)]]
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


# -- template selection --------------------------------------------------------------------------


def test_template_marker_selects_template(tmp_path: Path) -> None:
    path = tmp_path / "marked.md"
    path.write_text(
        "<!-- drafter:template rfc -->\n" + (DOCS / "rfc.md").read_text(encoding="utf-8"), encoding="utf-8"
    )
    assert run("validate", path).exit_code == 0
    # --template wins over the marker.
    result = run("validate", "--template", "adr", path, "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)[0]["template"] == "adr"


def test_template_marker_with_path_is_refused(tmp_path: Path) -> None:
    template = tmp_path / "kep.md"
    template.write_text((DOCS / "kep-template.md").read_text(encoding="utf-8"), encoding="utf-8")
    path = tmp_path / "doc.md"
    path.write_text(
        (DOCS / "kep.md").read_text(encoding="utf-8") + "\n<!-- drafter:template ./kep.md -->\n",
        encoding="utf-8",
    )
    result = run("validate", path)
    assert result.exit_code == 2
    assert "names a file path" in one_line_error(result)
    assert run("validate", "--template", "./kep.md", path).exit_code == 0


def test_marker_naming_unknown_template_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "marked.md"
    path.write_text("<!-- drafter:template nonesuch -->\n# T\n", encoding="utf-8")
    result = run("validate", path)
    assert result.exit_code == 2
    assert "unknown template 'nonesuch'" in one_line_error(result)


def test_template_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRAFTER_TEMPLATE", "adr")
    assert run("validate", DOCS / "adr.md").exit_code == 0


def test_default_template_is_technical_design() -> None:
    result = run("validate", DOCS / "adr.md", "-f", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)[0]["template"] == "technical-design"


def test_team_override_is_found_from_cwd(tmp_path: Path) -> None:
    folder = tmp_path / ".drafter" / "templates"
    folder.mkdir(parents=True)
    (folder / "team.md").write_text("## Why\n\n*Say why.*\n", encoding="utf-8")
    doc = tmp_path / "doc.md"
    doc.write_text("## Why\n\nBecause.\n", encoding="utf-8")
    assert run("validate", "-t", "team", doc).exit_code == 0


# -- output formats ------------------------------------------------------------------------------


def test_json_schema(bad: Path, todo: Path, tmp_path: Path) -> None:
    result = run("validate", "--format", "json", TD, bad, todo)
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert isinstance(data, list) and len(data) == 3
    for entry in data:
        assert {"path", "valid", "findings"} <= set(entry)
        assert isinstance(entry["path"], str) and isinstance(entry["valid"], bool)
        for finding in entry["findings"]:
            assert {"rule", "severity", "line", "message"} <= set(finding)
            assert finding["rule"] in RULES
            assert finding["severity"] in ("error", "warning")
            assert isinstance(finding["line"], int) and finding["line"] >= 1
            assert isinstance(finding["message"], str) and finding["message"]
    assert [e["valid"] for e in data] == [True, False, True]
    assert data[0]["findings"] == []
    assert [f["rule"] for f in data[1]["findings"]] == ["metadata-invalid"]
    assert [(f["rule"], f["severity"]) for f in data[2]["findings"]] == [("todo-left", "warning")]
    assert "checked" not in result.stdout  # the summary is only for text output


def test_json_strict_reports_warnings_as_errors(todo: Path) -> None:
    result = run("validate", "--format", "json", "--strict", todo)
    assert result.exit_code == 1
    (entry,) = json.loads(result.stdout)
    assert entry["valid"] is False
    assert [(f["rule"], f["severity"]) for f in entry["findings"]] == [("todo-left", "error")]


def test_json_unreadable_entry(tmp_path: Path) -> None:
    result = run("validate", "-f", "json", TD, tmp_path / "nope.md")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data[1]["path"] == str(tmp_path / "nope.md")
    assert data[1]["valid"] is False and data[1]["findings"] == []
    assert "does not exist" in data[1]["error"]


def test_github_format(bad: Path, todo: Path) -> None:
    result = run("validate", "--format", "github", bad, todo)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert re.fullmatch(
        r"::error file=[^,:]+,line=\d+,title=drafter metadata-invalid::header field 'Status' is 'Done'; .*",
        lines[0],
    ), lines[0]
    assert lines[1].startswith("::warning file=") and "title=drafter todo-left::" in lines[1]
    assert result.stderr == ""
    strict = run("validate", "--format", "github", "--strict", todo)
    assert strict.exit_code == 1 and strict.stdout.startswith("::error ")


def test_github_escaping_of_file_names_and_messages(tmp_path: Path) -> None:
    folder = tmp_path / "a,b:c%d"
    folder.mkdir()
    path = folder / "we\nird.md"
    text = TD.read_text(encoding="utf-8") + "\n## 6. Coverage at 100%\n\nNumbers.\n"
    path.write_text(text, encoding="utf-8")
    result = run("validate", "--format", "github", path)
    assert result.exit_code == 0
    (line,) = result.stdout.splitlines()
    escaped = str(folder).replace("%", "%25").replace(",", "%2C").replace(":", "%3A") + "/we%0Aird.md"
    assert line.startswith(f"::warning file={escaped},line=")
    assert "Coverage at 100%25'" in line and "100%'" not in line
    assert ",title=drafter unknown-section::" in line


def test_github_escaping_of_unreadable_file(tmp_path: Path) -> None:
    result = run("validate", "-f", "github", tmp_path / "mi,ss\ning.md")
    assert result.exit_code == 2
    (line,) = result.stdout.splitlines()
    assert line.startswith("::error file=") and "mi%2Css%0Aing.md::" in line


def test_gh_escape() -> None:
    assert gh_escape("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert gh_escape("a:b,c", prop=True) == "a%3Ab%2Cc"
    assert gh_escape("a:b,c") == "a:b,c"


# -- templates list / show -----------------------------------------------------------------------


def test_templates_list() -> None:
    result = run("templates", "list")
    assert result.exit_code == 0
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert {"adr", "rfc", "technical-design"} <= set(names) and names == sorted(names)
    assert "built-in" in result.stdout and "18 sections" in result.stdout


def test_templates_list_json_with_override(tmp_path: Path) -> None:
    folder = tmp_path / ".drafter" / "templates"
    folder.mkdir(parents=True)
    (folder / "adr.md").write_text("## Decision\n", encoding="utf-8")
    (folder / "kep.md").write_text((DOCS / "kep-template.md").read_text(encoding="utf-8"), encoding="utf-8")
    result = run("templates", "list", "--json")
    assert result.exit_code == 0
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert {"adr", "kep", "rfc", "technical-design"} <= set(rows)
    assert rows["adr"]["origin"] == "override" and rows["adr"]["sections"] == 1
    assert rows["kep"]["origin"] == "override"
    assert rows["rfc"]["origin"] == "built-in" and rows["rfc"]["sections"] == 9


def test_templates_show_text() -> None:
    result = run("templates", "show", "technical-design")
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith("template: technical-design\n")
    assert "title: level-1 heading, placeholder [Task Name/ID]" in out
    assert "metadata: Status (choice one of Draft/In Review/Approved)" in out
    assert "metadata: Date (date YYYY-MM-DD)" in out
    assert "### 1.3 Root Cause Analysis  [optional" in out
    assert "table: Component | Change Type | Description" in out
    assert "fence: json" in out and "fence: any (Current Flow)" in out
    assert "## 1. Problem Statement  [required; chain=problem]" in out


def test_templates_show_json() -> None:
    result = run("templates", "show", "rfc", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["name"] == "rfc" and data["title_level"] is None
    assert [m["name"] for m in data["metadata"]] == ["Feature Name", "Start Date", "RFC PR", "Tracking Issue"]
    assert [s["chain"] for s in data["sections"]][:2] == ["problem", "problem"]
    keys = {
        "heading",
        "title",
        "number",
        "level",
        "required",
        "chain",
        "guidance",
        "placeholders",
        "tables",
        "fences",
    }
    assert keys <= set(data["sections"][0])


def test_templates_show_path_kep_like() -> None:
    result = run("templates", "show", DOCS / "kep-template.md")
    assert result.exit_code == 0
    assert "placeholder NNNN, Your short, descriptive title" in result.stdout
    assert "###### Which existing tests cover this area?  [required]" in result.stdout
    assert "#### Story 1  [optional]" in result.stdout


def test_templates_show_unknown_exits_2() -> None:
    result = run("templates", "show", "nope")
    assert result.exit_code == 2
    assert "unknown template 'nope'" in one_line_error(result)


def test_templates_show_broken_template_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "flat.md"
    path.write_text("no headings at all\n", encoding="utf-8")
    result = run("templates", "show", path)
    assert result.exit_code == 2
    assert "has no headings" in one_line_error(result)


# -- entry points --------------------------------------------------------------------------------


def test_help_lists_validate() -> None:
    result = run("--help")
    assert result.exit_code == 0
    assert "validate" in result.stdout and "templates" in result.stdout
    validate_help = run("validate", "--help")
    assert validate_help.exit_code == 0 and "--strict" in validate_help.stdout


def test_python_m_drafter_help() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "drafter", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "validate" in proc.stdout


def test_python_m_drafter_validate(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "drafter", "validate", "--format", "json", str(TD)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["valid"] is True


# -- many files: the process pool ----------------------------------------------------------------


def _batch(tmp_path: Path, count: int) -> list[Path]:
    folder = tmp_path / "batch"
    folder.mkdir()
    good, bad_text = TD.read_text(encoding="utf-8"), TD.read_text(encoding="utf-8") + "\nTODO: x\n"
    paths = []
    for i in range(count):
        path = folder / f"d{i:03d}.md"
        path.write_text(bad_text if i % 7 == 0 else good, encoding="utf-8")
        paths.append(path)
    return paths


def test_pool_output_matches_one_process(tmp_path: Path) -> None:
    paths = _batch(tmp_path, 70)
    paths.insert(35, tmp_path / "missing.md")
    serial = run("validate", "--jobs", "1", "--format", "json", *paths)
    pooled = run("validate", "--jobs", "2", "--format", "json", *paths)
    default = run("validate", "--format", "json", *paths)  # 71 files: the default uses the pool
    assert serial.exit_code == pooled.exit_code == default.exit_code == 2
    assert serial.stdout == pooled.stdout == default.stdout
    assert [e["path"] for e in json.loads(pooled.stdout)] == [str(p) for p in paths]


def test_pool_reports_a_bad_template_marker_with_its_hint(tmp_path: Path) -> None:
    paths = _batch(tmp_path, 70)
    paths[50].write_text("<!-- drafter:template nonesuch -->\n# T\n", encoding="utf-8")
    result = run("validate", "--jobs", "2", *paths)
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "unknown template 'nonesuch'" in line and "drafter templates list" in line


def test_default_jobs() -> None:
    from drafter.template.documents import POOL_MIN_FILES, default_jobs

    assert default_jobs(1) == 1 and default_jobs(POOL_MIN_FILES - 1) == 1
    assert default_jobs(10_000) >= 1
