"""Three-way merge of a section by lines, diff3 style, for ``drafter redraft``.

``base`` is what drafter generated last time, ``yours`` is the text the human has now, ``theirs``
is the new generation. Lines that only one side changed take that side's change; where both sides
changed the same lines differently, both are kept between visible conflict markers::

    <<<<<<< yours
    the human's lines
    ||||||| generated
    what drafter generated before
    =======
    the new draft's lines
    >>>>>>> new draft

Nothing a human wrote is ever dropped: a conflict keeps their lines verbatim. The matching is
difflib's (no junk heuristic), so the result is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

OURS_MARK = "<<<<<<< yours"
BASE_MARK = "||||||| generated"
SPLIT_MARK = "======="
THEIRS_MARK = ">>>>>>> new draft"


@dataclass(frozen=True)
class Conflict:
    """One conflicting hunk: 1-based first and last line of its markers in the merged text."""

    start: int
    end: int


@dataclass
class MergeResult:
    """The merged lines and where the conflicts are."""

    lines: list[str]
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def clean(self) -> bool:
        return not self.conflicts


def _matched(base: Sequence[str], other: Sequence[str]) -> dict[int, int]:
    """Base line index -> other line index, for lines difflib pairs up (monotonic in both)."""
    matcher = SequenceMatcher(None, list(base), list(other), autojunk=False)
    pairs: dict[int, int] = {}
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            pairs[block.a + offset] = block.b + offset
    return pairs


def merge_lines(base: Sequence[str], ours: Sequence[str], theirs: Sequence[str]) -> MergeResult:
    """diff3 over lists of lines (without line ends)."""
    in_ours = _matched(base, ours)
    in_theirs = _matched(base, theirs)
    result = MergeResult([])
    b = o = t = 0
    while True:
        sync = next(
            (j for j in range(b, len(base)) if j in in_ours and j in in_theirs),
            None,
        )
        if sync is not None and sync == b and in_ours[sync] == o and in_theirs[sync] == t:
            result.lines.append(base[b])
            b, o, t = b + 1, o + 1, t + 1
            continue
        if sync is None:
            _resolve(result, base[b:], ours[o:], theirs[t:])
            return result
        _resolve(result, base[b:sync], ours[o : in_ours[sync]], theirs[t : in_theirs[sync]])
        b, o, t = sync, in_ours[sync], in_theirs[sync]


def _resolve(result: MergeResult, base: Sequence[str], ours: Sequence[str], theirs: Sequence[str]) -> None:
    if list(ours) == list(base):
        result.lines.extend(theirs)
    elif list(theirs) == list(base) or list(ours) == list(theirs):
        result.lines.extend(ours)
    else:
        start = len(result.lines) + 1
        result.lines.extend([OURS_MARK, *ours, BASE_MARK, *base, SPLIT_MARK, *theirs, THEIRS_MARK])
        result.conflicts.append(Conflict(start, len(result.lines)))


def merge3(base: str, ours: str, theirs: str) -> MergeResult:
    """Merge three texts by lines; see :func:`merge_lines`."""

    def lines(text: str) -> list[str]:
        return text.split("\n") if text else []

    return merge_lines(lines(base), lines(ours), lines(theirs))


def has_markers(text: str) -> bool:
    """True when ``text`` still holds conflict markers from an earlier merge."""
    return any(line in (OURS_MARK, THEIRS_MARK) for line in text.split("\n"))
