"""Three-way merge by lines with diff3-style conflict markers."""

from __future__ import annotations

from drafter.document.merge import BASE_MARK, OURS_MARK, SPLIT_MARK, THEIRS_MARK, has_markers, merge3

BASE = "a\nb\nc\nd\ne"


def test_only_theirs_changed_takes_theirs() -> None:
    result = merge3(BASE, BASE, "a\nB\nc\nd\ne\nf")
    assert result.clean and result.text == "a\nB\nc\nd\ne\nf"


def test_only_ours_changed_keeps_ours() -> None:
    result = merge3(BASE, "a\nb\nmine\nd\ne", BASE)
    assert result.clean and result.text == "a\nb\nmine\nd\ne"


def test_both_changed_different_lines_merge_cleanly() -> None:
    result = merge3(BASE, "A\nb\nc\nd\ne", "a\nb\nc\nd\nE")
    assert result.clean and result.text == "A\nb\nc\nd\nE"


def test_same_change_on_both_sides_is_not_a_conflict() -> None:
    result = merge3(BASE, "a\nX\nc\nd\ne", "a\nX\nc\nd\ne")
    assert result.clean and result.text == "a\nX\nc\nd\ne"


def test_overlap_gives_markers_and_keeps_every_side() -> None:
    result = merge3(BASE, "a\nmine\nc\nd\ne", "a\ntheirs\nc\nd\ne")
    assert not result.clean
    assert result.lines == [
        "a",
        OURS_MARK,
        "mine",
        BASE_MARK,
        "b",
        SPLIT_MARK,
        "theirs",
        THEIRS_MARK,
        "c",
        "d",
        "e",
    ]
    [conflict] = result.conflicts
    assert (conflict.start, conflict.end) == (2, 8)
    assert has_markers(result.text)


def test_missing_base_conflicts_instead_of_dropping_text() -> None:
    result = merge3("", "human text", "new text")
    assert not result.clean and "human text" in result.lines and "new text" in result.lines
    assert merge3("", "same", "same").text == "same"


def test_deletion_against_edit_is_a_conflict() -> None:
    result = merge3(BASE, "a\nc\nd\ne", "a\nB\nc\nd\ne")
    assert not result.clean and "B" in result.lines


def test_random_merges_never_drop_a_human_line() -> None:
    """2,000 seeded random edits: every line the human added is in the result, and a side left as
    the base always yields the other side."""
    import random

    rng = random.Random(20)
    words = ["a", "b", "c", " ", "- item", "x"]  # no "": one empty line and no text join alike

    def edit(lines: list[str]) -> list[str]:
        out = list(lines)
        for _ in range(rng.randint(0, 3)):
            at = rng.randint(0, len(out))
            if out and rng.random() < 0.4:
                out.pop(min(at, len(out) - 1))
            else:
                out.insert(at, rng.choice([*words, "human", "model"]))
        return out

    for _ in range(2000):
        base = [rng.choice(words) for _ in range(rng.randint(0, 6))]
        ours, theirs = edit(base), edit(base)
        result = merge3("\n".join(base), "\n".join(ours), "\n".join(theirs))
        added = [line for line in ours if line not in base]
        assert all(result.lines.count(line) >= added.count(line) for line in added)
        if ours == base and base:
            assert result.clean and result.lines == theirs
        if theirs == base and base:
            assert result.clean and result.lines == ours
