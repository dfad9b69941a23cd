"""Outline parser tests: every built-in template, plus KEP-like and Rust-RFC-like team templates."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from drafter.errors import TemplateError
from drafter.template.metadata import metadata_lines
from drafter.template.outline import (
    Outline,
    clean_title,
    default_chain,
    load_outline,
    outline_to_dict,
    parse_template,
    placeholders_in,
    split_number,
    title_key,
    title_placeholders_in,
)
from drafter.template.resources import DEFAULT_TEMPLATE, builtin_dir, resolve_template, template_names
from tests.support.paths import DOCS

BUILTINS = ("adr", "rfc", "technical-design")


def headings(outline: Outline) -> list[tuple[int, str | None, str, bool]]:
    return [(s.level, s.number, s.title, s.required) for s in outline.walk()]


# -- titles, numbers, placeholders ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "number", "title", "optional"),
    [
        ("2.3 Proposed Approach", "2.3", "Proposed Approach", False),
        ("1. Problem Statement", "1", "Problem Statement", False),
        ("4) Rollout", "4", "Rollout", False),
        ("1.3 Root Cause Analysis (Optional)", "1.3", "Root Cause Analysis", True),
        ("3.4 API Changes (if applicable)", "3.4", "API Changes", True),
        ("Story 1 (optional)", None, "Story 1", True),
        ("Infrastructure Needed (If Needed)", None, "Infrastructure Needed", True),
        ("Summary", None, "Summary", False),
    ],
)
def test_clean_title(raw: str, number: str | None, title: str, optional: bool) -> None:
    assert clean_title(raw) == (number, title, optional)


def test_split_number() -> None:
    assert split_number("2.3 Proposed Approach") == ("2.3", "Proposed Approach")
    assert split_number("10.12. Appendix") == ("10.12", "Appendix")
    assert split_number("Proposed Approach") == (None, "Proposed Approach")
    assert split_number("2.3") == (None, "2.3")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("2.3 Proposed Approach", "proposed approach"),
        ("4.2 Risks & Mitigations", "Risks and Mitigations"),
        ("3.1 Architecture / Workflow Changes", "architecture workflow changes"),
        ("Notes/Constraints/Caveats (Optional)", "Notes Constraints Caveats"),
        ("Guide-level explanation", "guide level explanation"),
    ],
)
def test_title_key_folds_numbers_case_and_punctuation(a: str, b: str) -> None:
    assert title_key(a) == title_key(b)


def test_placeholders_in() -> None:
    assert placeholders_in("1. [Goal 1] and [YYYY-MM-DD]") == ["[Goal 1]", "[YYYY-MM-DD]"]
    assert placeholders_in("- [ ] task, - [x] done, [Optional], [UNRESOLVED]") == []
    assert placeholders_in("no brackets here") == []


def test_title_placeholders_in() -> None:
    assert title_placeholders_in("KEP-NNNN: Your short, descriptive title") == [
        "NNNN",
        "Your short, descriptive title",
    ]
    assert title_placeholders_in("[Task Name/ID] Technical Design") == ["[Task Name/ID]"]
    assert title_placeholders_in("ADR: [Short title of the decision]") == ["[Short title of the decision]"]
    assert title_placeholders_in("ADR-XXXX: Decision") == ["XXXX"]
    assert title_placeholders_in("Payments Design Review") == []


@pytest.mark.parametrize(
    ("title", "chain"),
    [
        ("Problem Statement", "problem"),
        ("Motivation", "problem"),
        ("Solution Overview", "solution"),
        ("Decision", "solution"),
        ("Risks and Mitigations", "risks"),
        ("Implementation Strategy", "risks"),
        ("References", "risks"),
    ],
)
def test_default_chain(title: str, chain: str) -> None:
    assert default_chain(title) == chain


# -- the built-in templates ----------------------------------------------------------------------


def test_builtin_templates_are_listed() -> None:
    names = template_names()
    assert set(BUILTINS) <= set(names)
    assert all(names[n].parent == builtin_dir("templates") for n in BUILTINS)
    assert DEFAULT_TEMPLATE == "technical-design"


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_parses(name: str) -> None:
    outline = load_outline(name)
    assert outline.name == name
    assert list(outline.walk())
    lines = [s.line for s in outline.walk()]
    assert lines == sorted(lines) and len(set(lines)) == len(lines)
    data = outline_to_dict(outline)
    assert json.loads(json.dumps(data)) == data
    assert set(outline.chains()) <= {"problem", "solution", "risks"}


def test_technical_design_outline() -> None:
    outline = load_outline("technical-design")
    assert outline.title_level == 1
    assert outline.title_placeholders == ["[Task Name/ID]"]
    assert headings(outline) == [
        (2, "1", "Problem Statement", True),
        (3, "1.1", "Context", True),
        (3, "1.2", "The Issue", True),
        (3, "1.3", "Root Cause Analysis", False),
        (2, "2", "Solution Overview", True),
        (3, "2.1", "Goals", True),
        (3, "2.2", "Non-Goals", True),
        (3, "2.3", "Proposed Approach", True),
        (2, "3", "Technical Design", True),
        (3, "3.1", "Architecture / Workflow Changes", True),
        (3, "3.2", "Component Changes", True),
        (3, "3.3", "Data Models / Schemas", True),
        (3, "3.4", "API Changes", False),
        (2, "4", "Implementation Strategy", True),
        (3, "4.1", "Phasing", True),
        (3, "4.2", "Risks & Mitigations", True),
        (3, "4.3", "Rollback Strategy", True),
        (2, "5", "References", True),
    ]
    assert [s.line for s in outline.sections] == [10, 25, 39, 84, 99]


def test_technical_design_metadata() -> None:
    fields = {f.name: f for f in load_outline("technical-design").metadata}
    assert list(fields) == ["Status", "Date", "Author", "Related Issue/Story"]
    assert fields["Status"].kind == "choice"
    assert fields["Status"].choices == ("Draft", "In Review", "Approved")
    assert fields["Date"].kind == "date" and fields["Date"].placeholder == "[YYYY-MM-DD]"
    assert fields["Author"].kind == "text"
    # "[Task Name/ID]"-like values with a slash are free text, not a two-way choice.
    assert fields["Related Issue/Story"].kind == "text"
    assert fields["Status"].line("Draft") == "**Status:** Draft"


def test_technical_design_section_details() -> None:
    outline = load_outline("technical-design")

    def get(number: str):  # type: ignore[no-untyped-def]
        section = outline.find(number)
        assert section is not None and section.number == number
        return section

    assert get("1.1").guidance == [
        "Describe the current functionality or system state relevant to this task."
    ]
    assert get("1.3").heading == "1.3 Root Cause Analysis"
    assert get("1.3").raw_title == "1.3 Root Cause Analysis (Optional)"
    assert get("1.3").placeholders == ["...", "..."]
    assert get("2.1").placeholders == ["[Goal 1]", "[Goal 2]"] and get("2.1").list_expected
    assert get("4.1").placeholders == ["[Description]", "[Description]"]
    (table,) = get("3.2").tables
    assert table.columns == ("Component", "Change Type", "Description")
    assert len(table.example_rows) == 3 and table.line == 59
    assert [(f.info, f.label) for f in get("3.1").fences] == [("", "Current Flow"), ("", "New Flow")]
    assert "--(Old Event)-->" in get("3.1").fences[0].body
    (payload,) = get("3.3").fences
    assert payload.info == "json" and '"payload"' in payload.body
    assert get("3.4").title == "API Changes" and not get("3.4").required
    assert not get("1").has_body and get("1").children
    assert get("2.3").parent is get("2") and get("2.3").top is get("2")


def test_find_by_number_title_or_heading() -> None:
    outline = load_outline("technical-design")
    for query in ("2.3", "2.3.", "Proposed Approach", "proposed approach", "2.3 Proposed Approach"):
        found = outline.find(query)
        assert found is not None and found.title == "Proposed Approach", query
    assert outline.find("1").title == "Problem Statement"  # type: ignore[union-attr]
    assert outline.find("9.9") is None and outline.find("Appendix") is None


def test_all_placeholders_excludes_ellipsis() -> None:
    found = load_outline("technical-design").all_placeholders()
    assert "..." not in found
    assert {"[Task Name/ID]", "[YYYY-MM-DD]", "[Goal 1]", "[Link to existing code]"} <= found


def test_chains_follow_default_rules_for_technical_design() -> None:
    chains = load_outline("technical-design").chains()
    assert list(chains) == ["problem", "solution", "risks"]
    assert [s.title for s in chains["problem"]] == ["Problem Statement"]
    assert [s.title for s in chains["solution"]] == ["Solution Overview", "Technical Design"]
    assert [s.title for s in chains["risks"]] == ["Implementation Strategy", "References"]


def test_rfc_outline_level_one_sections_and_list_metadata() -> None:
    outline = load_outline("rfc")
    assert outline.title_level is None and outline.title_placeholders == []
    assert [s.level for s in outline.sections] == [1] * 9
    assert [s.title for s in outline.sections][:3] == ["Summary", "Motivation", "Guide-level explanation"]
    assert all(s.required and s.guidance and not s.children for s in outline.sections)
    fields = {f.name: f for f in outline.metadata}
    assert list(fields) == ["Feature Name", "Start Date", "RFC PR", "Tracking Issue"]
    assert {f.style for f in outline.metadata} == {"list"}
    assert fields["Start Date"].kind == "date"
    assert fields["Feature Name"].line("x") == "- Feature Name: x"
    # drafter:chain markers win over the default grouping, and are not guidance comments.
    assert outline.find("Drawbacks").chain == "risks"  # type: ignore[union-attr]
    assert [s.title for s in outline.chains()["problem"]] == ["Summary", "Motivation"]
    assert all(s.comments == [] for s in outline.sections)


def test_adr_outline() -> None:
    outline = load_outline("adr")
    assert outline.title_level == 1
    assert outline.title_placeholders == ["[Short title of the decision]"]
    assert [(s.level, s.title, s.required) for s in outline.walk()] == [
        (2, "Status", True),
        (2, "Context", True),
        (2, "Decision", True),
        (2, "Consequences", True),
        (2, "Alternatives Considered", False),
    ]
    assert [f.name for f in outline.metadata] == ["Date", "Deciders", "Related Issue"]
    assert outline.metadata[0].kind == "date"


# -- team templates in other shapes --------------------------------------------------------------


def test_kep_like_template() -> None:
    outline = load_outline(str(DOCS / "kep-template.md"))
    assert outline.name == "kep-template"
    assert outline.title_level == 1
    assert outline.title_placeholders == ["NNNN", "Your short, descriptive title"]
    assert outline.metadata == []
    top = [s.title for s in outline.sections]
    assert top == [
        "Summary",
        "Motivation",
        "Proposal",
        "Design Details",
        "Production Readiness Review Questionnaire",
        "Implementation History",
        "Drawbacks",
        "Alternatives",
        "Infrastructure Needed",
    ]
    stories = outline.find("User Stories")
    assert stories is not None and stories.optional and not stories.required
    assert [(c.title, c.level, c.required) for c in stories.children] == [
        ("Story 1", 4, False),
        ("Story 2", 4, False),
    ]
    # Deep ###### question headings hang under the nearest shallower heading.
    test_plan = outline.find("Test Plan")
    assert test_plan is not None
    assert [(c.level, c.title) for c in test_plan.children] == [(6, "Which existing tests cover this area?")]
    enablement = outline.find("Feature Enablement and Rollback")
    assert enablement is not None and len(enablement.children) == 2
    assert enablement.children[0].parent is enablement
    # Guidance lives in HTML comments; such a section expects content, a heading-only one does not.
    summary = outline.find("Summary")
    assert summary is not None and summary.guidance == []
    assert summary.comments == [
        "One paragraph that a release-notes reader can understand: what changes and for whom."
    ]
    assert summary.has_body
    prr = outline.find("Production Readiness Review Questionnaire")
    assert prr is not None and not prr.has_body and prr.comments == []
    infra = outline.find("Infrastructure Needed")
    assert infra is not None and not infra.required and infra.has_body


def test_rust_rfc_like_template() -> None:
    outline = load_outline(str(DOCS / "rust-rfc-template.md"))
    assert outline.title_level is None
    assert [s.level for s in outline.sections] == [1] * 9
    fields = {f.name: f for f in outline.metadata}
    assert fields["Feature Name"].placeholder == "(fill me in with a unique ident, my_feature)"
    assert fields["Feature Name"].kind == "text"
    # "(fill me in with today's date, YYYY-MM-DD)" asks for a date.
    assert fields["Start Date"].kind == "date"
    # A linked value is read as its URL.
    assert fields["RFC PR"].placeholder == "https://git.example.com/lang/rfcs/pull/0000"
    guide = outline.find("Guide-level explanation")
    assert guide is not None and [f.info for f in guide.fences] == ["rust"]
    summary = outline.find("Summary")
    assert summary is not None and summary.guidance == ["One paragraph explanation of the feature."]
    # "[summary]: #summary" is a link reference definition, not a placeholder or content.
    assert summary.placeholders == []


def test_metadata_lines_bold_and_list_forms() -> None:
    from drafter.template import mdparse

    tokens = mdparse.parse(
        "> **Status:** Draft\n> **Date:** 2025-01-02\n\n**Owner**: Ana\n\n- Feature Name: `x`\n- RFC PR: [#1](https://e.x/1)\n"
    )
    assert metadata_lines(tokens) == [
        ("Feature Name", "x", 6),
        ("RFC PR", "https://e.x/1", 7),
        ("Status", "Draft", 1),
        ("Date", "2025-01-02", 2),
        ("Owner", "Ana", 4),
    ]


def test_template_without_title_heading_uses_level_one_as_sections() -> None:
    outline = parse_template("# One\n\ntext\n\n# Two\n\ntext\n", "two")
    assert outline.title_level is None and [s.title for s in outline.sections] == ["One", "Two"]


def test_single_heading_template_is_a_section_not_a_title() -> None:
    outline = parse_template("# Notes\n\n*Write notes.*\n", "one")
    assert outline.title_level is None and [s.title for s in outline.sections] == ["Notes"]


def test_same_title_under_different_parents_is_allowed() -> None:
    outline = parse_template("## Alpha\n### Tests\nx\n## Beta\n### Tests\ny\n", "t")
    assert [s.title for s in outline.walk()] == ["Alpha", "Tests", "Beta", "Tests"]


# -- broken templates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["", "just prose\n\n- and a list\n", "<!-- only a comment -->\n", "```\n# not a heading\n```\n"]
)
def test_template_without_headings_is_an_error(text: str) -> None:
    with pytest.raises(TemplateError, match="has no headings") as info:
        parse_template(text, "empty")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "# T\n\n## Goals\nx\n\n## Goals\ny\n",
        "## 1. Goals\nx\n## 2. goals\ny\n",
        "## Risks & Mitigations\n\n## Risks and mitigations\n",
        "## A\n### Tests\n### Tests (Optional)\n",
    ],
)
def test_duplicate_headings_are_an_error(text: str) -> None:
    with pytest.raises(TemplateError, match="repeats the heading"):
        parse_template(text, "dup")


def test_load_outline_errors(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="unknown template 'nope'"):
        load_outline("nope")
    with pytest.raises(TemplateError, match="does not exist"):
        load_outline(str(tmp_path / "missing.md"))
    with pytest.raises(TemplateError, match="not a file"):
        load_outline(str(tmp_path) + "/")
    latin = tmp_path / "latin.md"
    latin.write_bytes("## Caf\xe9\n".encode("latin-1"))
    with pytest.raises(TemplateError, match="not UTF-8"):
        load_outline(str(latin))
    binary = tmp_path / "bin.md"
    binary.write_bytes(b"## A\n\x00\x01")
    with pytest.raises(TemplateError, match="binary"):
        load_outline(str(binary))


def test_load_outline_reloads_a_changed_file(tmp_path: Path) -> None:
    path = tmp_path / "team.md"
    path.write_text("## One\n", encoding="utf-8")
    assert [s.title for s in load_outline(str(path)).sections] == ["One"]
    path.write_text("## One\n## Two\n", encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert [s.title for s in load_outline(str(path)).sections] == ["One", "Two"]


def test_team_override_replaces_builtin(tmp_path: Path) -> None:
    folder = tmp_path / ".drafter" / "templates"
    folder.mkdir(parents=True)
    (folder / "adr.md").write_text("## Decision\n\n*What we decided.*\n", encoding="utf-8")
    (folder / "team.md").write_text("## Why\n", encoding="utf-8")
    name, path = resolve_template("adr", tmp_path)
    assert (name, path) == ("adr", folder / "adr.md")
    assert resolve_template("team", tmp_path)[0] == "team"
    assert [s.title for s in load_outline("adr", tmp_path).sections] == ["Decision"]
    assert resolve_template(None, tmp_path)[0] == "technical-design"
