"""A draft's ``<!-- drafter:template NAME -->`` marker may only name a template the project knows.

Issue 18, item 8: a document that named its own file (``<!-- drafter:template p.md -->`` with a
one-heading ``p.md``) passed any check. A path now comes only from ``--template`` or config; a
marker naming a path or an unknown template is refused with exit 2 and one line.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from drafter.errors import EXIT_USAGE, TemplateError, TemplateMarkerError
from drafter.template.documents import validate_document
from drafter.template.resources import builtin_dir, marker_template
from tests.support.cli import one_line_error, run
from tests.support.paths import EXAMPLE, ROOT

DOCS = ROOT / "tests" / "fixtures" / "docs"
# Satisfied by any document with a title: the template a hostile draft would bring along.
ONE_HEADING = "# Anything\n"
MINI = "## Problem\n\n*What is wrong?*\n\n## Plan\n\n- [Step]\n"
MINI_DOC = "## Problem\n\nIt is slow.\n\n## Plan\n\n- Cache it.\n"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .drafter/templates or drafter.toml from the checkout
    monkeypatch.delenv("DRAFTER_TEMPLATE", raising=False)


def _doc(tmp_path: Path, marker: str, body: str = ONE_HEADING, name: str = "doc.md") -> Path:
    path = tmp_path / name
    path.write_text(f"<!-- drafter:template {marker} -->\n{body}", encoding="utf-8")
    return path


# -- refused -------------------------------------------------------------------------------------
@pytest.mark.parametrize("marker", ["p.md", "./p.md", "sub/p.md", "../sub/p.md", "p.MD", ".hidden"])
def test_marker_naming_a_path_is_refused(tmp_path: Path, marker: str) -> None:
    (tmp_path / "p.md").write_text(ONE_HEADING, encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "p.md").write_text(ONE_HEADING, encoding="utf-8")
    result = run("validate", _doc(tmp_path, marker))
    assert result.exit_code == EXIT_USAGE
    line = one_line_error(result)
    assert f"drafter:template {marker} -->" in line and "names a file path" in line
    assert f"pass --template {marker}" in line and ".drafter/templates/" in line
    assert result.stdout == ""


def test_marker_naming_an_absolute_path_is_refused(tmp_path: Path) -> None:
    template = tmp_path / "p.md"
    template.write_text(ONE_HEADING, encoding="utf-8")
    result = run("validate", _doc(tmp_path, str(template)))
    assert result.exit_code == EXIT_USAGE
    assert "names a file path" in one_line_error(result)


def test_marker_naming_an_unknown_template_is_refused(tmp_path: Path) -> None:
    (tmp_path / "nonesuch").write_text(ONE_HEADING, encoding="utf-8")  # a file by that name is no help
    result = run("validate", _doc(tmp_path, "nonesuch"))
    assert result.exit_code == EXIT_USAGE
    line = one_line_error(result)
    assert "unknown template 'nonesuch'" in line and "technical-design" in line
    assert "--template PATH" in line and "nonesuch.md to .drafter/templates/" in line


def test_refusal_is_a_template_marker_error() -> None:
    with pytest.raises(TemplateMarkerError) as caught:
        validate_document("<!-- drafter:template p.md -->\n# Anything\n")
    assert isinstance(caught.value, TemplateError) and caught.value.exit_code == EXIT_USAGE
    assert "\n" not in str(caught.value)


def test_pool_refuses_a_path_marker_too(tmp_path: Path) -> None:
    (tmp_path / "p.md").write_text(ONE_HEADING, encoding="utf-8")
    good = tmp_path / "good.md"
    shutil.copy(DOCS / "technical-design.md", good)
    result = run("validate", "--jobs", "2", good, _doc(tmp_path, "p.md"), good)
    assert result.exit_code == EXIT_USAGE
    assert "names a file path" in one_line_error(result)


# -- accepted ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["adr", "rfc", "technical-design"])
def test_marker_naming_a_builtin_is_used(tmp_path: Path, name: str) -> None:
    doc = _doc(tmp_path, name, (DOCS / f"{name}.md").read_text(encoding="utf-8"))
    result = run("validate", doc, "--format", "json")
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)[0]["template"] == name


def test_marker_naming_a_repository_template_is_used(tmp_path: Path) -> None:
    folder = tmp_path / ".drafter" / "templates"
    folder.mkdir(parents=True)
    (folder / "mini.md").write_text(MINI, encoding="utf-8")
    assert run("validate", _doc(tmp_path, "mini", MINI_DOC)).exit_code == 0
    result = run("validate", _doc(tmp_path, "mini", "## Problem\n\nIt is slow.\n", name="short.md"))
    assert result.exit_code == 1
    assert "[missing-section]" in result.stdout and "'Plan'" in result.stdout


def test_marker_naming_the_configured_template_file_is_used(tmp_path: Path) -> None:
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "mini.md").write_text(MINI, encoding="utf-8")
    (tmp_path / "drafter.toml").write_text('template = "tpl/mini.md"\n', encoding="utf-8")
    assert run("validate", _doc(tmp_path, "mini", MINI_DOC)).exit_code == 0
    assert marker_template("mini", configured="tpl/mini.md") == "tpl/mini.md"
    # Config names a file by its name only: the path itself is still refused in a marker.
    refused = run("validate", _doc(tmp_path, "tpl/mini.md", MINI_DOC, name="pathy.md"))
    assert refused.exit_code == EXIT_USAGE


def test_explicit_template_path_still_works(tmp_path: Path) -> None:
    (tmp_path / "p.md").write_text(MINI, encoding="utf-8")
    doc = _doc(tmp_path, "p.md", MINI_DOC)
    assert run("validate", "--template", "p.md", doc).exit_code == 0
    assert run("validate", "-t", str(tmp_path / "p.md"), doc).exit_code == 0


def test_marker_template_unit() -> None:
    assert marker_template("rfc") == "rfc"
    assert marker_template("rfc", configured="rfc") == "rfc"
    for name in ("a/b", "a\\b", "C:x", "..", "~x", "x.md"):
        with pytest.raises(TemplateMarkerError):
            marker_template(name, configured=name)


# -- drafts drafter writes -------------------------------------------------------------------------
def _draft(tmp_path: Path, *args: str | Path) -> Path:
    result = run(
        *["from-issue", str(EXAMPLE), "--out-dir", str(tmp_path / "out"), "--model", "offline"],
        *["--author", "Ada", "--format", "json", *(str(a) for a in args)],
    )
    assert result.exit_code == 0, result.stderr
    return Path(json.loads(result.stdout)["path"])


def test_draft_from_a_builtin_validates_by_its_marker(tmp_path: Path) -> None:
    draft = _draft(tmp_path, "--template", "rfc")
    assert "<!-- drafter:template rfc -->" in draft.read_text(encoding="utf-8")
    assert run("validate", draft).exit_code == 0


def test_draft_from_a_template_path_records_its_name(tmp_path: Path) -> None:
    (tmp_path / "tpl").mkdir()
    shutil.copy(builtin_dir("templates") / "technical-design.md", tmp_path / "tpl" / "team.md")
    draft = _draft(tmp_path, "--template", "tpl/team.md")
    text = draft.read_text(encoding="utf-8")
    assert "<!-- drafter:template team -->" in text and "tpl/team.md" not in text
    # Given on the command line only: validate says how to point at the file again.
    refused = run("validate", draft)
    assert refused.exit_code == EXIT_USAGE
    line = one_line_error(refused)
    assert "unknown template 'team'" in line and "--template PATH" in line
    assert run("validate", "--template", "tpl/team.md", draft).exit_code == 0
    # Named in config: the marker resolves to that file with no flag.
    (tmp_path / "drafter.toml").write_text('template = "tpl/team.md"\n', encoding="utf-8")
    assert run("validate", draft).exit_code == 0
