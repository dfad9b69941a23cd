"""Raw HTML cannot fold a draft: untrusted text is escaped, and ``validate`` reports unbalanced HTML.

Issue 18, item 9: an unclosed ``<details>`` in an issue title, body, comment or a model answer folded
15 of 19 headings into a collapsed block in any HTML rendering (GitHub), and ``validate`` passed.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from typer.testing import CliRunner, Result

from drafter.cli import app
from drafter.document.content import SectionContent
from drafter.document.render import _cell, _item, _link, _one_line, safe_markdown, section_body
from drafter.template import mdparse
from drafter.template.findings import RULES
from drafter.template.htmlcheck import BLOCK_TAGS, escape_html, escape_line, unbalanced
from drafter.template.outline import load_outline
from drafter.template.validate import validate_text
from tests.support.paths import ROOT

ISSUE = ROOT / "tests" / "fixtures" / "local" / "unclosed-details-issue.json"
TD = ROOT / "tests" / "fixtures" / "docs" / "technical-design.md"
HEADINGS = {f"h{n}" for n in range(1, 7)}

runner = CliRunner()


def run(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


class _Buried(HTMLParser):
    """Collects the headings an HTML view shows inside a block element (a folded ``<details>``)."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.buried: list[str] = []
        self.heading: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HEADINGS:
            self.heading = ""
            if self.open:
                self.buried.append(f"{tag} inside <{'><'.join(self.open)}>")
        elif tag in BLOCK_TAGS and tag not in ("pre",) and not self.heading:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in HEADINGS:
            self.heading = None
        elif tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag) :]


def buried_headings(markdown: str) -> list[str]:
    """Headings that the HTML of ``markdown`` (rendered with raw HTML on, as GitHub does) nests in
    a block element such as ``<details>``; markdown's own blockquotes are closed before any."""
    parser = _Buried()
    parser.feed(MarkdownIt("commonmark").enable("table").render(markdown))
    return parser.buried


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.split("\n"), start=1) if needle in line)


# -- the draft -------------------------------------------------------------------------------------
def test_offline_draft_of_an_issue_with_unclosed_details_keeps_every_heading_visible(tmp_path: Path) -> None:
    raw = json.loads(ISSUE.read_text(encoding="utf-8"))
    assert "<details>" in raw["title"] and "<details>" in raw["body"]
    assert "<details>" in raw["comments_list"][0]["body"]
    result = runner.invoke(
        app,
        ["from-issue", str(ISSUE), "--out-dir", str(tmp_path), "--model", "offline", "--author", "Ada"]
        + ["--format", "json"],
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["valid"] is True
    draft = Path(data["path"])
    text = draft.read_text(encoding="utf-8")
    # The title, a body sentence and a comment sentence are all quoted, as text.
    assert text.count("&lt;details>") >= 3 and "<details" not in text
    assert "Export hangs when the queue is full" in text and "@maint" in text
    outline = load_outline("technical-design")
    tokens = mdparse.parse(text)
    shown = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    for section in outline.walk():
        assert f"{section.raw_title}" in shown, section.raw_title
    assert buried_headings(text) == []
    assert unbalanced(text) == []
    checked = run("validate", draft)
    assert checked.exit_code == 0, checked.stdout
    assert "html-unbalanced" not in checked.stdout


def test_the_html_check_of_this_test_sees_a_folded_heading() -> None:
    # The helper above is not vacuous: a raw <details> does bury the headings after it.
    assert buried_headings("# T\n\n<details>\n\n## A\n\n## B\n") == ["h2 inside <details>"] * 2


def test_model_answer_with_unclosed_details_is_escaped() -> None:
    section = load_outline("technical-design").find("2.3")
    assert section is not None
    answer = (
        "We will cache it.\n\n<details><summary>Why</summary>\n\nBecause <div align=center> it is slow."
        "\n\n```html\n<details>\n```\n\nSee `<details>`, <https://example.com/a> and a<br>b."
    )
    body = section_body(section, SectionContent(text=answer))
    assert "&lt;details>&lt;summary>Why&lt;/summary>" in body and "&lt;div align=center>" in body
    assert "```html\n<details>\n```" in body and "`<details>`" in body  # code stays code
    assert "<https://example.com/a>" in body and "a<br>b" in body  # autolinks and <br> stay
    assert buried_headings(f"# T\n\n{body}\n\n## After\n") == []
    assert unbalanced(body) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<details>", "&lt;details>"),
        ("a </div> b", "a &lt;/div> b"),
        ('<div title="x', '&lt;div title="x'),  # a tag cut off by the end of the text
        ("<DETAILS open>", "&lt;DETAILS open>"),
        ("`<details>` and ``a ` <div>``", "`<details>` and ``a ` <div>``"),
        ("\\<details>", "\\<details>"),
        ("<a@example.com> <https://x.org/?q=1>", "<a@example.com> <https://x.org/?q=1>"),
        ("List<T> and 1 < 2", "List&lt;T> and 1 < 2"),
        ("<?php x ?> <!DOCTYPE html>", "&lt;?php x ?> &lt;!DOCTYPE html>"),
        ("# <details> heading", "**&lt;details> heading**"),
        ("> <details>\n> text", "> &lt;details>\n> text"),
        ("| <details> | x |\n|---|---|\n| <div> | y |", "| &lt;details> | x |\n|---|---|\n| &lt;div> | y |"),
    ],
)
def test_safe_markdown_escapes_raw_html_outside_code(text: str, expected: str) -> None:
    assert safe_markdown(text) == expected


def test_escape_html_leaves_no_raw_html_for_markdown_it() -> None:
    # The backtick in the autolink opens no code span for markdown-it, though it does for the quick
    # scan: the parse after it finds the <details> still raw, and escapes it.
    text, tokens = escape_html("<https://a.org/`> <details> ` <div>\n\n    <pre>\n\nz <section>")
    assert text.startswith("<https://a.org/`> &lt;details>")
    assert "<div>" not in text and "<section>" not in text
    assert "    <pre>" in text  # indented code
    assert not any(t.type == "html_block" for t in tokens)
    assert not any(c.type == "html_inline" for t in tokens for c in t.children or ())


# -- validate ------------------------------------------------------------------------------------
def _insert(after: str, lines: list[str]) -> tuple[str, int]:
    """The conforming technical design with ``lines`` after the line holding ``after``."""
    text = TD.read_text(encoding="utf-8")
    index = _line_of(text, after)
    rows = text.split("\n")
    rows[index:index] = lines
    return "\n".join(rows), index + 1


def test_rule_is_registered() -> None:
    assert "html-unbalanced" in RULES


def test_validate_flags_an_unclosed_details_with_its_line(tmp_path: Path) -> None:
    text, start = _insert("### 1.1 Context", ["", "<details>", "<summary>Logs</summary>", ""])
    path = tmp_path / "doc.md"
    path.write_text(text, encoding="utf-8")
    result = run("validate", path)
    assert result.exit_code == 1
    assert result.stdout.strip().splitlines() == [
        f"{path}:{start + 1}: error [html-unbalanced] '<details>' is opened but never closed, so an HTML "
        "view (GitHub) folds or hides what follows; add '</details>' where it ends, or write "
        "'&lt;details>' to show it as text"
    ]
    github = run("validate", path, "--format", "github")
    assert f"line={start + 1},title=drafter html-unbalanced::" in github.stdout


def test_validate_flags_a_stray_close_and_an_inner_unclosed_tag() -> None:
    outline = load_outline("technical-design")
    text, start = _insert("### 1.1 Context", ["", "</div>", "", "<section><table>", "</section>", ""])
    findings = [f for f in validate_text(text, outline).findings if f.rule == "html-unbalanced"]
    assert [(f.line, f.severity) for f in findings] == [(start + 1, "error"), (start + 3, "error")]
    assert "'</div>' closes no open '<div>'" in findings[0].message
    assert f"'<table>' is not closed before '</section>' on line {start + 4}" in findings[1].message


def test_validate_flags_inline_html_in_a_heading_and_a_table() -> None:
    outline = load_outline("technical-design")
    text = TD.read_text(encoding="utf-8").replace("### 1.1 Context", "### 1.1 Context <details>", 1)
    lines = [f.line for f in validate_text(text, outline).findings if f.rule == "html-unbalanced"]
    assert lines == [_line_of(text, "<details>")]
    [(line, message)] = unbalanced("| a | b |\n|---|---|\n| x | <div> |\n")
    assert line == 3 and message.startswith("'<div>' is not closed in its table cell;")


@pytest.mark.parametrize(
    "lines",
    [
        ["```html", "<details>", "<div>", "```"],
        ["~~~", "</details>", "~~~"],
        ["    <details>", "    <div>"],
        ["Use `<details>` and `</div>` to fold a log."],
        ["<details><summary>Logs</summary>", "", "Folded, and closed.", "", "</details>"],
        ["<!-- <details> in a comment -->"],
        ["<br>", "", "A line<br>break and <b>bold</b>."],
    ],
)
def test_code_comments_and_balanced_html_are_not_flagged(tmp_path: Path, lines: list[str]) -> None:
    text, _ = _insert("### 1.1 Context", ["", *lines, ""])
    path = tmp_path / "doc.md"
    path.write_text("<!-- drafter:template technical-design -->\n" + text, encoding="utf-8")
    result = run("validate", path)
    assert result.exit_code == 0, result.stdout
    assert result.stdout == ""


# -- review bypasses: tags in attribute values, table cells, single-line contexts -------------------
UNCLOSED = "'<details>' is opened but never closed"


@pytest.mark.parametrize(
    "lines",
    [
        ["<details>", "", 'Some <span title="</details>">x</span> text.'],  # A: attribute of a span
        ["<details>", "", '<img alt="</details>" src=x.png>'],  # A: attribute of an image
        ["<details>", "", "| A | B |", "|---|---|", "| </details> | x |"],  # B: a table cell
    ],
    ids=["span-title", "img-alt", "table-cell"],
)
def test_validate_reports_a_details_that_only_looks_closed(tmp_path: Path, lines: list[str]) -> None:
    text, start = _insert("### 1.1 Context", ["", *lines, ""])
    path = tmp_path / "doc.md"
    path.write_text(text, encoding="utf-8")
    result = run("validate", path)
    assert result.exit_code == 1, result.stdout
    findings = result.stdout.strip().splitlines()
    assert f"{path}:{start + 1}: error [html-unbalanced] {UNCLOSED}" in "\n".join(findings)
    assert all("[html-unbalanced]" in f for f in findings)
    if "| </details> | x |" in lines:  # the close tag in the cell is named too, on its own line
        assert findings[1].startswith(f"{path}:{start + 5}: error [html-unbalanced] '</details>' closes no")
        assert "in its table cell" in findings[1]
    else:  # an HTML parser agrees: the headings after the <details> are folded into it
        assert buried_headings(text)


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("<details>\n<div title=\"a > b </details>\" data-x='</details>'></div>\n", [1]),
        ('<details>\n</details title=">"><div\tclass=x>\n\n</div>\n', []),
        ("<details>\n<!-- </details> -->\n", [1]),
        ("<details>\n<!-- ends here --!> </details>\n", []),  # HTML ends a comment at "--!>" too
        ("<details>\n<![CDATA[ > </details> ]]>\n", []),  # outside SVG: a bogus comment, to ">"
        ("<script>if (a<b && c>d) { x = '</div>' }</script>\n", []),
        ("<textarea>\n<details>\n</textarea>\n", []),
        ("<title>\n\n## Hidden\n", [1]),
        ("<details>\n<svg><title></details></title></svg>\n", [2, 2, 2, 2]),  # title in SVG: a scope
        ("<svg/>\n<math />\n", []),
        ("| a | b |\n|---|---|\n| <details>x</details> | <div></div> |\n", []),
        ("| a | b |\n|---|---|\n| <details> | </details> |\n", [3, 3]),  # cell by cell, as <td>
        ("<div>\n\n| a |\n|---|\n| </div> |\n\n</div>\n", [5]),
    ],
)
def test_unbalanced_reads_tags_as_html_does(text: str, lines: list[int]) -> None:
    assert [line for line, _ in unbalanced(text)] == lines


def test_a_tag_left_open_in_a_table_cell_ends_with_its_cell() -> None:
    text = "<details>\n\n| a | b |\n|---|---|\n| <div> | x |\n\n</details>\n"
    assert unbalanced(text) == [
        (
            5,
            "'<div>' is not closed in its table cell; add '</div>' in the same cell, "
            "or write '&lt;div>' to show it as text",
        )
    ]


IMG = "<img src=x onerror=alert(1)>"


@pytest.mark.parametrize(
    "text",
    [
        f"a\n\n    {IMG}",
        "~~~\n<details>\n~~~",
        "```\n<details>\n```",
        f"Export hangs\n\n    <details>\n\n\t{IMG}",
        "``` <details>",
    ],
)
def test_single_line_helpers_escape_html_that_was_code_before_the_join(text: str) -> None:
    # "```" fences become code spans once joined ("``` <details> ```"): code still, so not escaped.
    for helper in (_cell, _one_line, escape_line, lambda t: _link(t, "https://example.com/1")):
        line = helper(text)
        assert "\n" not in line
        html = _html(f"| h |\n|---|\n| {line} |\n\n# {line}\n\n**Author:** {line}\n")
        assert "<img" not in html and "<details" not in html, (line, html)


def _html(markdown: str) -> str:
    """``markdown`` as HTML, raw HTML passed through (as GitHub does before sanitising)."""
    return MarkdownIt("commonmark").enable("table").render(markdown)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a<br>b and a<br/>b", "a<br>b and a<br/>b"),
        ("`<div>` stays code, <https://x.org> a link", "`<div>` stays code, <https://x.org> a link"),
        ("1 < 2 and a <- b, but List<T>", "1 < 2 and a <- b, but List&lt;T>"),
        ("\\<details>\n\n    `x`", "\\<details> `x`"),
        ("<https://a.org/`> <details> ` <div>", "<https://a.org/`> &lt;details> ` &lt;div>"),
    ],
)
def test_escape_line_keeps_what_escape_html_keeps(text: str, expected: str) -> None:
    assert escape_line(text) == expected


@pytest.mark.parametrize(
    "text",
    [f"a\n\n\t{IMG}", f"\t{IMG}", "  ~~~\n<details>\n  ~~~", f">\t  {IMG}", f"x\n\n    {IMG}"],
)
def test_list_items_keep_code_as_code(text: str) -> None:
    # A tab, or a first line indented 1 to 3 spaces, shifted the item's lines out of their code.
    html = _html(f"- {_item(text)}\n- next\n")
    assert "<img" not in html and "<details" not in html, html


def test_model_answers_in_table_cells_and_items_cannot_hide_html() -> None:
    section = load_outline("technical-design").find("3.2")
    assert section is not None and section.tables
    payload = f"Cache\n\n    <details>\n\n~~~\n{IMG}\n~~~"
    body = section_body(section, SectionContent(rows=[[payload, "New", payload]], items=[f"x\n\n\t{IMG}"]))
    html = _html(body)
    assert "<details" not in html and "<img" not in html, html
    assert "Cache &lt;details> ~~~ &lt;img" in body and unbalanced(body) == []


def test_offline_draft_of_a_title_and_author_with_indented_html(tmp_path: Path) -> None:
    raw = json.loads(ISSUE.read_text(encoding="utf-8"))
    raw["title"] = f"Export hangs\n\n    <details>\n\n~~~\n{IMG}\n~~~"
    raw["body"] = "Exports hang when the queue is full.\n\n    <details>"
    raw["comments_list"] = []
    issue = tmp_path / "issue.json"
    issue.write_text(json.dumps(raw), encoding="utf-8")
    out = tmp_path / "out"
    author = "Ada\n\n    <details>"
    result = run("from-issue", issue, "--model", "offline", "--out-dir", out, "--author", author)
    assert result.exit_code == 0, result.stdout + result.stderr
    [draft] = out.glob("*.md")
    text = draft.read_text(encoding="utf-8")
    title = next(line for line in text.split("\n") if line.startswith("# "))
    assert "Export hangs &lt;details> ~~~ &lt;img" in title  # the H1
    assert "> **Author:** Ada &lt;details>" in text.split("\n")
    html = _html(text)
    assert "<details" not in html and "<img" not in html  # what was code stays code, the rest escaped
    assert buried_headings(text) == [] and unbalanced(text) == []
    assert run("validate", draft).exit_code == 0
