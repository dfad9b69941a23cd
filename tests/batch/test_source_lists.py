"""``--from-file`` source lists: comments, blank lines and paths relative to the list file."""

from __future__ import annotations

from pathlib import Path

from drafter.batch.runner import read_sources_file


def test_source_list_paths_are_relative_to_the_list_file(tmp_path: Path) -> None:
    folder = tmp_path / "issues"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nbody\n", encoding="utf-8")
    listing = folder / "list.txt"
    listing.write_text("# comment\na.md\nowner/repo#3  # trailing comment\nhttps://github.com/o/r/issues/1\n")
    assert read_sources_file(listing) == [
        str(folder / "a.md"),
        "owner/repo#3",
        "https://github.com/o/r/issues/1",
    ]
