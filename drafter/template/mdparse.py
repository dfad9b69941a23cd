"""Markdown as blocks with line numbers: the one place that talks to markdown-it-py.

Both sides of validation go through here, the template (to derive the outline) and the document (to
check it), so they can never disagree on what a heading, a table or a fence is. Structure comes from
markdown-it-py's block tokens and their ``map`` (0-based, end-exclusive line ranges); nothing here
parses markdown structure with regular expressions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table")


def parse(text: str) -> list[Token]:
    """Parse markdown into markdown-it-py block tokens."""
    return _parser().parse(text)


def line_of(token: Token, default: int = 1) -> int:
    """1-based first line of a block token (inline tokens inherit their block's line)."""
    return token.map[0] + 1 if token.map else default


def plain_text(inline: Token | None) -> str:
    """Visible text of an ``inline`` token: text, code spans and link text, breaks as spaces."""
    if inline is None or not inline.children:
        return inline.content if inline is not None else ""
    parts: list[str] = []
    for child in inline.children:
        if child.type in ("text", "code_inline", "html_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts)


def inline_lines(inline: Token) -> list[list[Token]]:
    """Split an inline token's children into visual lines (on soft and hard breaks)."""
    lines: list[list[Token]] = [[]]
    for child in inline.children or []:
        if child.type in ("softbreak", "hardbreak"):
            lines.append([])
        else:
            lines[-1].append(child)
    return lines


@dataclass
class RawSection:
    """A heading and the block tokens of its own body, up to the next heading of any level."""

    level: int
    text: str
    line: int
    tokens: list[Token] = field(default_factory=list)
    end_line: int = 0

    def is_blank(self) -> bool:
        """True when the body holds nothing a reader would see (HTML comments do not count)."""
        return not any(_visible(tok) for tok in self.tokens)


def _visible(tok: Token) -> bool:
    if tok.type == "html_block":
        return not tok.content.strip().startswith("<!--")
    if tok.type == "inline":
        return bool(tok.content.strip())
    return tok.type in ("fence", "code_block", "hr") or tok.type.startswith("table")


@dataclass
class Split:
    """A document cut at its headings: the blocks before the first heading, then each section."""

    preamble: list[Token]
    sections: list[RawSection]
    line_count: int


def normalize_newlines(text: str) -> str:
    """Turn CRLF and lone CR line ends into LF, as markdown-it-py does before it counts lines."""
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split(text: str) -> Split:
    """Cut ``text`` into a preamble and a flat list of :class:`RawSection`."""
    text = normalize_newlines(text)
    tokens = parse(text)
    line_count = text.count("\n") + 1
    preamble: list[Token] = []
    sections: list[RawSection] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == "heading_open":
            inline = tokens[i + 1]
            sections.append(
                RawSection(level=int(tok.tag[1:]), text=plain_text(inline).strip(), line=line_of(tok))
            )
            i += 3
            continue
        (sections[-1].tokens if sections else preamble).append(tok)
        i += 1
    for index, current in enumerate(sections):
        current.end_line = sections[index + 1].line - 1 if index + 1 < len(sections) else line_count
    return Split(preamble=preamble, sections=sections, line_count=line_count)


@dataclass(frozen=True)
class Table:
    """A GFM table: header cells, body rows, first line."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    line: int


def tables(tokens: Sequence[Token]) -> list[Table]:
    """Every table among ``tokens`` with its cells as plain text."""
    found: list[Table] = []
    header: list[str] = []
    rows: list[tuple[str, ...]] = []
    row: list[str] = []
    line = 0
    in_head = False
    for i, tok in enumerate(tokens):
        if tok.type == "table_open":
            header, rows, line = [], [], line_of(tok)
        elif tok.type == "thead_open":
            in_head = True
        elif tok.type == "thead_close":
            in_head = False
        elif tok.type == "tr_open":
            row = []
        elif tok.type in ("th_open", "td_open"):
            row.append(plain_text(tokens[i + 1]).strip())
        elif tok.type == "tr_close":
            if in_head:
                header = row
            else:
                rows.append(tuple(row))
        elif tok.type == "table_close":
            found.append(Table(tuple(header), tuple(rows), line))
    return found


def fences(tokens: Sequence[Token]) -> Iterator[Token]:
    """Every fenced or indented code block among ``tokens``."""
    return (t for t in tokens if t.type in ("fence", "code_block"))


def paragraphs(tokens: Sequence[Token]) -> Iterator[tuple[Token, Token]]:
    """``(paragraph_open, inline)`` pairs among ``tokens``, including those inside lists and quotes."""
    for i, tok in enumerate(tokens):
        if tok.type == "paragraph_open" and i + 1 < len(tokens):
            yield tok, tokens[i + 1]


def normalise(text: str) -> str:
    """Fold whitespace, case and emphasis marks, for comparing prose such as guidance or cells."""
    return " ".join(text.replace("*", "").replace("`", "").split()).lower()
