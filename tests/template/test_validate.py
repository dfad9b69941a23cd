"""Validator tests: a conforming document per template, and one mutated copy per rule.

The mutations are generated from the conforming documents in ``tests/fixtures/docs`` so that each
rule in :data:`drafter.template.findings.RULES` is shown to fire, alone, on the line a writer would go to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from drafter.template import mdparse
from drafter.template.documents import validate_document
from drafter.template.findings import RULES, Finding, Report
from drafter.template.outline import Outline, Section, load_outline, parse_template, title_key
from drafter.template.validate import template_marker, validate_text
from tests.support.paths import DOCS, ROOT

# name -> (template spec for load_outline, conforming document)
TEMPLATES: dict[str, tuple[str, str]] = {
    "technical-design": ("technical-design", "technical-design.md"),
    "rfc": ("rfc", "rfc.md"),
    "adr": ("adr", "adr.md"),
    "kep-like": (str(DOCS / "kep-template.md"), "kep.md"),
    "rust-rfc-like": (str(DOCS / "rust-rfc-template.md"), "rust-rfc.md"),
}


def outline_for(name: str) -> Outline:
    return load_outline(TEMPLATES[name][0])


def doc_for(name: str) -> str:
    return (DOCS / TEMPLATES[name][1]).read_text(encoding="utf-8")


def check(text: str, outline: Outline, *, strict: bool = False) -> list[Finding]:
    return list(validate_text(text, outline, path="doc.md", strict=strict).findings)


def rules_of(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings}


def describe(findings: list[Finding]) -> str:
    return "\n".join(f"{f.line}: {f.severity} [{f.rule}] {f.message}" for f in findings)


# -- helpers that edit a document by lines ------------------------------------------------------


def raw_section(text: str, section: Section) -> mdparse.RawSection:
    """The document's section for template ``section`` (same title and level)."""
    for raw in mdparse.split(text).sections:
        if title_key(raw.text) == section.key and raw.level == section.level:
            return raw
    raise AssertionError(f"conforming doc lacks section {section.heading!r}")


def subtree_end(text: str, raw: mdparse.RawSection) -> int:
    """1-based last line of ``raw`` including its sub-sections."""
    doc = mdparse.split(text)
    later = [r.line for r in doc.sections if r.line > raw.line and r.level <= raw.level]
    return (min(later) - 1) if later else doc.line_count


def target(outline: Outline) -> Section:
    """The first required leaf section with content and a following sibling."""
    for section in outline.walk():
        siblings = section.parent.children if section.parent else outline.sections
        if (
            section.required
            and not section.children
            and section.has_body
            and siblings.index(section) + 1 < len(siblings)
        ):
            return section
    raise AssertionError("template has no usable target section")


@dataclass
class Mutation:
    text: str
    line: int
    section: str | None = None


Mutator = Callable[[Outline, str], Mutation | None]


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _join(lines: list[str]) -> str:
    return "\n".join(lines)


def mutate_missing(outline: Outline, text: str) -> Mutation:
    section = target(outline)
    raw = raw_section(text, section)
    lines = _lines(text)
    del lines[raw.line - 1 : raw.end_line]
    return Mutation(_join(lines), raw.line, section.heading)


def mutate_order(outline: Outline, text: str) -> Mutation:
    section = target(outline)
    raw = raw_section(text, section)
    lines = _lines(text)
    block = lines[raw.line - 1 : subtree_end(text, raw)]
    rest = lines[: raw.line - 1] + lines[subtree_end(text, raw) :]
    while rest and not rest[-1].strip():
        rest.pop()
    while block and not block[-1].strip():
        block.pop()
    return Mutation(_join([*rest, "", *block, ""]), len(rest) + 2, section.heading)


def mutate_level(outline: Outline, text: str) -> Mutation:
    section = target(outline)
    raw = raw_section(text, section)
    lines = _lines(text)
    lines[raw.line - 1] = "#" + lines[raw.line - 1]
    return Mutation(_join(lines), raw.line, section.heading)


def mutate_number(outline: Outline, text: str) -> Mutation | None:
    section = target(outline)
    if section.number is None:
        return None
    raw = raw_section(text, section)
    lines = _lines(text)
    lines[raw.line - 1] = lines[raw.line - 1].replace(section.number, section.number + "9", 1)
    return Mutation(_join(lines), raw.line, section.heading)


def mutate_unknown(outline: Outline, text: str) -> Mutation:
    section = target(outline)
    raw = raw_section(text, section)
    lines = _lines(text)
    extra = ["#" * section.level + " Appendix: Load Test Results", "", "Throughput held at 1,200 rps.", ""]
    lines[raw.end_line : raw.end_line] = extra
    return Mutation(_join(lines), raw.end_line + 1)


def mutate_empty(outline: Outline, text: str) -> Mutation:
    section = target(outline)
    raw = raw_section(text, section)
    lines = _lines(text)
    lines[raw.line : raw.end_line] = [""]
    return Mutation(_join(lines), raw.line, section.heading)


def mutate_placeholder(outline: Outline, text: str) -> Mutation | None:
    # Bracketed placeholders first, then title ones such as KEP's NNNN, then a metadata value.
    placeholders = sorted(outline.all_placeholders(), key=lambda p: (not p.startswith("["), p))
    if placeholders:
        section = target(outline)
        raw = raw_section(text, section)
        lines = _lines(text)
        lines[raw.line : raw.line] = ["", f"The owner is {placeholders[0]} for now.", ""]
        return Mutation(_join(lines), raw.line + 2, section.heading)
    if not outline.metadata:
        return None
    spec = outline.metadata[0]
    lines = _lines(text)
    index = next(i for i, line in enumerate(lines) if spec.name in line)
    lines[index] = spec.line(spec.placeholder)
    return Mutation(_join(lines), index + 1)


def mutate_guidance(outline: Outline, text: str) -> Mutation | None:
    section = next((s for s in outline.walk() if s.guidance), None)
    if section is None:
        return None
    raw = raw_section(text, section)
    lines = _lines(text)
    lines[raw.line : raw.line] = ["", f"*{section.guidance[0]}*", ""]
    return Mutation(_join(lines), raw.line + 2, section.heading)


def _table_section(outline: Outline) -> Section | None:
    return next((s for s in outline.walk() if s.tables), None)


def mutate_table_missing(outline: Outline, text: str) -> Mutation | None:
    section = _table_section(outline)
    if section is None:
        return None
    raw = raw_section(text, section)
    table = mdparse.tables(raw.tokens)[0]
    lines = _lines(text)
    end = table.line - 1
    while end < len(lines) and lines[end].lstrip().startswith("|"):
        end += 1
    # Keep some prose, or the section would simply be empty.
    lines[table.line - 1 : end] = ["The worker and the outbox change; the PR lists the details."]
    return Mutation(_join(lines), raw.line, section.heading)


def mutate_table_columns(outline: Outline, text: str) -> Mutation | None:
    section = _table_section(outline)
    if section is None:
        return None
    raw = raw_section(text, section)
    table = mdparse.tables(raw.tokens)[0]
    lines = _lines(text)
    lines[table.line - 1] = lines[table.line - 1].replace(table.header[-1], "Notes")
    return Mutation(_join(lines), table.line, section.heading)


def mutate_fence(outline: Outline, text: str) -> Mutation | None:
    section = next((s for s in outline.walk() if s.fences), None)
    if section is None:
        return None
    raw = raw_section(text, section)
    fence = list(mdparse.fences(raw.tokens))[-1]
    assert fence.map is not None
    lines = _lines(text)
    del lines[fence.map[0] : fence.map[1]]
    return Mutation(_join(lines), raw.line, section.heading)


def mutate_title(outline: Outline, text: str) -> Mutation | None:
    if outline.title_level is None:
        return None
    title = mdparse.split(text).sections[0]
    lines = _lines(text)
    del lines[title.line - 1]
    return Mutation(_join(lines), 1)


def mutate_metadata_missing(outline: Outline, text: str) -> Mutation | None:
    if not outline.metadata:
        return None
    lines = _lines(text)
    index = next(i for i, line in enumerate(lines) if outline.metadata[0].name in line)
    del lines[index]
    # The finding points at the header block, whose first line is now the next field.
    return Mutation(_join(lines), index + 1)


def mutate_metadata_invalid(outline: Outline, text: str) -> Mutation | None:
    spec = next((f for f in outline.metadata if f.kind == "choice"), None) or next(
        (f for f in outline.metadata if f.kind == "date"), None
    )
    if spec is None:
        return None
    lines = _lines(text)
    index = next(i for i, line in enumerate(lines) if spec.name in line)
    lines[index] = spec.line("Done" if spec.kind == "choice" else "14/03/2025")
    return Mutation(_join(lines), index + 1)


def mutate_todo(outline: Outline, text: str) -> Mutation:
    section = target(outline)
    raw = raw_section(text, section)
    lines = _lines(text)
    lines[raw.line : raw.line] = ["", "TODO: confirm the numbers with the SRE team.", ""]
    return Mutation(_join(lines), raw.line + 2, None)


def mutate_html(outline: Outline, text: str) -> Mutation:
    section = target(outline)
    raw = raw_section(text, section)
    lines = _lines(text)
    lines[raw.line : raw.line] = ["", "<details>", ""]
    return Mutation(_join(lines), raw.line + 2, None)


MUTATORS: dict[str, Mutator] = {
    "missing-section": mutate_missing,
    "section-order": mutate_order,
    "heading-level": mutate_level,
    "section-number": mutate_number,
    "unknown-section": mutate_unknown,
    "empty-section": mutate_empty,
    "placeholder-left": mutate_placeholder,
    "guidance-left": mutate_guidance,
    "table-missing": mutate_table_missing,
    "table-columns": mutate_table_columns,
    "fence-missing": mutate_fence,
    "title-missing": mutate_title,
    "metadata-missing": mutate_metadata_missing,
    "metadata-invalid": mutate_metadata_invalid,
    "todo-left": mutate_todo,
    "html-unbalanced": mutate_html,
}
WARNINGS = {"unknown-section", "todo-left"}


def _applicable() -> list[tuple[str, str]]:
    cases = []
    for name in TEMPLATES:
        outline = outline_for(name)
        text = doc_for(name)
        for rule in RULES:
            if MUTATORS[rule](outline, text) is not None:
                cases.append((name, rule))
    return cases


CASES = _applicable()


def test_every_rule_has_a_mutator_and_a_case() -> None:
    assert set(MUTATORS) == set(RULES)
    assert {rule for _, rule in CASES} == set(RULES)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_conforming_document_is_clean(name: str) -> None:
    findings = check(doc_for(name), outline_for(name))
    assert findings == [], describe(findings)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_conforming_document_is_clean_under_strict(name: str) -> None:
    report = validate_text(doc_for(name), outline_for(name), strict=True)
    assert report.valid(strict=True)


@pytest.mark.parametrize(("name", "rule"), CASES, ids=[f"{n}-{r}" for n, r in CASES])
def test_mutation_fires_exactly_its_rule(name: str, rule: str) -> None:
    outline = outline_for(name)
    mutation = MUTATORS[rule](outline, doc_for(name))
    assert mutation is not None
    findings = check(mutation.text, outline)
    assert rules_of(findings) == {rule}, describe(findings)
    hits = [f for f in findings if f.rule == rule and f.line == mutation.line]
    assert hits, f"expected [{rule}] at line {mutation.line}:\n{describe(findings)}"
    expected = "warning" if rule in WARNINGS else "error"
    target = outline.find(mutation.section) if mutation.section else None
    if rule == "empty-section" and target is not None and not target.visible_body:
        expected = "warning"  # guidance only in an HTML comment: reported, not failed
    if rule == "guidance-left":
        expected = "warning"  # left next to the section's content: a leftover to delete
    assert all(f.severity == expected for f in findings)
    if mutation.section is not None:
        assert any(f.section == mutation.section for f in hits), describe(hits)
    for finding in findings:
        assert finding.message.strip() and "\n" not in finding.message


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_todo_is_an_error_under_strict(name: str) -> None:
    outline = outline_for(name)
    mutation = mutate_todo(outline, doc_for(name))
    report = validate_text(mutation.text, outline, strict=True)
    assert [(f.rule, f.severity) for f in report.findings] == [("todo-left", "error")]
    assert not report.valid(strict=True)
    relaxed = validate_text(mutation.text, outline)
    assert relaxed.valid() and not relaxed.valid(strict=True)


# -- rules in detail -----------------------------------------------------------------------------


@pytest.fixture
def td() -> Outline:
    return outline_for("technical-design")


@pytest.fixture
def td_doc() -> str:
    return doc_for("technical-design")


def test_numbered_title_matched_by_title_with_wrong_number(td: Outline, td_doc: str) -> None:
    text = td_doc.replace("### 2.3 Proposed Approach", "### 2.4 Proposed Approach")
    findings = check(text, td)
    assert rules_of(findings) == {"section-number"}
    (finding,) = findings
    assert finding.severity == "error"
    assert finding.line == text.split("\n").index("### 2.4 Proposed Approach") + 1
    assert "2.4" in finding.message and "2.3" in finding.message


def test_numbered_title_without_number_is_a_warning(td: Outline, td_doc: str) -> None:
    text = td_doc.replace("### 2.3 Proposed Approach", "### Proposed Approach")
    findings = check(text, td)
    assert [(f.rule, f.severity) for f in findings] == [("section-number", "warning")]


@pytest.mark.parametrize(
    "variant", ["## 1 Problem Statement", "## 1) Problem Statement", "## 1. problem statement"]
)
def test_number_punctuation_and_case_do_not_matter(td: Outline, td_doc: str, variant: str) -> None:
    assert check(td_doc.replace("## 1. Problem Statement", variant), td) == []


def test_title_with_ampersand_matches_and(td: Outline, td_doc: str) -> None:
    text = td_doc.replace("### 4.2 Risks & Mitigations", "### 4.2 Risks and Mitigations")
    assert check(text, td) == []


def _drop_section(text: str, outline: Outline, heading: str) -> str:
    section = outline.find(heading)
    assert section is not None
    raw = raw_section(text, section)
    lines = _lines(text)
    del lines[raw.line - 1 : subtree_end(text, raw)]
    return _join(lines)


def _set_body(text: str, outline: Outline, heading: str, body: str) -> tuple[str, int]:
    section = outline.find(heading)
    assert section is not None
    raw = raw_section(text, section)
    lines = _lines(text)
    lines[raw.line : raw.end_line] = ["", body, ""]
    return _join(lines), raw.line


@pytest.mark.parametrize("heading", ["1.3", "3.4"])
def test_optional_section_may_be_absent(td: Outline, td_doc: str, heading: str) -> None:
    assert check(_drop_section(td_doc, td, heading), td) == []


@pytest.mark.parametrize("body", ["N/A", "n/a.", "Not applicable", "Not applicable.", "None"])
def test_optional_section_may_say_not_applicable(td: Outline, td_doc: str, body: str) -> None:
    text, _ = _set_body(td_doc, td, "1.3", body)
    assert check(text, td) == []


def test_optional_section_present_but_empty_is_a_warning(td: Outline, td_doc: str) -> None:
    text, line = _set_body(td_doc, td, "1.3", "")
    findings = check(text, td)
    assert [(f.rule, f.severity, f.line) for f in findings] == [("empty-section", "warning", line)]


def test_optional_section_is_still_checked_when_filled(td: Outline, td_doc: str) -> None:
    text, line = _set_body(
        td_doc, td, "3.4", "*   **POST** `/api/v1/resource`\n    *   **Request Body:** ..."
    )
    findings = check(text, td)
    assert [(f.rule, f.line) for f in findings] == [("placeholder-left", line + 3)]


def test_children_of_an_absent_optional_section_are_not_required() -> None:
    outline = outline_for("kep-like")
    text = _drop_section(doc_for("kep-like"), outline, "User Stories")
    assert check(text, outline) == []


def test_optional_child_saying_na_is_fine() -> None:
    # kep.md's "Story 2 (Optional)" says N/A; its parent is optional too.
    text = doc_for("kep-like")
    assert "#### Story 2 (Optional)\n\nN/A" in text
    assert check(text, outline_for("kep-like")) == []


@pytest.mark.parametrize("body", ["N/A", "Not applicable."])
def test_required_section_saying_na_is_an_error(td: Outline, td_doc: str, body: str) -> None:
    text, line = _set_body(td_doc, td, "2.2", body)
    findings = check(text, td)
    assert [(f.rule, f.severity, f.line) for f in findings] == [("empty-section", "error", line)]
    assert "N/A" in findings[0].message and "requires" in findings[0].message
    assert not validate_text(text, td).valid()


def test_an_if_applicable_section_may_say_not_applicable(td: Outline, td_doc: str) -> None:
    text, _ = _set_body(td_doc, td, "3.4", "Not applicable.")  # "API Changes (if applicable)"
    assert check(text, td) == []


def test_guidance_left_next_to_content_is_a_warning_and_an_error_under_strict(
    td: Outline, td_doc: str
) -> None:
    section = td.find("1.1")
    assert section is not None
    guidance = section.guidance[0]
    # In the same paragraph as real text, and as its own paragraph before it.
    for body in (
        f"*{guidance}* The payments service retries twice.",
        f"*{guidance}*\n\nThe payments service retries.",
    ):
        text, line = _set_body(td_doc, td, "1.1", body)
        findings = check(text, td)
        assert [(f.rule, f.severity) for f in findings] == [("guidance-left", "warning")], body
        strict = validate_text(text, td, strict=True)
        assert [(f.rule, f.severity) for f in strict.findings] == [("guidance-left", "error")]


def test_guidance_alone_is_an_error(td: Outline, td_doc: str) -> None:
    section = td.find("1.1")
    assert section is not None
    text, _ = _set_body(td_doc, td, "1.1", f"*{section.guidance[0]}*")
    assert [(f.rule, f.severity) for f in check(text, td)] == [("guidance-left", "error")]


def test_sentence_starting_with_not_applicable_is_content(td: Outline, td_doc: str) -> None:
    text, _ = _set_body(td_doc, td, "2.2", "Not applicable to the batch exporter, which stays as it is.")
    assert check(text, td) == []


def test_missing_parent_reports_once_and_still_checks_present_children(td: Outline, td_doc: str) -> None:
    lines = _lines(td_doc)
    index = lines.index("## 2. Solution Overview")
    del lines[index]
    lines[lines.index("1.  Every webhook delivery carries a stable idempotency key.")] = "1.  [Goal 1]"
    findings = check(_join(lines), td)
    goals = lines.index("### 2.1 Goals") + 1  # the missing heading belongs just before it
    assert ("missing-section", goals) in {(f.rule, f.line) for f in findings}
    assert sum(f.rule == "missing-section" for f in findings) == 1
    assert any(f.rule == "placeholder-left" and "[Goal 1]" in f.message for f in findings)


def test_missing_last_section_points_at_end_of_document(td: Outline, td_doc: str) -> None:
    text = _drop_section(td_doc, td, "5")
    findings = check(text, td)
    assert [f.rule for f in findings] == ["missing-section"]
    assert 1 <= findings[0].line <= text.count("\n") + 1
    assert "## 5. References" in findings[0].message


def test_missing_section_message_names_heading_and_parent(td: Outline, td_doc: str) -> None:
    text = _drop_section(td_doc, td, "2.2")
    (finding,) = check(text, td)
    assert "'### 2.2 Non-Goals'" in finding.message and "'2. Solution Overview'" in finding.message


def test_wrong_heading_level_message(td: Outline, td_doc: str) -> None:
    text = td_doc.replace("### 3.2 Component Changes", "## 3.2 Component Changes")
    findings = check(text, td)
    assert [f.rule for f in findings] == ["heading-level"]
    assert "level-2" in findings[0].message and "### 3.2 Component Changes" in findings[0].message


def test_guidance_left_in_another_section_is_not_guidance(td: Outline, td_doc: str) -> None:
    # The guidance of 1.1 pasted into 1.2 is unusual but it is not 1.2's guidance.
    guidance = td.find("1.1")
    assert guidance is not None
    text, _ = _set_body(td_doc, td, "1.1", f"*{guidance.guidance[0]}*\n\nThe payments service ...real.")
    assert "guidance-left" in rules_of(check(text, td))


def test_example_table_row_left(td: Outline, td_doc: str) -> None:
    row = "| `Service A` | Modify | Add validation logic to `process_X` |"
    lines = _lines(td_doc)
    index = next(i for i, line in enumerate(lines) if line.startswith("| `RetryHandler`"))
    lines.insert(index, row)
    findings = check(_join(lines), td)
    assert [(f.rule, f.line) for f in findings] == [("placeholder-left", index + 1)]


def test_example_fence_left(td: Outline, td_doc: str) -> None:
    old = "[Outbox] --(poll)--> [Delivery Worker] --(POST, retry inline)--> [Merchant]"
    text = td_doc.replace(old, "[Component A] --(Old Event)--> [Component B]")
    findings = check(text, td)
    assert [f.rule for f in findings] == ["placeholder-left"]
    assert findings[0].line == _lines(text).index("[Component A] --(Old Event)--> [Component B]")


def test_fence_language_must_match(td: Outline, td_doc: str) -> None:
    text = td_doc.replace("```json", "```yaml")
    findings = check(text, td)
    assert [f.rule for f in findings] == ["fence-missing"]
    assert "```json" in findings[0].message


def test_ellipsis_placeholder(td: Outline, td_doc: str) -> None:
    text, line = _set_body(td_doc, td, "2.3", "*   **Plan:** ...")
    findings = check(text, td)
    assert [(f.rule, f.line) for f in findings] == [("placeholder-left", line + 2)]


def test_ellipsis_inside_code_or_prose_is_fine(td: Outline, td_doc: str) -> None:
    text, _ = _set_body(td_doc, td, "2.3", "We retry, back off, and so on... then call `retry(...)`.")
    assert check(text, td) == []


def test_title_placeholder_left(td: Outline, td_doc: str) -> None:
    text = td_doc.replace("# PAY-412 Idempotent", "# [Task Name/ID] Idempotent", 1)
    findings = check(text, td)
    assert [(f.rule, f.line) for f in findings] == [("placeholder-left", 1)]


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        ("**Status:** In Review", "**Status:** in review", None),
        ("**Status:** In Review", "**Status:** Approved", None),
        ("**Status:** In Review", "**Status:** Done", "metadata-invalid"),
        ("**Status:** In Review", "**Status:** [Draft/In Review/Approved]", "placeholder-left"),
        ("**Date:** 2025-03-14", "**Date:** 2025-02-30", "metadata-invalid"),
        ("**Date:** 2025-03-14", "**Date:** 14 March 2025", "metadata-invalid"),
        ("**Date:** 2025-03-14", "**Date:** [YYYY-MM-DD]", "placeholder-left"),
        ("**Date:** 2025-03-14", "**Date:**", "placeholder-left"),
        ("**Author:** Dana Okafor", "**Author:** [Name]", "placeholder-left"),
    ],
)
def test_metadata_values(td: Outline, td_doc: str, old: str, new: str, rule: str | None) -> None:
    assert old in td_doc
    text = td_doc.replace(old, new)
    findings = check(text, td)
    if rule is None:
        assert findings == []
    else:
        line = next(i for i, line in enumerate(_lines(text)) if new in line) + 1
        assert [(f.rule, f.line) for f in findings] == [(rule, line)], describe(findings)


def test_metadata_outside_blockquote_is_accepted(td: Outline, td_doc: str) -> None:
    assert check(td_doc.replace("> **", "**"), td) == []


def test_metadata_as_list_items_in_rfc() -> None:
    outline = outline_for("rfc")
    text = doc_for("rfc").replace("- Start Date: 2025-02-03", "- Start Date: 2025/02/03")
    findings = check(text, outline)
    assert [(f.rule, f.line) for f in findings] == [("metadata-invalid", 2)]


def test_todo_inside_code_is_ignored(td: Outline, td_doc: str) -> None:
    text = td_doc.replace('"attempt": 3,', '"attempt": 3, "note": "TODO",')
    assert check(text, td) == []


def test_todo_marker_line_numbers(td: Outline, td_doc: str) -> None:
    text = td_doc + "\nTODO: add the dashboard link.\n"
    findings = check(text, td)
    assert [(f.rule, f.line) for f in findings] == [("todo-left", len(_lines(td_doc)) + 1)]


def test_todo_only_as_a_word(td: Outline, td_doc: str) -> None:
    text, _ = _set_body(td_doc, td, "2.3", "We keep the todos in the TODOLIST table and the mastodon feed.")
    assert check(text, td) == []


def test_findings_sorted_by_line(td: Outline) -> None:
    findings = check((DOCS / "rust-rfc-bad.md").read_text(encoding="utf-8"), td)
    assert findings == sorted(findings, key=lambda f: (f.line, f.rule))


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_line_numbers_with_other_newlines(td: Outline, td_doc: str, newline: str) -> None:
    text = td_doc.replace("### 2.3 Proposed Approach", "### 2.4 Proposed Approach") + "TODO: x\n"
    heading = _lines(text).index("### 2.4 Proposed Approach") + 1
    expected = [(f.rule, f.line) for f in check(text, td)]
    assert expected == [("section-number", heading), ("todo-left", len(_lines(td_doc)))]
    assert [(f.rule, f.line) for f in check(text.replace("\n", newline), td)] == expected


def test_unicode_line_separators_do_not_shift_lines(td: Outline, td_doc: str) -> None:
    # str.splitlines() breaks at \u2028 and \x0c; markdown (and editors) do not.
    text = td_doc.replace("Dana Okafor", "Dana\u2028Okafor\x0c") + "TODO: x\n"
    findings = check(text, td)
    assert [(f.rule, f.line) for f in findings] == [("todo-left", len(_lines(td_doc)))]


# -- KEP-like and Rust-RFC-like shapes -----------------------------------------------------------


def test_kep_like_non_conforming_document() -> None:
    text = (DOCS / "kep-bad.md").read_text(encoding="utf-8")
    lines = _lines(text)
    found = {(f.rule, f.line) for f in check(text, outline_for("kep-like"))}
    assert found == {
        ("placeholder-left", 1),  # NNNN and "Your short, descriptive title" both left in the title
        ("empty-section", lines.index("## Summary") + 1),  # only the template's comment
        ("section-order", lines.index("### Non-Goals") + 1),
        ("heading-level", lines.index("##### Which existing tests cover this area?") + 1),
        ("missing-section", lines.index("## Implementation History") + 1),  # Monitoring Requirements
    }


def test_kep_like_title_placeholders_each_reported() -> None:
    outline = outline_for("kep-like")
    text = doc_for("kep-like")
    partly = text.replace(
        "# KEP-4821: Graceful node drain deadlines", "# KEP-NNNN: Graceful node drain deadlines"
    )
    assert [(f.rule, f.line) for f in check(partly, outline)] == [("placeholder-left", 1)]
    assert "NNNN" in check(partly, outline)[0].message


def test_kep_like_guidance_comment_alone_counts_as_empty() -> None:
    outline = outline_for("kep-like")
    text, line = _set_body(
        doc_for("kep-like"), outline, "Drawbacks", "<!--\nWhy should this KEP not be implemented?\n-->"
    )
    assert [(f.rule, f.line) for f in check(text, outline)] == [("empty-section", line)]


def test_kep_like_deep_question_heading_can_be_missing() -> None:
    outline = outline_for("kep-like")
    text = _drop_section(
        doc_for("kep-like"), outline, "Does enabling the feature change any default behavior?"
    )
    findings = check(text, outline)
    assert [f.rule for f in findings] == ["missing-section"]
    assert "###### Does enabling" in findings[0].message


def test_rust_rfc_like_non_conforming_document() -> None:
    text = (DOCS / "rust-rfc-bad.md").read_text(encoding="utf-8")
    lines = _lines(text)
    found = {(f.rule, f.line) for f in check(text, outline_for("rust-rfc-like"))}
    assert found == {
        ("metadata-missing", 1),  # Tracking Issue
        ("placeholder-left", 1),  # Feature Name
        ("metadata-invalid", 2),  # Start Date: 5 Nov 2024
        ("placeholder-left", 3),  # RFC PR link still points at #0000
        ("guidance-left", lines.index("*One paragraph explanation of the feature.*") + 1),
        ("fence-missing", lines.index("# Guide-level explanation") + 1),
        ("section-order", lines.index("# Guide-level explanation") + 1),
        ("heading-level", lines.index("## Reference-level explanation") + 1),
        ("todo-left", lines.index("## Reference-level explanation") + 3),
        ("empty-section", lines.index("# Drawbacks") + 1),
        ("unknown-section", lines.index("# Appendix: benchmarks") + 1),
    }


def test_templates_validated_against_themselves_are_invalid() -> None:
    for name, (spec, _) in TEMPLATES.items():
        outline = load_outline(spec)
        report = validate_text(outline.text, outline)
        assert not report.valid(), name
        assert rules_of(list(report.findings)) & {"placeholder-left", "guidance-left", "empty-section"}, name


# -- template selection and reports ------------------------------------------------------------------


def test_template_marker() -> None:
    assert template_marker("<!-- drafter:template adr -->\n# x") == "adr"
    assert template_marker("# x\n\n<!--drafter:template   team/kep.md-->") == "team/kep.md"
    assert template_marker("# x\n<!-- drafter:template -->") is None
    assert template_marker("# x") is None


def test_validate_document_uses_marker_then_default() -> None:
    rfc = doc_for("rfc")
    assert not validate_document(rfc).valid()  # the default is technical-design
    marked = "<!-- drafter:template rfc -->\n" + rfc
    assert validate_document(marked).findings == ()
    assert validate_document(marked, template="rfc").template == "rfc"
    overridden = validate_document(marked, template="adr")
    assert overridden.template == "adr" and not overridden.valid()


def test_report_and_finding_dicts() -> None:
    outline = outline_for("technical-design")
    report = validate_text(doc_for("technical-design") + "\nTODO: x\n", outline, path="a.md")
    assert isinstance(report, Report)
    data = report.to_dict()
    assert data["path"] == "a.md" and data["template"] == "technical-design" and data["valid"] is True
    assert data["findings"] == [
        {
            "rule": "todo-left",
            "severity": "warning",
            "line": report.findings[0].line,
            "message": report.findings[0].message,
        }
    ]
    assert report.to_dict(strict=True)["valid"] is False
    finding = Finding("missing-section", "error", 3, "m", section="2.2 Non-Goals")
    assert finding.to_dict()["section"] == "2.2 Non-Goals"


def test_no_headings_document_reports_every_required_section() -> None:
    outline = outline_for("adr")
    findings = check("Just a paragraph.\n", outline)
    assert {f.rule for f in findings} == {"title-missing", "metadata-missing", "missing-section"}
    assert all(f.line == 1 for f in findings)
    assert sum(f.rule == "missing-section" for f in findings) == 4  # Alternatives is optional


def test_empty_document() -> None:
    findings = check("", outline_for("technical-design"))
    assert findings and all(f.line == 1 for f in findings)


def test_ad_hoc_template_without_title_or_metadata() -> None:
    outline = parse_template("## Problem\n\n*What is wrong?*\n\n## Plan\n\n- [Step]\n", "mini")
    assert outline.title_level is None and outline.metadata == []
    assert check("## Problem\n\nIt is slow.\n\n## Plan\n\n- Cache it.\n", outline) == []
    findings = check("## Plan\n\n- [Step]\n", outline)
    assert [(f.rule, f.line) for f in findings] == [("missing-section", 1), ("placeholder-left", 3)]


def test_readme_documents_every_rule() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- validate:start -->")[1].split("<!-- validate:end -->")[0]
    for rule in RULES:
        assert f"| `{rule}` |" in section, rule
