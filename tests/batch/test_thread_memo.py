"""A batch re-run decides "unchanged" from the thread memo, without distilling or parsing anything.

The memo (:mod:`drafter.sources.memo`) maps a fingerprint of the thread as fetched (plus the
budget, the notes and drafter's code) to the hash of the finished context. These tests count the
distilling and markdown parsing a re-run does, and check that whatever the memo holds, a changed
or edited issue still gets the status it got without it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import drafter.sources
from drafter.batch.runner import BatchRun
from drafter.drafting.chains import plan
from drafter.sources import SourceSettings
from drafter.sources.context import Comment, IssueContext, Note
from drafter.sources.memo import ThreadMemo, fingerprint
from drafter.template import mdparse
from drafter.template.outline import Outline, load_outline
from tests.support.batching import batch
from tests.support.chat import fake
from tests.support.issues import ISSUES


@pytest.fixture
def adr() -> Outline:
    return load_outline("adr")


class Counter:
    """Wraps a function and counts its calls."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.inner(*args, **kwargs)


def counting(monkeypatch: pytest.MonkeyPatch) -> tuple[Counter, Counter]:
    """Count every distill of a fetched thread and every markdown parse, from now on."""
    distills = Counter(drafter.sources.distill)
    parses = Counter(mdparse.parse)
    monkeypatch.setattr(drafter.sources, "distill", distills)
    monkeypatch.setattr(mdparse, "parse", parses)
    return distills, parses


def run(sources: list[Path], adr: Outline, out: Path, cache: Path | None, **kw: Any) -> tuple[BatchRun, int]:
    chat, options = fake(adr)
    done, _ = batch(sources, adr, out, options, settings=SourceSettings(cache_dir=cache), **kw)
    return done, chat.calls


def statuses(done: BatchRun) -> list[str]:
    return [item.status for item in done.items]


def test_an_unchanged_rerun_neither_distils_nor_parses(
    tmp_path: Path, adr: Outline, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    first, calls = run(ISSUES, adr, out, cache)
    assert statuses(first) == ["written"] * len(ISSUES)
    assert calls == len(ISSUES) * len(plan(adr))
    before = {p: p.read_bytes() for p in out.iterdir()}
    distills, parses = counting(monkeypatch)
    second, calls = run(ISSUES, adr, out, cache)
    assert statuses(second) == ["unchanged"] * len(ISSUES)
    assert calls == 0
    assert distills.calls == 0
    assert parses.calls == 0
    assert {p: p.read_bytes() for p in out.iterdir()} == before


def test_a_changed_comment_is_redrafted_whatever_the_memo_holds(
    tmp_path: Path, adr: Outline, monkeypatch: pytest.MonkeyPatch
) -> None:
    issue = tmp_path / "issue.json"
    data = json.loads(ISSUES[0].read_text(encoding="utf-8"))
    issue.write_text(json.dumps(data), encoding="utf-8")
    out, cache = tmp_path / "out", tmp_path / "cache"
    assert statuses(run([issue], adr, out, cache)[0]) == ["written"]
    data["comments_list"][0]["body"] += "\n\nEdit: it also happens on Windows."
    issue.write_text(json.dumps(data), encoding="utf-8")
    distills, _ = counting(monkeypatch)
    again, calls = run([issue], adr, out, cache)
    assert statuses(again) == ["written"]
    assert calls == len(plan(adr))
    assert distills.calls == 1
    # The redraft taught the memo the new thread: the next run is unchanged without distilling.
    third, calls = run([issue], adr, out, cache)
    assert statuses(third) == ["unchanged"]
    assert calls == 0
    assert distills.calls == 1


def test_changed_notes_or_budget_are_new_fingerprints(tmp_path: Path, adr: Outline) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    run(ISSUES[:1], adr, out, cache)
    noted, calls = run(ISSUES[:1], adr, out, cache, notes=(Note("Keep the v1 API."),))
    assert statuses(noted) == ["written"]
    assert calls == len(plan(adr))
    raw = drafter.sources.fetch_source(str(ISSUES[0]), SourceSettings())
    keys = {
        fingerprint(raw, 60_000, ()),
        fingerprint(raw, 20_000, ()),
        fingerprint(raw, 60_000, (Note("Keep the v1 API."),)),
        fingerprint(IssueContext(title=raw.title, body=raw.body + "!"), 60_000, ()),
    }
    assert len(keys) == 4 and None not in keys


def test_a_wrong_or_damaged_entry_only_costs_the_full_path(
    tmp_path: Path, adr: Outline, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    run(ISSUES[:2], adr, out, cache)
    entries = sorted(p for p in (cache / "threads").rglob("*") if p.is_file())
    assert len(entries) == 2
    entries[0].write_text("1 0123456789abcdef\n", encoding="ascii")  # another context's hash
    entries[1].write_text("not an entry", encoding="ascii")
    distills, _ = counting(monkeypatch)
    again, calls = run(ISSUES[:2], adr, out, cache)
    assert statuses(again) == ["unchanged", "unchanged"]
    assert calls == 0
    assert distills.calls == 2
    # ... and the full path put the right hashes back.
    distills.calls = 0
    assert statuses(run(ISSUES[:2], adr, out, cache)[0]) == ["unchanged", "unchanged"]
    assert distills.calls == 0


def test_an_edited_draft_is_still_skipped_with_the_memo(tmp_path: Path, adr: Outline) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    first, _ = run(ISSUES[:1], adr, out, cache)
    path = Path(first.items[0].path or "")
    path.write_text(path.read_text(encoding="utf-8") + "\nA human was here.\n", encoding="utf-8")
    again, calls = run(ISSUES[:1], adr, out, cache)
    assert statuses(again) == ["skipped-edited"]
    assert calls == 0


def test_without_a_cache_folder_nothing_is_remembered(
    tmp_path: Path, adr: Outline, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    run(ISSUES[:1], adr, out, None)
    distills, _ = counting(monkeypatch)
    again, _ = run(ISSUES[:1], adr, out, None)
    assert statuses(again) == ["unchanged"]
    assert distills.calls == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# -- the memo itself ---------------------------------------------------------------------------------
def test_entries_round_trip_and_anything_else_is_a_miss(tmp_path: Path) -> None:
    memo = ThreadMemo(tmp_path)
    key = "ab" + "0" * 62
    assert memo.get(key) is None
    memo.put(key, "0123456789abcdef")
    assert memo.get(key) == "0123456789abcdef"
    entry = tmp_path / "threads" / "ab" / key
    assert entry.is_file()
    if os.name == "posix":
        assert entry.stat().st_mode & 0o777 == 0o600
        assert (tmp_path / "threads").stat().st_mode & 0o777 == 0o700
    for damaged in ("", "2 0123456789abcdef", "1 0123", "1 ../../etc/passwd", "\xff\xfe"):
        entry.write_bytes(damaged.encode("latin-1"))
        assert memo.get(key) is None, damaged


def test_a_folder_that_cannot_be_written_turns_storing_off(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    memo = ThreadMemo(blocker)
    memo.put("cd" + "1" * 62, "0123456789abcdef")  # no exception
    assert memo.writable is False
    assert memo.get("cd" + "1" * 62) is None


def test_the_fingerprint_covers_every_comment_field() -> None:
    base = IssueContext(title="T", body="B", comments=(Comment(id="1", author="a", body="x"),))
    variants = [
        IssueContext(title="T", body="B", comments=(Comment(id="1", author="a", body="y"),)),
        IssueContext(title="T", body="B", comments=(Comment(id="1", author="b", body="x"),)),
        IssueContext(
            title="T", body="B", comments=(Comment(id="1", author="a", body="x", association="MEMBER"),)
        ),
        IssueContext(title="T", body="B", comments=(Comment(id="1", author="a", body="x", edited=True),)),
    ]
    keys = {fingerprint(ctx, 60_000, ()) for ctx in [base, *variants]}
    assert len(keys) == 5


# -- validating in a worker process (drafter.batch.offload) ------------------------------------------
def test_drafts_finished_in_a_worker_are_the_same_files(
    tmp_path: Path, adr: Outline, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from drafter.batch import offload

    submitted: list[str] = []

    class Counting(ProcessPoolExecutor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            submitted.append(fn.__name__)
            return super().submit(fn, *args, **kwargs)

    spawn = multiprocessing.get_context("spawn")
    monkeypatch.setattr(offload, "validation_pool", lambda: Counting(1, mp_context=spawn))
    inline, calls = run(ISSUES, adr, tmp_path / "inline", None, offload=False)
    assert submitted == []
    pooled, pooled_calls = run(ISSUES, adr, tmp_path / "pooled", None, offload=True)
    # Each issue is distilled there (no memo here), and its finished draft validated there.
    assert sorted(submitted) == ["finished"] * len(ISSUES) + ["validate_text"] * len(ISSUES)
    assert statuses(inline) == statuses(pooled) == ["written"] * len(ISSUES)
    assert calls == pooled_calls
    assert [i.findings for i in inline.items] == [i.findings for i in pooled.items]
    files = {p.name: p.read_bytes() for p in (tmp_path / "inline").iterdir()}
    assert files == {p.name: p.read_bytes() for p in (tmp_path / "pooled").iterdir()}
    assert offload.wanted(offload.MIN_ITEMS - 1, None) is False
    assert offload.wanted(3, True) is True and offload.wanted(10_000, False) is False


def test_a_dead_worker_only_moves_the_work_back_in_line(
    tmp_path: Path, adr: Outline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import Executor
    from concurrent.futures.process import BrokenProcessPool

    from drafter.batch import offload

    class Dead(Executor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            raise BrokenProcessPool("the worker was killed")

    monkeypatch.setattr(offload, "validation_pool", Dead)
    inline, _ = run(ISSUES[:2], adr, tmp_path / "inline", None, offload=False)
    dead, _ = run(ISSUES[:2], adr, tmp_path / "dead", None, offload=True)
    assert statuses(dead) == statuses(inline) == ["written", "written"]
    files = {p.name: p.read_bytes() for p in (tmp_path / "inline").iterdir()}
    assert files == {p.name: p.read_bytes() for p in (tmp_path / "dead").iterdir()}
