"""Where each template section's body is in a draft, by line, for ``redraft``, ``review`` and ``status``.

A draft is cut at its headings with :func:`drafter.template.mdparse.split` (so a ``#`` inside a code block is
never taken for a heading), each heading is matched to its template section by the same title-path
id that provenance uses, and the section's *core* is its body without the blank lines and the
thematic break (``---``) that the renderer puts around it. The core is exactly what provenance
hashed when drafter wrote the section, so ``digest(core)`` tells whether a human edited it.

Line indexes are 0-based into :func:`split_lines` of the file as it is on disk (any line ends),
so a caller can replace one section and leave every other byte alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from drafter.document.content import section_id
from drafter.document.provenance import Provenance, digest
from drafter.document.render import SOURCES_MARK
from drafter.template import mdparse
from drafter.template.outline import Outline, Section, title_key

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
# Where drafter's hidden data starts: the one-line marker, or a legacy provenance block.
PROVENANCE_START = ("<!-- drafter {", "<!-- drafter:provenance")


def split_lines(text: str) -> list[str]:
    """Lines with their own line ends (``\\r\\n``, ``\\r`` or ``\\n``), as markdown-it counts them."""
    return _LINE.findall(text)


def bare(line: str) -> str:
    return line.rstrip("\r\n")


@dataclass(frozen=True)
class Region:
    """One template section found in a draft; ``start``/``end`` bound its core (end exclusive)."""

    sid: str
    section: Section
    heading: int
    start: int
    end: int
    text: str

    def edited(self, provenance: Provenance | None) -> bool | None:
        """True/False against the hash drafter recorded, None when there is no record."""
        if provenance is None or self.sid not in provenance.sections:
            return None
        return digest(self.text) != provenance.sections[self.sid]


@dataclass(frozen=True)
class Located:
    """A draft cut into lines, with its sections and the line where the trailing blocks start."""

    lines: list[str]
    regions: dict[str, Region]
    body_end: int
    sources_line: int | None

    def at_line(self, line: int) -> Region | None:
        """The section whose heading or body holds 1-based ``line``."""
        found = None
        for region in self.regions.values():
            if region.heading + 1 <= line:
                found = region
        return found


def _path_ids(raws: list[mdparse.RawSection]) -> list[str]:
    ids: list[str] = []
    stack: list[tuple[int, str]] = []
    for raw in raws:
        while stack and stack[-1][0] >= raw.level:
            stack.pop()
        stack.append((raw.level, title_key(raw.text).replace(" ", "-") or "section"))
        ids.append("/".join(part for _, part in stack))
    return ids


def locate(text: str, outline: Outline) -> Located:
    """Find every template section of ``outline`` in the draft ``text``."""
    lines = split_lines(text)
    bare_lines = [bare(line) for line in lines]
    body_end = len(lines)
    for number in range(len(lines) - 1, -1, -1):
        if bare_lines[number].startswith(PROVENANCE_START):
            body_end = number
            break
    sources_line = next(
        (i for i in range(body_end - 1, -1, -1) if bare_lines[i].strip() == SOURCES_MARK), None
    )
    split = mdparse.split("\n".join(bare_lines[:body_end]))
    raws = [raw for raw in split.sections if raw.line - 1 < body_end]
    if outline.title_level is not None and raws and raws[0].level == outline.title_level:
        raws = raws[1:]
    ids = _path_ids(raws)
    wanted = {section_id(s): s for s in outline.walk()}
    by_key: dict[str, list[int]] = {}
    for position, raw in enumerate(raws):
        by_key.setdefault(title_key(raw.text), []).append(position)
    regions: dict[str, Region] = {}
    taken: set[int] = set()
    for sid, section in wanted.items():
        index: int | None = next((i for i, found in enumerate(ids) if found == sid and i not in taken), None)
        if index is None:  # heading moved under another parent: match by title alone if unique
            same = [i for i in by_key.get(section.key, []) if i not in taken]
            index = same[0] if len(same) == 1 else None
        if index is None:
            continue
        taken.add(index)
        heading = raws[index].line - 1
        limit = raws[index + 1].line - 1 if index + 1 < len(raws) else body_end
        if sources_line is not None and heading < sources_line < limit:
            limit = sources_line
        # Thematic breaks as markdown-it reads them: a "---" under a paragraph is a heading's
        # underline, and one inside a list item or a fence is the human's, not the renderer's.
        rules = {tok.map[0] for tok in raws[index].tokens if tok.type == "hr" and tok.level == 0 and tok.map}
        start, end = _core(bare_lines, heading + 1, limit, rules)
        regions[sid] = Region(sid, section, heading, start, end, "\n".join(bare_lines[start:end]))
    ordered = dict(sorted(regions.items(), key=lambda kv: kv[1].heading))
    return Located(lines, ordered, body_end, sources_line)


def _core(lines: list[str], start: int, end: int, rules: set[int]) -> tuple[int, int]:
    """The body between ``start`` and ``end`` without surrounding blank lines and closing rule
    (``rules``: the lines that hold a top-level thematic break)."""
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    if end > start and end - 1 in rules:
        end -= 1
        while end > start and not lines[end - 1].strip():
            end -= 1
    return start, end
