"""A section's core: its body without the blank lines and the closing thematic break around it,
with thematic breaks read as markdown reads them (markdown-it tokens, not a line pattern)."""

from __future__ import annotations

from drafter.document.regions import locate
from drafter.template.outline import parse_template

OUTLINE = parse_template("# Doc\n\n## Plan\n\nWhat we do.\n\n## Risks\n\nWhat may fail.\n", name="t")


def cores(text: str) -> dict[str, str]:
    return {r.section.heading: r.text for r in locate(text, OUTLINE).regions.values()}


def test_the_renderers_closing_rule_is_not_part_of_the_core() -> None:
    for rule in ("---", "***", "_ _ _", "   - - -"):
        assert cores(f"# Doc\n\n## Plan\n\nWe batch.\n\n{rule}\n\n## Risks\n\nNone.\n")["Plan"] == "We batch."


def test_a_rule_of_the_humans_own_stays_in_the_core() -> None:
    in_item = "- step one\n\n  ---"  # a break inside a list item is the human's, not the renderer's
    assert cores(f"# Doc\n\n## Plan\n\n{in_item}\n\n## Risks\n\nNone.\n")["Plan"] == in_item
    quoted = "> quoted\n>\n> ***"
    assert cores(f"# Doc\n\n## Plan\n\n{quoted}\n\n## Risks\n\nNone.\n")["Plan"] == quoted
    fenced = "```\n---\n```"
    assert cores(f"# Doc\n\n## Plan\n\n{fenced}\n\n## Risks\n\nNone.\n")["Plan"] == fenced


def test_a_setext_underline_is_a_heading_not_a_rule() -> None:
    found = cores("# Doc\n\n## Plan\n\nWe batch.\n\n## Risks\n\nNone.\n\nSub\n---\n\nMore.\n")
    assert found["Risks"] == "None."  # "Sub" over "---" is a heading of the human's: the core ends there


def test_crlf_and_only_a_rule() -> None:
    text = "# Doc\r\n\r\n## Plan\r\n\r\n---\r\n\r\n## Risks\r\n\r\nNone.\r\n"
    assert cores(text) == {"Plan": "", "Risks": "None."}


# -- the same reading in eval's salient terms (drafter.evaluation.metrics) ----------------------------
def test_code_blocks_give_error_names_only_wherever_markdown_puts_them() -> None:
    from drafter.evaluation.metrics import salient_terms
    from drafter.sources.context import IssueContext

    body = (
        "The pool leaks under `maxLifetime`.\n\n"
        "- steps:\n\n  ```\n  PoolEntry.close() --verbose-gc\n  ```\n\n"  # a fence in a list item
        "````\nWidgetFactory.build()\n```\nstill code\n````\n\n"  # closed by its own length only
        "    at com.zaxxer.HikariPool.getConnection(HikariPool.java:123)\n"  # an indented trace
        "    java.lang.NullPointerException\n"
    )
    terms = salient_terms(IssueContext(title="Pool leak", body=body))
    assert "maxLifetime" in terms and "NullPointerException" in terms
    for code in ("PoolEntry.close", "--verbose-gc", "WidgetFactory", "HikariPool", "123"):
        assert not any(code in term for term in terms), code
