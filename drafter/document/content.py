"""What a drafter (model or offline) produces for each template section, before rendering.

Content is kept typed (prose, list items, table rows, fenced blocks) so that the renderer, not the
model, decides the markdown shape: a model can fill a table's cells but cannot change its columns,
and text from an issue can never turn into a heading of the document.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from drafter.template.outline import Outline, Section, title_key

TODO = "TODO(drafter)"


@dataclass
class SectionContent:
    """The drafted content of one section; ``sources`` are input ids (``issue``, ``comment:ID``, ``note:N``)."""

    text: str = ""
    items: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    fallback: bool = False

    def is_empty(self) -> bool:
        return not (self.text.strip() or self.items or self.rows or any(b.strip() for b in self.blocks))


def section_id(section: Section) -> str:
    """A stable id for a section: its title keys from the top, e.g. ``solution-overview/goals``."""
    path: list[str] = []
    node: Section | None = section
    while node is not None:
        path.append(title_key(node.title).replace(" ", "-") or "section")
        node = node.parent
    return "/".join(reversed(path))


def drafted_sections(outline: Outline) -> Iterator[Section]:
    """Sections that receive content: those with a body in the template, and empty leaves."""
    for section in outline.walk():
        if section.has_body or not section.children:
            yield section


def todo_content(section: Section, reason: str = "") -> SectionContent:
    """Content that tells the human what to write, used when nothing better is known."""
    hint = section.guidance[0] if section.guidance else f"write the {section.title} section"
    why = f" ({reason})" if reason else ""
    content = SectionContent(text=f"{TODO}: {hint}{why}", fallback=True)
    if section.tables:
        content.rows = [[f"{TODO}" for _ in section.tables[0].columns]]
    content.blocks = [f"{TODO}: {spec.label or 'fill in this block'}" for spec in section.fences]
    return content
