"""Raw HTML in design docs: neutralised in untrusted text, and checked for balance by the validator.

An unclosed ``<details>`` (or ``<div>``, ``<table>``, ``<pre>`` ...) in an issue title, a comment or
a model answer folds or swallows everything after it when the draft is shown as HTML (GitHub),
although every markdown heading the validator counts is still in the text. Two defences:

* :func:`escape_html`, run by :func:`drafter.document.render.safe_markdown` on every piece of untrusted
  text placed in a draft, writes the ``<`` that starts an HTML tag, comment, declaration or
  processing instruction as ``&lt;``, so the tag shows as the text it was. The choice is meant to
  be simple and deterministic: no tag is kept and balanced instead, except ``<br>``, which is void
  (it cannot be left open) and common in table cells. A ``<`` inside a fenced or indented code
  block or a code span is left alone (it is text there already), and so are autolinks such as
  ``<https://example.com>``, which are not tags. Escaping a ``<`` that would not have started a
  tag changes nothing a reader sees, so the scan may err on that side; after it, the text is
  parsed again and any raw HTML markdown-it still finds is escaped without regard to code spans.
* :func:`escape_line` does the same for text joined into one line inside other markdown (a table
  cell, a heading, a header value): joining lines turns an indented block or a fence back into
  inline text, so only code spans are left to protect a ``<`` there.
* :func:`unbalanced`, the validator's ``html-unbalanced`` rule, lists the block-level elements
  that raw HTML outside code opens and does not close, or closes without opening, with their
  lines. Elements whose end tag HTML makes optional (``p``, ``li``, ``td`` ...), void ones
  (``hr``, ``img``) and inline ones (``b``, ``span``), which cannot fold a document, are not counted.
  Tags are read as an HTML5 tokenizer reads them, so a ``</details>`` inside a quoted attribute
  value is not a tag; and a markdown table cell is a scope of its own, as ``<td>`` is in HTML: a
  tag in it neither closes one opened outside the cell nor stays open after it.

Only markdown-it-py (through :mod:`drafter.template.mdparse`) is imported: the validator's fast path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from markdown_it.token import Token

from drafter.template import mdparse

BLOCK_TAGS = frozenset(
    "address applet article aside blockquote center details dialog dir div dl fieldset figcaption "
    "figure footer form h1 h2 h3 h4 h5 h6 header hgroup iframe legend listing main marquee math menu "
    "nav noembed noframes noscript object ol plaintext pre script search section select style summary "
    "svg table template textarea title ul xmp".split()
)
# Their content is text to an HTML parser, so a tag inside one is not a tag; <plaintext> never ends.
_RAW_TEXT = frozenset("iframe noembed noframes plaintext script style textarea title xmp".split())
# SVG and MathML roots: "/>" ends them, and no element inside them is raw text.
_FOREIGN = frozenset({"math", "svg"})

_MARKUP_START = re.compile(r"<(?=/?[A-Za-z]|[!?])")
_KEPT = re.compile(r"<br\s*/?>", re.IGNORECASE)
# CommonMark autolinks, <https://example.com> and <a@example.com>: links, not tags.
_AUTOLINK = re.compile(
    r"<(?:[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*"
    r"|[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)>"
)
_TICKS = re.compile(r"`+")
# One HTML5 token from a "<": a comment ("<!-->" and "<!--->" end at once), a declaration, processing
# instruction or bogus comment (up to the first ">"), or a tag, whose attribute values may hold any
# ">" or "<" inside their quotes. A construct cut off by the end of the HTML runs to that end.
_TOKEN = re.compile(
    r"<!--(?:-?>|.*?(?:--!?>|\Z))"
    r"|<(?:[!?]|/(?![A-Za-z]))[^>]*+(?:>|\Z)"
    r"|<(?P<close>/?)(?P<name>[A-Za-z][^\t\n\f\r />]*+)"
    r"(?:[\t\n\f\r ]++|/(?!>)|[^\t\n\f\r />][^\t\n\f\r />=]*+"
    r"(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+(?:\"[^\"]*+\"?|'[^']*+'?|[^\t\n\f\r >]++))?+)*+"
    r"(?P<slash>/?)(?:>|\Z)",
    re.DOTALL,
)
# "<!--" then "<script" inside a script: HTML5's double-escaped state, where "</script>" ends nothing.
_DOUBLE_ESCAPE = re.compile(r"<!--.*<script[\t\n\f\r />]", re.DOTALL | re.IGNORECASE)
_CANDIDATE = re.compile(
    r"</?(?:" + "|".join(sorted(BLOCK_TAGS, key=len, reverse=True)) + r")(?![A-Za-z0-9-])",
    re.IGNORECASE,
)


# -- escaping untrusted text ------------------------------------------------------------------------
def escape_html(text: str, tokens: list[Token] | None = None) -> tuple[str, list[Token]]:
    """``text`` with every raw HTML tag outside code escaped, and its markdown-it tokens.

    ``tokens`` may be passed when the caller parsed ``text`` already. ``<br>`` is kept.
    """
    if "<" not in text:
        return text, tokens if tokens is not None else mdparse.parse(text)
    tokens = tokens if tokens is not None else mdparse.parse(text)
    lines = text.split("\n")
    rows: Sequence[int] = range(len(lines))
    mind_spans = True
    for _ in range(8):  # each round escapes what the last parse still saw as HTML
        code = _code_rows(tokens)
        changed = _escape_rows(lines, [n for n in rows if n not in code], mind_spans)
        if changed:
            tokens = mdparse.parse("\n".join(lines))
        rows = _html_rows(tokens)
        if not rows:
            break
        mind_spans = False
    return "\n".join(lines), tokens


def escape_text(text: str) -> str:
    """Plain text (no code spans, e.g. a heading's words) with every tag start escaped."""
    return _escape_block(text, [])


def escape_line(text: str) -> str:
    """``text`` joined into one line (whitespace runs become a space), every tag start outside its code
    spans escaped: for a table cell, a heading or a header value, where markdown sees inline text only.

    An indented block or a fence that :func:`escape_html` left alone as code is inline text once
    its lines are joined. As there, ``<br>``, autolinks and ``\\<`` stay, and if markdown-it still
    finds raw HTML after the quick scan (whose code spans can differ from its own), every tag start
    is escaped, code spans or not.
    """
    line = " ".join(text.split())
    if "<" not in line:
        return line
    line = _escape_block(line, _code_spans(line))
    if _html_rows(mdparse.parse(f"x {line}")):  # "x " keeps the line a paragraph
        line = _escape_block(line, [])
    return line


def _code_rows(tokens: Sequence[Token]) -> set[int]:
    rows: set[int] = set()
    for tok in tokens:
        if tok.type in ("fence", "code_block") and tok.map:
            rows.update(range(*tok.map))
    return rows


def _html_rows(tokens: Sequence[Token]) -> list[int]:
    """0-based lines of the blocks in which markdown-it still finds raw HTML (``<br>`` aside)."""
    rows: set[int] = set()
    for tok in tokens:
        if not tok.map:
            continue
        if (tok.type == "html_block" and _KEPT.sub("", tok.content).strip()) or (
            tok.type == "inline"
            and any(c.type == "html_inline" and not _KEPT.fullmatch(c.content) for c in tok.children or ())
        ):
            rows.update(range(*tok.map))
    return sorted(rows)


def _escape_rows(lines: list[str], rows: Sequence[int], mind_spans: bool) -> bool:
    """Escape markup in ``lines[rows]``; consecutive non-blank rows are one paragraph for code spans."""
    changed = False
    group: list[int] = []
    for index, row in enumerate(rows):
        if lines[row].strip():
            group.append(row)
        last = index + 1 == len(rows) or rows[index + 1] != row + 1
        if group and (last or not lines[row].strip()):
            block = "\n".join(lines[n] for n in group)
            escaped = _escape_block(block, _code_spans(block) if mind_spans else [])
            if escaped != block:
                changed = True
                for n, line in zip(group, escaped.split("\n"), strict=True):
                    lines[n] = line
            group = []
    return changed


def _escape_block(block: str, spans: list[tuple[int, int]]) -> str:
    if "<" not in block:
        return block
    out: list[str] = []
    last = 0
    for match in _MARKUP_START.finditer(block):
        at = match.start()
        if any(start <= at < end for start, end in spans) or _backslashed(block, at):
            continue
        if _KEPT.match(block, at) or _AUTOLINK.match(block, at):
            continue
        out.append(block[last:at] + "&lt;")
        last = at + 1
    out.append(block[last:])
    return "".join(out)


def _backslashed(text: str, at: int) -> bool:
    count = 0
    while at - count - 1 >= 0 and text[at - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def _code_spans(block: str) -> list[tuple[int, int]]:
    """Character ranges of the code spans in a paragraph: a backtick run up to the next run as long."""
    runs = [m for m in _TICKS.finditer(block) if not _backslashed(block, m.start())]
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(runs):
        opener = runs[i]
        closer = next(
            (j for j in range(i + 1, len(runs)) if len(runs[j].group()) == len(opener.group())), None
        )
        if closer is None:
            i += 1
            continue
        spans.append((opener.start(), runs[closer].end()))
        i = closer + 1
    return spans


# -- checking a document ----------------------------------------------------------------------------
_CELL = ""  # the stack entry that marks a markdown table cell


def unbalanced(text: str) -> list[tuple[int, str]]:
    """``(line, message)`` for each block-level HTML element left open or closed without an opening.

    ``text`` is a whole document with ``\\n`` line ends; code blocks and code spans are not HTML.
    """
    if not _CANDIDATE.search(text):
        return []
    check = _Balance()
    for tok in mdparse.parse(text):
        if tok.type in ("th_open", "td_open"):
            check.stack.append((_CELL, 0))
        elif tok.type in ("th_close", "td_close"):
            check.end_cell()
        elif tok.type == "html_block" and tok.map:
            check.feed(tok.content, tok.map[0] + 1, tok.map[1])
        elif tok.type == "inline" and tok.map and tok.children:
            line = tok.map[0] + 1
            for child in tok.children:
                if child.type in ("softbreak", "hardbreak"):
                    line += 1
                elif child.type == "html_inline":
                    check.feed(child.content, min(line, tok.map[1]), tok.map[1])
                    line += child.content.count("\n")
    for name, at in check.stack:
        check.found.append(
            (
                at,
                f"'<{name}>' is opened but never closed, so an HTML view (GitHub) folds or hides "
                f"what follows; add '</{name}>' where it ends, or write '&lt;{name}>' to show it as text",
            )
        )
    return sorted(check.found)


class _Balance:
    """The open block-level elements of a document, fed its raw HTML in order, and what is wrong."""

    def __init__(self) -> None:
        self.found: list[tuple[int, str]] = []
        self.stack: list[tuple[str, int]] = []  # (tag name or _CELL, line opened)
        self.raw: str | None = None  # the raw text element being read, if any

    def feed(self, html: str, first: int, last: int) -> None:
        """Read one piece of raw HTML whose first line is ``first`` (and none is after ``last``)."""
        pos = 0
        while pos < len(html):
            if self.raw is not None:
                pos = self._raw_end(html, pos)
                if pos < 0:
                    return
            at = html.find("<", pos)
            if at < 0:
                return
            match = _TOKEN.match(html, at)
            if match is None:  # "<" before a space, a digit ...: text
                pos = at + 1
                continue
            pos = match.end()
            name = (match.group("name") or "").lower()
            if name not in BLOCK_TAGS:
                continue
            line = min(first + html.count("\n", 0, at), last)
            if match.group("close"):
                self._close(name, line)
            elif not (match.group("slash") and name in _FOREIGN):
                self.stack.append((name, line))
                foreign = any(open_ in _FOREIGN for open_, _ in self.stack)
                self.raw = name if name in _RAW_TEXT and not foreign else None

    def _raw_end(self, html: str, pos: int) -> int:
        """Where the end tag of the raw text element being read starts in ``html``, or -1."""
        if self.raw == "plaintext":
            return -1
        end = re.compile(rf"</{self.raw}(?=[\t\n\f\r />]|\Z)", re.IGNORECASE).search(html, pos)
        if end is None or (self.raw == "script" and _DOUBLE_ESCAPE.search(html, pos, end.start())):
            return -1
        self.raw = None
        return end.start()

    def _close(self, name: str, line: int) -> None:
        floor = next((i for i in range(len(self.stack) - 1, -1, -1) if self.stack[i][0] == _CELL), -1)
        depth = next((i for i in range(len(self.stack) - 1, floor, -1) if self.stack[i][0] == name), None)
        if depth is None:
            where = " in its table cell (an HTML view ignores it there)" if floor >= 0 else ""
            self.found.append(
                (
                    line,
                    f"'</{name}>' closes no open '<{name}>'{where}; remove it, or add '<{name}>' "
                    "where it begins",
                )
            )
            return
        for inner, at in self.stack[depth + 1 :]:
            self.found.append(
                (
                    at,
                    f"'<{inner}>' is not closed before '</{name}>' on line {line}; "
                    f"add '</{inner}>' before it, or write '&lt;{inner}>' to show it as text",
                )
            )
        del self.stack[depth:]

    def end_cell(self) -> None:
        """A markdown table cell ends (``</td>``): HTML closes whatever is still open in it."""
        floor = next((i for i in range(len(self.stack) - 1, -1, -1) if self.stack[i][0] == _CELL), None)
        if floor is None:
            return
        for name, at in self.stack[floor + 1 :]:
            self.found.append(
                (
                    at,
                    f"'<{name}>' is not closed in its table cell; add '</{name}>' in the same cell, "
                    f"or write '&lt;{name}>' to show it as text",
                )
            )
            if name == self.raw:
                self.raw = None
        del self.stack[floor:]
