"""Regression tests for defects found in review: defaulted model settings, source lists."""

from __future__ import annotations

from pathlib import Path

from drafter.batch.runner import read_sources_file
from drafter.model.openai import resolve_model


def test_defaulted_openai_model_keeps_timeout_and_retries() -> None:
    env = {"OPENAI_API_KEY": "sk-test", "DRAFTER_TIMEOUT": "5", "DRAFTER_MAX_RETRIES": "0"}
    defaulted = resolve_model(None, env)
    named = resolve_model("gpt-4o-mini", env)
    assert defaulted.defaulted and not named.defaulted
    assert (defaulted.timeout, defaulted.max_retries) == (named.timeout, named.max_retries) == (5.0, 0)


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
