"""What a redraft did, per section, in words a person reads on the terminal.

A redraft regenerates drafted sections: one named section, the subsections of a named parent
section (whose own body is only sub-headings), or every section a partial draft records as failed.
Each regenerated section gets a :class:`RedraftResult`; a parent section's result holds its
subsections' results as ``parts``, so ``redraft --section 4`` reports one line that still says
which subsection was merged, kept or left in conflict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from drafter.document.merge import Conflict

Status = Literal["regenerated", "unchanged", "kept", "merged", "conflict", "failed", "removed"]
# A parent's status is the most pressing of its parts': a conflict needs the human first.
_URGENCY: tuple[Status, ...] = ("conflict", "failed", "merged", "regenerated", "kept", "removed", "unchanged")
_DONE = {
    "regenerated": "regenerated",
    "unchanged": "unchanged (the new draft is the same)",
    "kept": "was edited by a human; kept as it is",
    "merged": "merged with your edits (no conflicts)",
    "removed": "was removed by a human; it is no longer recorded as failed",
}
_RESOLVE = "resolve the <<<<<<< / >>>>>>> markers by hand"


@dataclass
class RedraftResult:
    """What happened; ``conflicts`` are 1-based line ranges in the written file."""

    path: Path
    section: str
    status: Status
    edited: bool
    conflicts: list[Conflict] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # A parent section's subsections, each regenerated on its own (empty for a section with a body).
    parts: list[RedraftResult] = field(default_factory=list)

    def _spans(self) -> str:
        return ", ".join(f"lines {c.start}-{c.end}" for c in self.conflicts)

    def message(self) -> str:
        where = f"{self.path}: section '{self.section}'"
        if self.parts:
            listed = "; ".join(f"'{part.section}' {part.outcome()}" for part in self.parts)
            return f"{where}: {listed}" + (f"; {_RESOLVE}" if self.status == "conflict" else "")
        if self.status == "conflict":
            return (
                f"{where}: {len(self.conflicts)} conflict(s) between your edits and the new draft at "
                f"{self._spans()}; {_RESOLVE}"
            )
        if self.status == "failed":
            return f"{where}: {self.outcome()}"
        return f"{where} {self.outcome()}"

    def outcome(self) -> str:
        """The status in words, after the section's name."""
        if self.status == "conflict":
            return f"has {len(self.conflicts)} conflict(s) with your edits at {self._spans()}"
        if self.status == "failed":
            return "the model's answer was unusable again; it stays a TODO (run again)"
        return _DONE[self.status]


def combined(path: Path, heading: str, parts: list[RedraftResult]) -> RedraftResult:
    """The result of redrafting the parent section ``heading`` whose subsections gave ``parts``."""
    status = next(s for s in _URGENCY if any(part.status == s for part in parts))
    conflicts = [c for part in parts for c in part.conflicts]
    edited = any(part.edited for part in parts)
    return RedraftResult(path, heading, status, edited, conflicts, warnings=parts[0].warnings, parts=parts)


@dataclass
class RedraftRun:
    """The sections one redraft regenerated, in document order, and the calls it made.

    ``asked`` maps each section as asked for (a heading) to the headings it stands for: itself,
    or a parent's drafted subsections.
    """

    path: Path
    results: list[RedraftResult]
    usage: dict[str, int]
    warnings: list[str] = field(default_factory=list)
    asked: dict[str, list[str]] = field(default_factory=dict)

    @property
    def failed(self) -> list[str]:
        return [r.section for r in self.results if r.status == "failed"]
