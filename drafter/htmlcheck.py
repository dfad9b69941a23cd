"""Raw HTML in design docs: neutralised in untrusted text, and checked for balance by the validator.

An unclosed ``<details>`` (or ``<div>``, ``<table>``, ``<pre>`` ...) in an issue title, a comment or
a model answer folds or swallows everything after it when the draft is shown as HTML (GitHub),
although every markdown heading the validator counts is still in the text. Two defences:

* :func:`escape_html`, run by :func:`drafter.render.safe_markdown` on every piece of untrusted
  text placed in a draft, writes the ``<`` that starts an HTML tag, comment, declaration or
  processing instruction as ``&lt;``, so the tag shows as the text it was. The choice is meant to
  be simple and deterministic: no tag is kept and balanced instead, except ``<br>``, which is void
  (it cannot be left open) and common in table cells. A ``<`` inside a fenced or indented code
  block or a code span is left alone (it is text there already), and so are autolinks such as
  ``<https://example.com>``, which are not tags. Escaping a ``<`` that would not have started a
  tag changes nothing a reader sees, so the scan may err on that side; after it, the text is
  parsed again and any raw HTML markdown-it still finds is escaped without regard to code spans.
* :func:`unbalanced`, the validator's ``html-unbalanced`` rule, lists the block-level elements
  that raw HTML outside code opens and does not close, or closes without opening, with their
  lines. Elements whose end tag HTML makes optional (``p``, ``li``, ``td`` ...), void ones
  (``hr``, ``img``) and inline ones (``b``, ``span``), which cannot fold a document, are not counted.

Only markdown-it-py (through :mod:`drafter.mdparse`) is imported: the validator's fast path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from markdown_it.token import Token

from drafter import mdparse

BLOCK_TAGS = frozenset(
    "address article aside blockquote center details dialog dir div dl fieldset figcaption figure "
    "footer form h1 h2 h3 h4 h5 h6 header hgroup iframe legend main menu nav noframes noscript "
    "object ol pre script search section select style summary table template textarea ul".split()
)
# Their content is text to an HTML parser, so a tag inside one is not a tag.
_RAW_TEXT = frozenset({"script", "style", "textarea"})

_MARKUP_START = re.compile(r"<(?=/?[A-Za-z]|[!?])")
_KEPT = re.compile(r"<br\s*/?>", re.IGNORECASE)
# CommonMark autolinks, <https://example.com> and <a@example.com>: links, not tags.
_AUTOLINK = re.compile(
    r"<(?:[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*"
    r"|[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)>"
)
_TICKS = re.compile(r"`+")
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)(?=[\s/>]|$)")
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
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
def unbalanced(text: str) -> list[tuple[int, str]]:
    """``(line, message)`` for each block-level HTML element left open or closed without an opening.

    ``text`` is a whole document with ``\\n`` line ends; code blocks and code spans are not HTML.
    """
    if not _CANDIDATE.search(text):
        return []
    found: list[tuple[int, str]] = []
    stack: list[tuple[str, int]] = []
    raw_text: str | None = None
    for line, closing, name in _tag_events(mdparse.parse(text)):
        if raw_text is not None and not (closing and name == raw_text):
            continue  # inside <script>, <style> or <textarea>: text, not tags
        raw_text = None
        if not closing:
            stack.append((name, line))
            raw_text = name if name in _RAW_TEXT else None
            continue
        depth = next((i for i in range(len(stack) - 1, -1, -1) if stack[i][0] == name), None)
        if depth is None:
            found.append(
                (line, f"'</{name}>' closes no open '<{name}>'; remove it, or add '<{name}>' where it begins")
            )
            continue
        for inner, at in stack[depth + 1 :]:
            found.append(
                (
                    at,
                    f"'<{inner}>' is not closed before '</{name}>' on line {line}; "
                    f"add '</{inner}>' before it, or write '&lt;{inner}>' to show it as text",
                )
            )
        del stack[depth:]
    for name, at in stack:
        found.append(
            (
                at,
                f"'<{name}>' is opened but never closed, so an HTML view (GitHub) folds or hides "
                f"what follows; add '</{name}>' where it ends, or write '&lt;{name}>' to show it as text",
            )
        )
    return sorted(found)


def _tag_events(tokens: Sequence[Token]) -> Iterator[tuple[int, bool, str]]:
    """``(1-based line, is closing, tag name)`` of each block-level tag in raw HTML, in order."""
    for tok in tokens:
        if not tok.map:
            continue
        if tok.type == "html_block":
            yield from _scan(tok.content, tok.map[0] + 1, tok.map[1])
        elif tok.type == "inline" and tok.children:
            line = tok.map[0] + 1
            for child in tok.children:
                if child.type in ("softbreak", "hardbreak"):
                    line += 1
                elif child.type == "html_inline":
                    yield from _scan(child.content, min(line, tok.map[1]), tok.map[1])
                    line += child.content.count("\n")


def _scan(html: str, first: int, last: int) -> Iterator[tuple[int, bool, str]]:
    html = _COMMENT.sub(lambda m: "\n" * m.group().count("\n"), html)
    for match in _TAG.finditer(html):
        name = match.group(2).lower()
        if name in BLOCK_TAGS:
            yield min(first + html.count("\n", 0, match.start()), last), bool(match.group(1)), name
