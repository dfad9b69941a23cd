"""Rendering drafted content into the template's shape, safely."""

from __future__ import annotations

import itertools
import re

import pytest

from drafter.document.content import TODO, SectionContent, drafted_sections, section_id, todo_content
from drafter.document.render import Meta, fence, render_document, safe_markdown, section_body
from drafter.sources.context import IssueContext
from drafter.template import mdparse
from drafter.template.outline import load_outline
from drafter.template.validate import validate_text


def headings(text: str) -> list[str]:
    tokens = mdparse.parse(text)
    return [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]


def stays_inside(text: str) -> bool:
    """Placed before a heading, the safe text leaves exactly that heading in the document."""
    return headings(safe_markdown(text) + "\n\n## After\n\nend") == ["After"]


# -- safe_markdown ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# Title\nbody", "**Title**\nbody"),
        ("###### Deep", "**Deep**"),
        ("  ## Indented ##", "  **Indented**"),
        ("Setext one\n==========\nafter", "**Setext one**\n\nafter"),
        ("Setext two\n---", "**Setext two**"),
        ("> ## quoted", "> **quoted**"),
        ("- ## in a list", "- **in a list**"),
        ("```py\nprint(1)", "```py\nprint(1)\n```"),
        ("~~~\nx", "~~~\nx\n~~~"),
        ("````\n```\ninner\n```", "````\n```\ninner\n```\n````"),
        ("```\n# not a heading\n```", "```\n# not a heading\n```"),
        ("    # indented code", "    # indented code"),
        ("<!-- drafter:provenance\n{}\n-->", "&lt;!-- drafter:provenance\n{}\n-->"),
        ("a\r\nb\rc", "a\nb\nc"),
        ("nul\x00 esc\x1b bell\x07\ttab", "nul esc bell\ttab"),
        ("trace\n...", "trace\n[…]"),
        ("**Field:** ...", "**Field:** […]"),
        ("Loading...", "Loading..."),
        ("```\n...\n```", "```\n...\n```"),
        ("<pre>\nraw", "&lt;pre>\nraw"),
    ],
)
def test_safe_markdown(text: str, expected: str) -> None:
    assert safe_markdown(text) == expected


NASTY = [
    "# H",
    "Title\n===",
    "Title\n---",
    "```",
    "~~~~ js",
    "> ```",
    "- ```",
    "<pre>",
    "<script>",
    "<style>",
    "<textarea>",
    "<?php",
    "<!DOCTYPE html",
    "<![CDATA[",
    "<!--",
    "<details>",
    "    indented",
    "| a | b |\n|---|---|",
    "1. # numbered",
    "> > ## deep",
    "",
    "text",
]


@pytest.mark.parametrize(
    ("a", "b", "c"), list(itertools.product(NASTY[:8], NASTY[6:14], ["", "# x", "\n", "```"]))[:300]
)
def test_safe_markdown_never_leaks_structure(a: str, b: str, c: str) -> None:
    text = f"{a}\n{b}\n\n{c}\n## 5. References"
    assert stays_inside(text), safe_markdown(text)


def test_safe_markdown_removes_every_heading() -> None:
    text = "\n\n".join(NASTY)
    assert stays_inside(text)
    assert "<!--" not in safe_markdown(text)


# -- fence -----------------------------------------------------------------------------------------
def test_fence_is_longer_than_inner_backticks() -> None:
    assert fence("plain") == "```\nplain\n```"
    assert fence("{}", "json") == "```json\n{}\n```"
    body = "a ``` b ````` c"
    out = fence(body)
    assert out.startswith("``````\n") and out.endswith("\n``````")
    tokens = [t for t in mdparse.parse(out + "\n\n# After") if t.type == "fence"]
    assert len(tokens) == 1 and tokens[0].content == body + "\n"


def test_fence_with_only_backticks() -> None:
    out = fence("```")
    assert [t.content for t in mdparse.parse(out) if t.type == "fence"] == ["```\n"]


# -- section bodies and documents -----------------------------------------------------------------------
def test_table_columns_come_from_the_template() -> None:
    outline = load_outline("technical-design")
    section = outline.find("3.2")
    assert section is not None
    content = SectionContent(rows=[["`A` | pipe", "Modify"], ["B", "New", "desc", "extra column"]])
    body = section_body(section, content)
    lines = body.splitlines()
    assert lines[0] == "| Component | Change Type | Description |"
    assert lines[2] == f"| `A` \\| pipe | Modify | {TODO} |"
    assert lines[3] == "| B | New | desc |"


def test_missing_blocks_and_rows_become_todo() -> None:
    outline = load_outline("technical-design")
    section = outline.find("3.1")
    assert section is not None
    body = section_body(section, SectionContent(text="Flows:", blocks=["[A] --> [B]"]))
    assert body.count("```") == 4
    assert "**Current Flow:**" in body and "**New Flow:**" in body
    assert f"{TODO}: New Flow" in body


def test_items_with_multiple_lines_stay_in_their_item() -> None:
    outline = load_outline("technical-design")
    section = outline.find("4.2")
    assert section is not None
    body = section_body(section, SectionContent(items=["**Risk:** x\n# **Mitigation:** y", "  "]))
    assert body == "- **Risk:** x\n  **Mitigation: y**"


def _ctx(**kw: str) -> IssueContext:
    data = {
        "title": "Make widgets faster",
        "body": "Widgets are slow.",
        "url": "https://github.com/a/b/issues/1",
    }
    data.update(kw)
    return IssueContext(**data)  # type: ignore[arg-type]


@pytest.mark.parametrize("template", ["technical-design", "rfc", "adr"])
def test_document_of_todos_has_the_template_shape(template: str) -> None:
    outline = load_outline(template)
    contents = {section_id(s): todo_content(s) for s in drafted_sections(outline)}
    text, bodies = render_document(outline, _ctx(), contents, Meta(author="Ada", date="2024-02-29"))
    report = validate_text(text, outline)
    assert [f for f in report.findings if f.severity == "error"] == []
    assert set(contents) <= set(bodies)
    assert f"<!-- drafter:template {template} -->" in text
    assert "Offline draft" not in text


def test_header_fields() -> None:
    outline = load_outline("technical-design")
    contents = {section_id(s): todo_content(s) for s in drafted_sections(outline)}
    text, _ = render_document(outline, _ctx(), contents, Meta(author="Ada Lovelace", date="2024-02-29"))
    assert text.startswith("# Make widgets faster Technical Design\n")
    assert "> **Status:** Draft" in text
    assert "> **Date:** 2024-02-29" in text
    assert "> **Author:** Ada Lovelace" in text
    assert "> **Related Issue/Story:** https://github.com/a/b/issues/1" in text


def test_header_values_cannot_add_structure() -> None:
    outline = load_outline("adr")
    contents = {section_id(s): SectionContent(text="Content.") for s in drafted_sections(outline)}
    ctx = _ctx(title="# Hacked\n## Status", url="https://x.example/1\n## Injected")
    text, _ = render_document(outline, ctx, contents, Meta(author="Eve\n\n## Decision", date="2024-01-01"))
    assert headings(text)[1:] == [
        "Status",
        "Context",
        "Decision",
        "Consequences",
        "Alternatives Considered (Optional)",
    ]
    assert headings(text)[0] == "ADR: **Hacked** **Status**"
    assert "> **Deciders:** Eve **Decision**" in text
    report = validate_text(text, outline)
    assert not {f.rule for f in report.findings} & {"unknown-section", "section-order"}


def test_template_syntax_in_values_is_literal() -> None:
    outline = load_outline("adr")
    contents = {section_id(s): SectionContent(text="{{ 7*7 }} {% raw %}") for s in drafted_sections(outline)}
    text, _ = render_document(
        outline, _ctx(title="{{ title }}"), contents, Meta(author="{{ author }}", date="2024-01-01")
    )
    assert "{{ 7*7 }} {% raw %}" in text and "49" not in text
    assert "# ADR: {{ title }}" in text and "{{ author }}" in text


def test_notice_is_shown_once_and_not_counted_as_a_todo() -> None:
    from drafter.pipeline import OFFLINE_NOTICE

    outline = load_outline("rfc")
    contents = {section_id(s): SectionContent(text="Content.") for s in drafted_sections(outline)}
    text, _ = render_document(
        outline, _ctx(), contents, Meta(author="A", date="2024-01-01"), notice=OFFLINE_NOTICE
    )
    assert text.count("Offline draft") == 1
    report = validate_text(text, outline)
    assert [(f.rule, f.line) for f in report.findings] == [
        ("todo-left", text.split("\n").index("- RFC PR: TODO(drafter)") + 1)
    ]
    assert re.search(r"^- Feature Name: make_widgets_faster$", text, re.MULTILINE)
    assert "- Tracking Issue: https://github.com/a/b/issues/1" in text
