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

from drafter import mdparse
from drafter.cli import app
from drafter.draft import SectionContent
from drafter.htmlcheck import BLOCK_TAGS, escape_html, unbalanced
from drafter.outline import load_outline
from drafter.render import safe_markdown, section_body
from drafter.validate import RULES, validate_text

ROOT = Path(__file__).resolve().parent.parent
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
    assert unbalanced("| a | b |\n|---|---|\n| x | <div> |\n") == [(3, unbalanced("<div>")[0][1])]


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
