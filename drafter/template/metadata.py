"""Reading a header metadata block: ``**Key:** value`` lines and ``- Key: value`` list items.

Both the template (which fields exist, and their allowed values) and the validator (what a
document says) read the block the same way, so the reading lives here, on markdown-it tokens.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Literal

from markdown_it.token import Token

from drafter.template import mdparse
from drafter.template.findings import Finding
from drafter.template.mdparse import normalise

if TYPE_CHECKING:
    from drafter.template.outline import MetaField


def metadata_lines(tokens: Sequence[Token]) -> list[tuple[str, str, int]]:
    """``(key, value, line)`` for each ``**Key:** value`` line, or ``- Key: value`` list item."""
    return [(k, v, line) for k, v, line, _ in metadata_entries(tokens)]


def metadata_entries(tokens: Sequence[Token]) -> list[tuple[str, str, int, Literal["bold", "list"]]]:
    """:func:`metadata_lines` with each line's style: a bold ``**Key:**`` line or a list item."""
    found: list[tuple[str, str, int, Literal["bold", "list"]]] = []
    depth = 0
    for index, tok in enumerate(tokens):
        depth += tok.nesting if tok.type in ("list_item_open", "list_item_close") else 0
        if tok.type != "inline" or depth <= 0 or not tok.children or tok.children[0].type != "text":
            continue
        key, colon, _ = tok.children[0].content.partition(":")
        if colon and 0 < len(key) <= 40 and key[0].isalpha() and len(key.split()) <= 5:
            value = mdparse.plain_text(tok).partition(":")[2].strip()
            link = next((c.attrGet("href") for c in tok.children if c.type == "link_open"), None)
            found.append(
                (key.strip(), str(link) if link else value, mdparse.line_of(tokens[index - 1]), "list")
            )
    for para, inline in mdparse.paragraphs(tokens):
        start = mdparse.line_of(para)
        for offset, raw_line in enumerate(mdparse.inline_lines(inline)):
            line = [c for c in raw_line if not (c.type == "text" and not c.content.strip())]
            if len(line) < 3 or line[0].type != "strong_open":
                continue
            close = next((i for i, c in enumerate(line) if c.type == "strong_close"), None)
            if close is None:
                continue
            key = "".join(c.content for c in line[1:close]).strip()
            rest = "".join(c.content if c.type != "link_open" else "" for c in line[close + 1 :])
            if key.endswith(":"):
                key = key[:-1]
            elif rest.lstrip().startswith(":"):
                rest = rest.lstrip()[1:]
            else:
                continue
            link = next((c.attrGet("href") for c in line[close + 1 :] if c.type == "link_open"), None)
            value = rest.strip()
            if link and (not value or value == link):
                value = str(link)
            found.append((key.strip(), value, start + offset, "bold"))
    return found


def check_metadata(
    fields: Sequence[MetaField], preamble: Sequence[Token], placeholders: Collection[str]
) -> list[Finding]:
    """The validator's findings for a document's header block: fields missing, still holding a
    placeholder, or outside their allowed values (a choice, a date)."""
    if not fields:
        return []
    findings: list[Finding] = []
    found = {normalise(k): (v, line) for k, v, line in metadata_lines(preamble)}
    anchor = next((mdparse.line_of(t) for t in preamble if t.map), 1)
    for spec in fields:
        if spec.key not in found:
            findings.append(
                Finding(
                    "metadata-missing",
                    "error",
                    max(1, anchor),
                    f"header field '{spec.name}' is missing; add a line "
                    f"'{spec.line(_example(spec.kind, spec.choices))}' to the header block",
                )
            )
            continue
        value, line = found[spec.key]
        if not value or value == spec.placeholder or value in placeholders:
            message = (
                f"header field '{spec.name}' still holds the placeholder '{value or spec.placeholder}'; "
                f"fill in {_example(spec.kind, spec.choices)}"
            )
            findings.append(Finding("placeholder-left", "error", max(1, line), message))
        elif spec.kind == "choice" and value.lower() not in {c.lower() for c in spec.choices}:
            message = f"header field '{spec.name}' is '{value}'; use one of {', '.join(spec.choices)}"
            findings.append(Finding("metadata-invalid", "error", max(1, line), message))
        elif spec.kind == "date" and not _is_date(value):
            message = f"header field '{spec.name}' is '{value}'; write a date as YYYY-MM-DD, e.g. 2026-01-31"
            findings.append(Finding("metadata-invalid", "error", max(1, line), message))
    return findings


def _example(kind: str, choices: Iterable[str]) -> str:
    if kind == "date":
        return "a date as YYYY-MM-DD"
    if kind == "choice":
        return "one of " + "/".join(choices)
    return "a value"


def _is_date(value: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        _dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True
