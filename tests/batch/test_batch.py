"""``drafter batch``: many issues over a fake chat model, offline drafts and a recorded label query.

The fake chat model answers each chain from the answer shape in its prompt, so drafts of many
issues can run concurrently in any order; it counts its calls (a re-run must make none), tracks
how many calls overlap, and raises for an issue that says EXPLODE.

No outcome here depends on the machine's speed: where calls must overlap, or one fetch must end
before another, a gate (:class:`Crowd`, an Event) holds them until the state the test is about has
been reached. Their timeouts (``HANG_GUARD``) only end a test that would otherwise hang.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from drafter.batch.runner import (
    BatchItem,
    BatchOptions,
    BatchRun,
    dedupe,
    parse_shard,
    read_sources_file,
    run_batch,
    select_shard,
    shard_of,
    source_key,
)
from drafter.cli import app
from drafter.document.provenance import read_draft
from drafter.drafting.chains import plan
from drafter.errors import InputError
from drafter.model.choice import resolve_model
from drafter.pipeline import DraftOptions
from drafter.sources import SourceSettings
from drafter.sources.context import Note
from drafter.template.outline import Outline, load_outline
from tests.support.batching import batch
from tests.support.chat import HANG_GUARD, crowd_at, fake
from tests.support.issues import ISSUES, write_issues
from tests.support.paths import ROOT

SERVER = "http://127.0.0.1:8765"


@pytest.fixture
def vcr_cassette_dir() -> str:
    return str(ROOT / "cassettes" / "batch")


@pytest.fixture
def adr() -> Outline:
    return load_outline("adr")


def by_source(run: BatchRun) -> dict[str, BatchItem]:
    return {Path(item.source).name: item for item in run.items}


def exploding_issue(tmp_path: Path) -> Path:
    path = tmp_path / "explode.md"
    path.write_text("# Make the cache EXPLODE-proof\n\nThe cache falls over under load.\n", encoding="utf-8")
    return path


# -- library -------------------------------------------------------------------------------------------
def test_mixed_success_and_failure(tmp_path: Path, adr: Outline) -> None:
    chat, options = fake(adr)
    out = tmp_path / "out"
    sources = [*ISSUES[:2], tmp_path / "missing.json", exploding_issue(tmp_path)]
    run, seen = batch(sources, adr, out, options)
    items = by_source(run)
    assert [i.status for i in run.items] == ["written", "written", "failed", "failed"]
    assert "missing.json" in (items["missing.json"].reason or "")
    assert items["missing.json"].path is None
    assert "the fake model exploded" in (items["explode.md"].reason or "")
    assert not Path(items["explode.md"].path or "").exists()
    for item in run.items[:2]:
        assert item.path and Path(item.path).is_file()
        assert item.usage["calls"] == len(plan(adr))
        assert item.usage["prompt_tokens"] == 100 * len(plan(adr))
    assert run.exit_code() == 1
    assert sorted(done for _, done, _ in seen) == [1, 2, 3, 4]
    assert {total for _, _, total in seen} == {4}
    totals = run.totals()
    assert totals["written"] == 2 and totals["failed"] == 2 and totals["items"] == 4
    # The failed item's call counts too: it was made (and paid for) before the model exploded.
    assert items["explode.md"].usage["calls"] >= 1
    assert totals["calls"] == 2 * len(plan(adr)) + items["explode.md"].usage["calls"]
    assert chat.calls >= totals["calls"]


def test_rerun_makes_zero_calls_and_rewrites_nothing(tmp_path: Path, adr: Outline) -> None:
    chat, options = fake(adr)
    first, _ = batch(ISSUES, adr, tmp_path, options)
    assert [i.status for i in first.items] == ["written"] * len(ISSUES)
    assert chat.calls == len(ISSUES) * len(plan(adr))
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}

    again, options2 = fake(adr)
    second, _ = batch(ISSUES, adr, tmp_path, options2)
    assert [i.status for i in second.items] == ["unchanged"] * len(ISSUES)
    assert again.calls == 0
    assert second.totals()["calls"] == 0
    assert second.exit_code() == 0
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()} == before


def test_changed_inputs_are_redrafted(tmp_path: Path, adr: Outline) -> None:
    _, options = fake(adr)
    batch(ISSUES[:2], adr, tmp_path, options)
    chat, options2 = fake(adr)
    run, _ = batch(ISSUES[:2], adr, tmp_path, options2, notes=(Note("We must keep the v1 API."),))
    assert [i.status for i in run.items] == ["written", "written"]
    assert chat.calls == 2 * len(plan(adr))
    # another model is another input, too
    offline = DraftOptions(model=resolve_model("offline", {}), author="Ada")
    run, _ = batch(ISSUES[:1], adr, tmp_path, offline)
    assert run.items[0].status == "written"


def test_killed_run_resumes_with_the_rest(tmp_path: Path, adr: Outline) -> None:
    _, options = fake(adr)
    batch(ISSUES[:2], adr, tmp_path, options)  # as if the run died after two drafts
    chat, options2 = fake(adr)
    run, _ = batch(ISSUES, adr, tmp_path, options2)
    assert [i.status for i in run.items] == ["unchanged", "unchanged", "written", "written"]
    assert chat.calls == 2 * len(plan(adr))


def test_human_edited_draft_is_skipped_then_forced(tmp_path: Path, adr: Outline) -> None:
    _, options = fake(adr)
    first, _ = batch(ISSUES[:2], adr, tmp_path, options)
    edited = Path(first.items[0].path or "")
    text = edited.read_text(encoding="utf-8").replace("Drafted content", "Our own words", 1)
    edited.write_text(text, encoding="utf-8")

    chat, options2 = fake(adr)
    run, _ = batch(ISSUES[:2], adr, tmp_path, options2, notes=(Note("changed inputs"),))
    assert [i.status for i in run.items] == ["skipped-edited", "written"]
    assert "--force" in (run.items[0].reason or "")
    assert edited.read_text(encoding="utf-8") == text
    assert chat.calls == len(plan(adr))  # only the unedited one
    assert run.exit_code() == 0

    forced, _ = batch(ISSUES[:1], adr, tmp_path, fake(adr)[1], force=True)
    assert forced.items[0].status == "written"
    assert "Our own words" not in edited.read_text(encoding="utf-8")


def test_a_file_drafter_did_not_write_is_skipped(tmp_path: Path, adr: Outline) -> None:
    _, options = fake(adr)
    first, _ = batch(ISSUES[:1], adr, tmp_path, options)
    Path(first.items[0].path or "").write_text("# Hand-written design\n", encoding="utf-8")
    chat, options2 = fake(adr)
    run, _ = batch(ISSUES[:1], adr, tmp_path, options2)
    assert run.items[0].status == "skipped-edited"
    assert chat.calls == 0


def test_invalid_draft_is_written_with_findings(tmp_path: Path) -> None:
    outline = load_outline("technical-design")
    chat, options = fake(outline)
    chat.overrides = {"goals": {"items": [{"sources": ["issue"], "goal": "[Goal 1]", "check": "[Goal 2]"}]}}
    run, _ = batch(ISSUES[:1], outline, tmp_path, options)
    item = run.items[0]
    assert item.status == "invalid", item
    assert item.path and Path(item.path).is_file()
    assert any(f["rule"] == "placeholder-left" and f["severity"] == "error" for f in item.findings)
    assert "validation error" in (item.reason or "")
    assert run.exit_code() == 1


def test_batch_is_concurrent_and_bounded(
    tmp_path: Path, adr: Outline, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = write_issues(tmp_path / "issues", 8)
    # --concurrency 3: six issues in progress (two per call slot). Calls are held until all six
    # are stuck, in a call or waiting for a slot, so every call the batch would let overlap does.
    crowd = crowd_at(monkeypatch, parked=6)
    chat, options = fake(adr, crowd)
    run, _ = batch(sources, adr, tmp_path / "out", options, concurrency=3)
    assert {i.status for i in run.items} == {"written"}
    # --concurrency bounds model calls in flight, across issues, and the batch reaches it: one
    # at a time would never get six issues stuck; no bound (or a looser one) would hold 4 to 6.
    assert crowd.opened
    assert chat.peak == 3
    assert chat.calls == 8 * len(plan(adr))


def test_batch_keeps_two_issues_in_progress_per_call_slot(
    tmp_path: Path, adr: Outline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a draft waits on its own previous answer, another issue uses the free call slot."""
    sources = write_issues(tmp_path / "issues", 6)
    # The first issue's first call is held until a second issue waits for the one slot: with one
    # issue per slot that never happens, and the test fails (at the hang guard).
    crowd = crowd_at(monkeypatch, parked=2)
    chat, options = fake(adr, crowd)
    started: list[str] = []
    original = options.on_event

    def on_event(chain: str, state: str) -> None:
        if state == "running":
            started.append(chain)
        if original is not None:
            original(chain, state)

    options.on_event = on_event
    run, _ = batch(sources, adr, tmp_path / "out", options, concurrency=1)
    assert {i.status for i in run.items} == {"written"} and chat.peak == 1
    assert crowd.opened
    first = plan(adr)[0].name
    # Two issues start their first chain before the first issue's draft is done.
    assert started[:2] == [first, first]


def test_budget_stops_starting_new_drafts(tmp_path: Path, adr: Outline) -> None:
    chat, options = fake(adr)
    run, _ = batch(ISSUES, adr, tmp_path, options, concurrency=1, max_total_tokens=1)
    assert [i.status for i in run.items] == ["written"] + ["skipped-budget"] * (len(ISSUES) - 1)
    assert "--max-total-tokens 1" in (run.items[1].reason or "")
    assert chat.calls == len(plan(adr))
    assert run.exit_code() == 1
    # unchanged drafts cost nothing and are still reported as unchanged past the budget
    run, _ = batch(ISSUES, adr, tmp_path, fake(adr)[1], concurrency=1, max_total_tokens=1)
    assert [i.status for i in run.items] == ["unchanged", "written"] + ["skipped-budget"] * 2


def test_library_rejects_bad_options(tmp_path: Path, adr: Outline) -> None:
    _, options = fake(adr)
    with pytest.raises(InputError, match="--concurrency"):
        BatchOptions(out_dir=tmp_path, draft=options, concurrency=0)
    with pytest.raises(InputError, match="--max-total-tokens"):
        BatchOptions(out_dir=tmp_path, draft=options, max_total_tokens=0)
    afile = tmp_path / "file"
    afile.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="not a folder"):
        run_batch([], adr, BatchOptions(out_dir=afile, draft=options))


# -- sources, dedupe, shards ------------------------------------------------------------------------
def test_sources_file(tmp_path: Path) -> None:
    path = tmp_path / "issues.txt"
    path.write_text(
        "# design backlog\n\nacme/widgets#1\n  https://github.com/acme/widgets/issues/2  # the big one\n"
        "#acme/widgets#3\nnotes/local.md\n",
        encoding="utf-8",
    )
    assert read_sources_file(path) == [
        "acme/widgets#1",
        "https://github.com/acme/widgets/issues/2",
        "notes/local.md",
    ]
    with pytest.raises(InputError, match="cannot read --from-file"):
        read_sources_file(tmp_path / "nope.txt")


def test_duplicates_are_drafted_once(tmp_path: Path, adr: Outline, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    sources = [
        "acme/widgets#1",
        "https://github.com/ACME/Widgets/issues/1",
        "https://github.com/acme/widgets/pull/1#issuecomment-3",
        "acme/widgets#2",
        str(ISSUES[0]),
        os.path.relpath(ISSUES[0], ROOT),
    ]
    assert dedupe(sources) == ["acme/widgets#1", "acme/widgets#2", str(ISSUES[0])]
    assert source_key("https://example.com/not-a-tracker") == "raw:https://example.com/not-a-tracker"
    chat, options = fake(adr)
    run, _ = batch(dedupe([str(ISSUES[0]), str(ISSUES[0]), str(ISSUES[1])]), adr, tmp_path, options)
    assert len(run.items) == 2
    assert chat.calls == 2 * len(plan(adr))


def test_same_issue_through_two_files_fails_the_second(tmp_path: Path, adr: Outline) -> None:
    copy = tmp_path / "copy.json"
    copy.write_bytes(ISSUES[0].read_bytes())
    run, _ = batch([ISSUES[0], copy], adr, tmp_path / "out", fake(adr)[1], concurrency=1)
    assert [i.status for i in run.items] == ["written", "failed"]
    assert "same file as" in (run.items[1].reason or "")


@pytest.mark.parametrize("slow", ["first", "second"])
def test_the_source_listed_first_wins_whichever_fetch_finishes_first(
    tmp_path: Path, adr: Outline, monkeypatch: pytest.MonkeyPatch, slow: str
) -> None:
    from drafter.batch import runner as batch_module

    copy = tmp_path / "copy.json"
    copy.write_bytes(ISSUES[0].read_bytes())
    held, other = (str(ISSUES[0]), str(copy)) if slow == "first" else (str(copy), str(ISSUES[0]))
    other_settled = threading.Event()
    load = batch_module.Runner._load

    def gated_load(self: Any, spec: str) -> Any:
        if spec == held:
            # In a worker thread: this fetch ends only once the other source has been fetched,
            # drafted and settled.
            assert other_settled.wait(HANG_GUARD), f"{other} never settled"
        return load(self, spec)

    def settled(item: BatchItem) -> None:
        if item.source == other:
            other_settled.set()

    monkeypatch.setattr(batch_module.Runner, "_load", gated_load)
    chat, options = fake(adr)
    run, _ = batch([ISSUES[0], copy], adr, tmp_path / "out", options, then=settled, concurrency=2)
    assert other_settled.is_set()
    # When the copy was fetched first it drafted the file; the first source then finds that same
    # draft (same inputs) and leaves it: unchanged. Either way the copy is the one reported.
    first, second = run.items
    assert first.status == ("unchanged" if slow == "first" else "written"), first.reason
    assert second.status == "failed"
    assert f"{copy} drafts to the same file as {ISSUES[0]}" in (second.reason or "")
    assert len(list((tmp_path / "out").glob("*.md"))) == 1


def test_a_batch_gives_the_handle_back_unlimited(
    tmp_path: Path, adr: Outline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both issues are in progress at once (two per slot): the second one's first call must wait
    # for the slot the first one holds, so a batch that left the handle unlimited peaks at 2.
    crowd = crowd_at(monkeypatch, parked=2)
    chat, options = fake(adr, crowd)
    assert options.handle is not None and options.handle.max_in_flight is None
    batch(ISSUES[:2], adr, tmp_path / "out", options, concurrency=1)
    assert crowd.opened
    assert chat.peak == 1 and options.handle.max_in_flight is None


def test_shards_cover_everything_exactly_once() -> None:
    sources = [f"acme/widgets#{n}" for n in range(1, 61)] + [str(p) for p in ISSUES]
    for count in (1, 2, 3, 7):
        shards = [select_shard(sources, (k, count)) for k in range(1, count + 1)]
        union = [s for shard in shards for s in shard]
        assert sorted(union) == sorted(sources)  # every source, none twice
        assert len(set(union)) == len(union)
        if count > 1:
            assert all(shards), "a shard of 64 sources came out empty"
    # stable: the same key lands on the same shard, whatever the spelling and order
    assert shard_of(source_key("acme/widgets#5"), 4) == shard_of(
        source_key("https://github.com/acme/widgets/issues/5"), 4
    )
    assert select_shard(list(reversed(sources)), (2, 3)) == list(reversed(select_shard(sources, (2, 3))))
    assert shard_of("github:github.com/acme/widgets#1", 4) == 2  # fixed by sha256, not by PYTHONHASHSEED


@pytest.mark.parametrize("text", ["3/2", "0/2", "a/b", "1", "1/0", "-1/2", ""])
def test_bad_shards(text: str) -> None:
    with pytest.raises(InputError, match="--shard"):
        parse_shard(text)


def test_good_shard() -> None:
    assert parse_shard(" 2/5 ") == (2, 5)


# -- CLI -------------------------------------------------------------------------------------------
def cli(*args: Any) -> Any:
    return CliRunner().invoke(app, ["batch", *(str(a) for a in args)])


def offline(out_dir: Path, *args: Any) -> Any:
    return cli("--out-dir", out_dir, "--model", "offline", "--author", "Ada", "--template", "adr", *args)


def test_cli_offline_batch_exit_0_then_unchanged(tmp_path: Path) -> None:
    out = tmp_path / "design"
    report = tmp_path / "r" / "report.json"
    result = offline(out, *ISSUES, "--report", report, "--junit", tmp_path / "junit.xml")
    assert result.exit_code == 0, result.stderr
    paths = result.stdout.split()
    assert len(paths) == len(ISSUES) and all(Path(p).is_file() for p in paths)
    lines = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert len(lines) == len(ISSUES)
    assert all(re.fullmatch(r"\[\d/4\] written \S+\.md \(0 calls, \d+\.\d s\)", line) for line in lines), (
        lines
    )
    assert f"drafter: batch of {len(ISSUES)} done" in result.stderr
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["totals"]["written"] == len(ISSUES)

    again = offline(out, *ISSUES, "--report", report)
    assert again.exit_code == 0, again.stderr
    assert again.stdout.strip() == ""
    assert json.loads(report.read_text(encoding="utf-8"))["totals"]["unchanged"] == len(ISSUES)


def test_cli_from_file_and_failure_exit_1(tmp_path: Path) -> None:
    listing = tmp_path / "issues.txt"
    listing.write_text(f"# backlog\n{ISSUES[0]}\n{tmp_path / 'missing.md'}\n{ISSUES[0]}\n", encoding="utf-8")
    result = offline(tmp_path / "out", "--from-file", listing, "--summary", tmp_path / "summary.md")
    assert result.exit_code == 1, result.stderr
    assert "[2/2] failed" in result.stderr or "[1/2] failed" in result.stderr
    assert "1 written, 1 failed" in result.stderr
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "| failed |" in summary and "missing.md" in summary


def test_cli_with_fake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from drafter.model import openai as providers

    outline = load_outline("adr")
    chat, options = fake(outline)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr(providers, "build_handle", lambda choice: options.handle)
    args = ["--out-dir", tmp_path, "--template", "adr", "--model", "openai:fake", "-j", "2"]
    result = cli(*ISSUES[:2], exploding_issue(tmp_path), *args)
    assert result.exit_code == 1, result.stderr
    assert "the fake model exploded" in result.stderr
    # The exploding issue's one call counts too: it was made before the model failed.
    assert f"{2 * len(plan(outline)) + 1} model calls" in result.stderr
    calls = chat.calls
    again = cli(*ISSUES[:2], *args)
    assert again.exit_code == 0, again.stderr
    assert chat.calls == calls
    assert "0 model calls" in again.stderr


def test_cli_github_step_summary_and_annotations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    step = tmp_path / "step.md"
    step.write_text("## earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    result = offline(tmp_path / "out", ISSUES[0], tmp_path / "missing.md")
    assert result.exit_code == 1
    text = step.read_text(encoding="utf-8")
    assert text.startswith("## earlier step\n")
    assert "## drafter batch: some drafts need attention" in text
    # Annotations go to stderr: stdout stays the list of written drafts (`git add $(...)`).
    assert all(Path(line).suffix == ".md" for line in result.stdout.splitlines())
    assert "::" not in result.stdout
    annotations = [line for line in result.stderr.splitlines() if line.startswith("::")]
    assert annotations[0].startswith("::error title=drafter batch%3A failed::")
    assert "missing.md" in annotations[0]
    assert any(line.startswith("::warning file=") for line in annotations)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shard", "3/2"], "--shard 3/2 is out of range"),
        (["--shard", "0/2"], "--shard 0/2 is out of range"),
        (["--shard", "a/b"], "--shard must be K/N"),
        (["--concurrency", "0"], "--concurrency must be 1 or more"),
        (["--max-total-tokens", "0"], "--max-total-tokens must be 1 or more"),
        (["--repo", "acme/widgets"], "--repo and --label go together"),
        (["--label", "design"], "--repo and --label go together"),
        (["--repo", "not a repo", "--label", "design"], "--repo must be OWNER/REPO"),
        (["--from-file", "/nonexistent/list.txt"], "cannot read --from-file"),
        (["--template", "no-such-template"], "template"),
    ],
)
def test_cli_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = cli(ISSUES[0], "--out-dir", tmp_path, "--model", "offline", *args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert not any(tmp_path.glob("*.md"))


def test_cli_no_sources_exit_2(tmp_path: Path) -> None:
    result = cli("--out-dir", tmp_path)
    assert result.exit_code == 2
    assert "no sources" in result.stderr


def test_cli_stdin_source_exit_2(tmp_path: Path) -> None:
    result = cli("-", "--out-dir", tmp_path, "--model", "offline")
    assert result.exit_code == 2
    assert "standard input" in result.stderr


def test_cli_shards_split_the_work(tmp_path: Path) -> None:
    drafted: list[str] = []
    for k in (1, 2):
        result = offline(tmp_path / f"s{k}", *ISSUES, "--shard", f"{k}/2")
        assert result.exit_code == 0, result.stderr
        drafted.extend(Path(p).name for p in result.stdout.split())
    assert len(drafted) == len(ISSUES) == len(set(drafted))


# -- GitHub label query (recorded against tests/sources/fixture_server.py) -------------------------
def github_settings() -> SourceSettings:
    return SourceSettings(github_api_url=f"{SERVER}/github", resolve=lambda host: ["93.184.216.34"])


@pytest.mark.vcr
def test_label_query_lists_issues_without_prs() -> None:
    from drafter.sources.github_query import list_issues

    urls = list_issues("acme/backlog", "design", github_settings(), state="all")
    assert urls == [f"https://github.com/acme/backlog/issues/{n}" for n in (1, 2, 5, 6, 7)]
    with_prs = list_issues("acme/backlog", "design", github_settings(), state="all", include_prs=True)
    assert "https://github.com/acme/backlog/pull/3" in with_prs
    assert len(with_prs) == 6


@pytest.mark.vcr
def test_cli_repo_label_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_API_URL", f"{SERVER}/github")
    report = tmp_path / "report.json"
    result = offline(tmp_path / "out", "--repo", "acme/backlog", "--label", "design", "--report", report)
    assert result.exit_code == 0, result.stderr
    data = json.loads(report.read_text(encoding="utf-8"))
    sources = [item["source"] for item in data["items"]]
    assert sources == [f"https://github.com/acme/backlog/issues/{n}" for n in (1, 5, 6, 7)]  # open only
    assert {item["status"] for item in data["items"]} == {"written"}
    names = sorted(Path(item["path"]).name for item in data["items"])
    assert all(name.startswith("github-acme-backlog-") for name in names)
    text = Path(data["items"][2]["path"]).read_text(encoding="utf-8")
    provenance = read_draft(text, Path(data["items"][2]["path"])).provenance
    assert provenance is not None and provenance.source == "https://github.com/acme/backlog/issues/6"


# -- shared tracker transport --------------------------------------------------------------------------
def test_shared_transport_outlives_clients_and_limits_each_host() -> None:
    import httpx2

    from drafter.sources.pool import SharedTransport

    fetches = 6
    lock = threading.Lock()
    state = {"active": 0, "peak": 0, "closed": 0, "waiting": 0}
    everyone_stuck = threading.Event()
    errors: list[BaseException] = []

    def check() -> None:  # with ``lock`` held
        # Every fetch is either in the handler or was refused a free host slot. None of them
        # finishes before this, so no slot comes free: all the limit lets through is in.
        if state["active"] + state["waiting"] >= fetches:
            everyone_stuck.set()

    class CountedGate:
        """The pool's per-host semaphore, counting the requests that find it has no slot left."""

        def __init__(self, gate: threading.BoundedSemaphore) -> None:
            self.gate = gate

        def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
            if self.gate.acquire(blocking=False):
                return True
            with lock:
                state["waiting"] += 1
                check()
            return self.gate.acquire(blocking, timeout)

        def release(self) -> None:
            self.gate.release()

    def handler(request: httpx2.Request) -> httpx2.Response:
        with lock:
            state["active"] += 1
            state["peak"] = max(state["peak"], state["active"])
            check()
        assert everyone_stuck.wait(HANG_GUARD), "the fetches never all got stuck at once"
        with lock:
            state["active"] -= 1
        return httpx2.Response(200, json={"host": request.url.host})

    class Inner(httpx2.MockTransport):
        def close(self) -> None:
            state["closed"] += 1

    class Counted(SharedTransport):
        def _gate(self, host: str) -> Any:
            return CountedGate(super()._gate(host))

    shared = Counted(per_host=2, inner=Inner(handler))

    def fetch() -> None:
        try:
            with httpx2.Client(transport=shared) as client:
                with client.stream("GET", "http://tracker.example/x") as response:
                    assert response.read() == b'{"host":"tracker.example"}'
        except BaseException as exc:
            errors.append(exc)
            everyone_stuck.set()  # let the others finish; the test fails on ``errors``

    threads = [threading.Thread(target=fetch) for _ in range(fetches)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # Two requests got in and four found no slot, before any finished: the per-host limit held
    # and was reached. Without it (or with a looser one) up to six would be in at once.
    assert state["waiting"] == fetches - 2
    assert state["peak"] == 2  # the per-host limit held
    assert state["closed"] == 0  # six clients closed, the pool stayed open
    shared.shutdown()
    assert state["closed"] == 1


class StandInProxy:
    """An HTTP proxy on 127.0.0.1 that answers GitHub issue requests itself and records the URLs
    it was asked for (a client sends a proxy the whole URL)."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        issue = json.loads(ISSUES[0].read_text(encoding="utf-8"))
        seen: list[str] = []
        self.seen = seen

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.path)
                body = json.dumps([] if self.path.split("?")[0].endswith("/comments") else issue).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _batch_behind_proxy(
    tmp_path: Path, adr: Outline, monkeypatch: pytest.MonkeyPatch, **env: str
) -> BatchRun:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = SourceSettings(
        github_api_url="http://tracker.invalid/api/v3",
        resolve=lambda host: ["93.184.216.34"],
        retries=0,
    )
    run, _ = batch(["acme/widgets#7"], adr, tmp_path / "out", fake(adr)[1], settings=settings)
    return run


@pytest.mark.block_network(allowed_hosts=[r"^127\.0\.0\.1$"])  # the stand-in proxy only
@pytest.mark.parametrize("scheme", ["http://", ""])  # a bare host:port means http:// as for httpx2
def test_a_batch_fetches_through_the_proxy_from_the_environment(
    tmp_path: Path, adr: Outline, monkeypatch: pytest.MonkeyPatch, scheme: str
) -> None:
    """A client handed a transport ignores HTTP_PROXY; the batch's shared pool must not."""
    proxy = StandInProxy()
    try:
        run = _batch_behind_proxy(tmp_path, adr, monkeypatch, HTTP_PROXY=scheme + proxy.address)
    finally:
        proxy.close()
    assert [i.status for i in run.items] == ["written"], run.items[0].reason
    assert proxy.seen
    assert all(
        path.startswith("http://tracker.invalid/api/v3/repos/acme/widgets/issues/7") for path in proxy.seen
    )


@pytest.mark.block_network(allowed_hosts=[r"^127\.0\.0\.1$"])
@pytest.mark.parametrize("no_proxy", ["tracker.invalid", ".invalid", "*"])
def test_no_proxy_hosts_bypass_the_proxy_in_a_batch(
    tmp_path: Path, adr: Outline, monkeypatch: pytest.MonkeyPatch, no_proxy: str
) -> None:
    proxy = StandInProxy()
    try:
        run = _batch_behind_proxy(
            tmp_path,
            adr,
            monkeypatch,
            HTTP_PROXY=f"http://{proxy.address}",
            NO_PROXY=f"example.org,{no_proxy}",
        )
    finally:
        proxy.close()
    # Straight to tracker.invalid, which never resolves (.invalid is reserved): the proxy saw nothing.
    assert proxy.seen == []
    assert [i.status for i in run.items] == ["failed"]
    assert "could not reach http://tracker.invalid" in (run.items[0].reason or "")
