"""Faults: a misbehaving model server through the real OpenAI SDK path, and crashes while writing.

The model server is ``tests/support/fault_server.py`` on 127.0.0.1. The module is marked
``block_network(allowed_hosts=[loopback])``: pytest-recording patches ``socket.connect`` for every
test here, whatever the command line, so the only address these tests can reach is 127.0.0.1.

Every fault is injected by the fake, never by a race with the clock: a timeout is the server's
``timeout`` fault, raised as ``httpx2.ReadTimeout`` in the client's transport; the batches draw
their faults per request (``keyed``), so thread timing does not move them; ``DRAFTER_TIMEOUT`` is
a generous hang guard; and nothing asserts how long a run took. The outcome of each test is the
same on a fast machine and on a loaded 2-core one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from drafter.batch.runner import BatchOptions, BatchRun, run_batch
from drafter.cli import app
from drafter.document.content import section_id
from drafter.document.provenance import read_draft
from drafter.drafting.chains import plan
from drafter.errors import WriteError
from drafter.model.choice import resolve_model
from drafter.model.openai import build_handle
from drafter.pipeline import DraftOptions, DraftResult, draft
from drafter.sources import SourceSettings, load_source
from drafter.template.outline import load_outline
from drafter.template.validate import validate_text
from tests.support.fault_server import CONTENT_FAULTS, STEADY_FAULTS, FaultServer, client_side_timeouts
from tests.support.issues import write_issues
from tests.support.paths import EXAMPLE, ROOT

LOOPBACK = [r"^127\.0\.0\.1$"]
pytestmark = pytest.mark.block_network(allowed_hosts=LOOPBACK)

FAKE_KEY = "sk-FAKEfaultserver0000000000000000"
# Only a hang guard: no fault here waits for it (timeouts are injected, see the module docstring).
HANG_GUARD_TIMEOUT = "120"


@pytest.fixture(autouse=True)
def _injected_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    client_side_timeouts(monkeypatch)


def _env(server: FaultServer, retries: int = 3) -> dict[str, str]:
    return {
        "OPENAI_BASE_URL": server.url,
        "OPENAI_API_KEY": FAKE_KEY,
        "DRAFTER_TIMEOUT": HANG_GUARD_TIMEOUT,
        "DRAFTER_MAX_RETRIES": str(retries),
    }


def _draft(server: FaultServer, retries: int = 3) -> DraftResult:
    choice = resolve_model("openai:fault", _env(server, retries))
    options = DraftOptions(model=choice, handle=build_handle(choice), author="Ada")
    ctx = load_source(str(EXAMPLE), SourceSettings())
    return draft(ctx, load_outline(None), options)


@pytest.mark.parametrize("fault", STEADY_FAULTS)
def test_one_fault_is_absorbed(fault: str) -> None:
    """Transport faults (a timeout too) are retried by the SDK; bad answers are re-asked once."""
    with FaultServer(script=[fault]) as server:
        result = _draft(server)
    assert server.counts[fault] == 1 and server.counts["ok"] >= 3
    assert result.report.valid(), result.report.findings
    assert result.fallbacks == []
    if fault in CONTENT_FAULTS:
        assert result.usage["calls"] == 4  # three chains plus one re-ask
    else:
        assert result.usage["calls"] == 3  # the SDK's retry is invisible to the chain


@pytest.mark.parametrize("fault", CONTENT_FAULTS)
def test_a_bad_answer_twice_becomes_todo_and_is_reported(fault: str) -> None:
    with FaultServer(script=[fault, fault]) as server:
        result = _draft(server)
    assert result.fallbacks, "the first chain's sections should be TODOs"
    assert result.report.valid()  # TODO markers are warnings; the structure holds
    assert "TODO(drafter)" in result.text
    assert validate_text(result.text, result.outline).findings == result.report.findings


@pytest.mark.parametrize("fault", ["429", "500", "503", "reset", "timeout"])
def test_retries_exhausted_is_one_line_exit_3_and_nothing_written(
    fault: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    # A 500 is also how llama-cpp-python rejects json_schema, so 5xx moves on to JSON mode and
    # function calling first: keep failing long enough for every method and its retry.
    with FaultServer(script=[fault] * 8) as server:
        for name, value in _env(server, retries=1).items():
            monkeypatch.setenv(name, value)
        result = CliRunner().invoke(
            app, ["from-issue", str(EXAMPLE), "--model", "openai:fault", "--out-dir", str(out)]
        )
    assert result.exit_code == 3, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "model server" in lines[0] and FAKE_KEY not in result.stderr
    if fault == "timeout":  # the SDK's own timeout path, reached without waiting for a clock
        assert "timed out" in lines[0]
    assert not out.exists() or list(out.iterdir()) == []


# -- the faulted batch ------------------------------------------------------------------------------
FIGURES: dict[str, Any] = {}
# Items a re-run has to finish: "failed" (a call's transport faults outlasted the retries, nothing
# written) and "partial" (a chain's answer was unusable twice: written with TODOs, recorded).
UNFINISHED = ("failed", "partial")


def _run(server: FaultServer, sources: list[str], out: Path, retries: int) -> BatchRun:
    choice = resolve_model("openai:fault", _env(server, retries))
    options = BatchOptions(
        out_dir=out,
        draft=DraftOptions(model=choice, handle=build_handle(choice), author="Ada"),
        concurrency=8,
    )
    return run_batch(sources, load_outline(None), options)


def _faulty(**kwargs: Any) -> FaultServer:
    """20% faults drawn per request (``keyed``): the same calls fail on every run, at any speed."""
    return FaultServer(rate=0.2, seed=7, faults=STEADY_FAULTS, keyed=True, **kwargs)


def _repair_calls(items: list[Any]) -> int:
    """Calls a clean re-run makes for ``partial`` items: one per chain owning a failed section."""
    specs = plan(load_outline(None))
    calls = 0
    for item in items:
        path = Path(str(item.path))
        provenance = read_draft(path.read_text(encoding="utf-8"), path).provenance
        assert provenance is not None and provenance.failed, item
        calls += sum(
            1 for spec in specs if any(section_id(s) in provenance.failed for s in spec.sections.values())
        )
    return calls


def test_fifty_issues_with_twenty_percent_faults_all_complete(tmp_path: Path) -> None:
    sources = write_issues(tmp_path / "issues", 50)
    with _faulty() as server:
        run = _run(server, sources, tmp_path / "out", retries=3)
    totals = run.totals()
    FIGURES["retried"] = {"requests": server.calls, "faults": dict(server.counts), **totals}
    print(f"\nfaulted batch (SDK retries 3): {server.calls} requests, {server.faulted} faulted, {totals}")
    # Retries absorb almost every fault; a call can still draw four faults in a row (failed), or a
    # chain two bad answers (partial), and then that item alone is reported, in one line.
    unfinished = [item for item in run.items if item.status in UNFINISHED]
    assert totals["written"] + len(unfinished) == 50, totals
    assert totals["failed"] <= 2 and len(unfinished) <= 5, totals
    assert all(item.reason and "\n" not in item.reason for item in unfinished)
    assert server.faulted >= 20 and server.counts["timeout"] >= 1, server.counts
    for path in (tmp_path / "out").glob("*.md"):
        assert validate_text(path.read_text(encoding="utf-8"), load_outline(None)).valid()
    if unfinished:  # and a re-run finishes the rest
        with FaultServer(rate=0.0) as clean:
            again = _run(clean, sources, tmp_path / "out", retries=3)
        assert again.totals()["written"] == len(unfinished)


def test_fifty_issues_without_retries_report_failures_and_rerun_finishes(tmp_path: Path) -> None:
    sources = write_issues(tmp_path / "issues", 50)
    out = tmp_path / "out"
    with _faulty() as server:
        first = _run(server, sources, out, retries=0)
    failed = [item for item in first.items if item.status == "failed"]
    partial = [item for item in first.items if item.status == "partial"]
    written = [item for item in first.items if item.status == "written"]
    assert failed and len(failed) + len(partial) + len(written) == 50, first.totals()
    assert all(item.reason and "\n" not in item.reason for item in failed + partial)
    # Every item that did not fail is on disk, whole and valid; no failed one left a file.
    on_disk = {p.name for p in out.glob("*.md")}
    assert {Path(str(item.path)).name for item in written + partial} == on_disk
    for item in written + partial:
        assert validate_text(Path(str(item.path)).read_text(encoding="utf-8"), load_outline(None)).valid()
    assert not list(out.glob(".*.tmp"))
    repairs = _repair_calls(partial)

    with FaultServer(rate=0.0) as clean:
        second = _run(clean, sources, out, retries=0)
    totals = second.totals()
    assert totals["unchanged"] == len(written) and totals["written"] == len(failed) + len(partial)
    assert clean.calls == 3 * len(failed) + repairs  # only the rest is drafted
    FIGURES["no_retries"] = {
        "first": first.totals(),
        "first_requests": server.calls,
        "rerun": totals,
        "rerun_requests": clean.calls,
    }
    print(
        f"\nno-retry batch: {server.calls} requests, {server.faulted} faulted, first {first.totals()}; "
        f"rerun {totals} with {clean.calls} requests"
    )


# -- files ------------------------------------------------------------------------------------------
WRITER_LOOP = """
import sys
from pathlib import Path
from drafter.document.writer import write_atomic
target = Path(sys.argv[1])
n = 0
while True:
    n += 1
    write_atomic(target, f"BEGIN {n}\\n" + ("x" * 79 + "\\n") * 40000 + f"END {n}\\n")
    print(n, flush=True)
"""


def test_sigkill_while_writing_never_leaves_a_partial_draft(tmp_path: Path) -> None:
    """kill -9 at random moments: the target is absent or one whole version; leftovers are
    hidden ``.NAME.*.tmp`` files that no command reads (and the next write does not mind them).

    The first run is killed whenever the delay ends (before, during or after its first write);
    every later one only once the child has said it finished a write, so that the kills land in
    the write loop however slowly the machine starts Python, and a whole version must exist.
    """
    import random

    rng = random.Random(10)
    target = tmp_path / "draft.md"
    script = tmp_path / "loop.py"
    script.write_text(WRITER_LOOP, encoding="utf-8")
    kills = 12
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for run in range(kills):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(target)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        assert proc.stdout is not None
        if run > 0:
            assert proc.stdout.readline().strip().isdigit(), "the writer died before its first write"
        time.sleep(rng.random() * 0.6)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        if target.exists():
            text = target.read_text(encoding="utf-8")
            first, last = text.split("\n", 1)[0], text.rstrip("\n").rsplit("\n", 1)[-1]
            assert first.startswith("BEGIN ") and last == "END " + first.split()[1]
            assert len(text) == len(first) + 1 + 80 * 40000 + len(last) + 1
        for other in tmp_path.iterdir():
            assert other.name in ("draft.md", "loop.py") or (
                other.name.startswith(".draft.md.") and other.name.endswith(".tmp")
            ), other.name
    assert target.exists(), "eleven runs finished a write, so one whole version is in place"


def test_redraft_keeps_the_backup_until_the_new_file_is_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drafter.revise import splice as redraft_module

    path = tmp_path / "d.md"
    original = "old text\n"
    path.write_text(original, encoding="utf-8")
    backup = tmp_path / "d.md.drafter-backup"

    def failing_write(target: Path, text: str) -> None:
        assert backup.read_text(encoding="utf-8") == original  # the backup exists before the write
        raise WriteError(f"cannot write {target}: No space left on device")

    monkeypatch.setattr(redraft_module, "write_atomic", failing_write)
    with pytest.raises(WriteError, match="previous draft is kept at .*d.md.drafter-backup"):
        redraft_module.write_with_backup(path, original, "new text\n", "{}\n")
    assert path.read_text(encoding="utf-8") == original and backup.exists()

    monkeypatch.undo()
    redraft_module.write_with_backup(path, original, "new text\n", "{}\n")
    assert path.read_text(encoding="utf-8") == "new text\n" and not backup.exists()


@pytest.mark.parametrize("address", [("203.0.113.7", 443), ("10.0.0.1", 80), ("127.0.0.2", 80)])
def test_these_tests_can_reach_nothing_but_loopback(address: tuple[str, int]) -> None:
    """The module's block_network mark is in force: any other address fails before a packet leaves."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        with pytest.raises(RuntimeError, match="Network is disabled"):
            sock.connect(address)
