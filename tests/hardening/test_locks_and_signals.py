"""Two runs on one folder draft each issue once; Ctrl-C or SIGTERM still writes the batch report.

The lock is held by this test process (flock conflicts between two open files even in one
process), and the signal is sent by the fake model itself at a chosen call: nothing here races
the clock. The waits are only hang guards.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from drafter.cli import app
from drafter.document import locks
from drafter.document.provenance import state_path
from drafter.drafting.chains import plan
from drafter.model.handle import ModelHandle
from drafter.sources import SourceSettings
from drafter.template.outline import load_outline
from tests.support.batching import batch
from tests.support.chat import SchemaChat, SignallingChat, fake
from tests.support.issues import ISSUES
from tests.support.paths import EXAMPLE, ROOT

HANG_GUARD = 120.0


def test_a_second_run_waits_for_the_draft_the_first_is_writing_then_makes_no_call(tmp_path: Path) -> None:
    outline = load_outline("adr")
    _, options = fake(outline)
    first, _ = batch(ISSUES[:1], outline, tmp_path, options)
    path = Path(first.items[0].path or "")
    saved = tmp_path / "saved"
    saved.mkdir()
    shutil.copy2(path, saved / path.name)
    shutil.copy2(state_path(path), saved / state_path(path).name)
    path.unlink()
    state_path(path).unlink()

    held = locks._try_lock(path)  # "the other run" is drafting this file
    assert held is not None and held >= 0
    waiting = threading.Event()
    messages: list[str] = []

    def notify(message: str) -> None:
        messages.append(message)
        waiting.set()

    chat, options = fake(outline)
    result: dict[str, Any] = {}

    def second_run() -> None:
        result["run"], _ = batch(
            ISSUES[:1], outline, tmp_path, options, settings=SourceSettings(notify=notify)
        )

    worker = threading.Thread(target=second_run)
    worker.start()
    try:
        assert waiting.wait(HANG_GUARD), "the second run never waited for the lock"
        assert not path.exists() and chat.calls == 0  # it waits before drafting anything
        # The other run finishes its draft, then lets go.
        shutil.copy2(saved / path.name, path)
        shutil.copy2(saved / state_path(path).name, state_path(path))
    finally:
        locks._unlock(held)
    worker.join(HANG_GUARD)
    assert not worker.is_alive()
    item = result["run"].items[0]
    assert item.status == "unchanged" and chat.calls == 0
    assert messages and "waiting for drafter (pid " in messages[0] and str(os.getpid()) in messages[0]


def test_the_lock_is_free_once_the_run_is_done(tmp_path: Path) -> None:
    outline = load_outline("adr")
    _, options = fake(outline)
    run, _ = batch(ISSUES[:2], outline, tmp_path, options)
    for item in run.items:
        fd = locks._try_lock(Path(item.path or ""))
        assert fd is not None
        locks._unlock(fd)
    assert not any(p.name.endswith(".lock") for p in tmp_path.rglob("*"))  # nothing in the drafts' folder


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_a_batch_writes_the_report_and_exits_128_plus_the_signal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sig: int, code: int
) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can only be set in the main thread")
    from drafter.model import openai as providers

    outline = load_outline("adr")
    chat = SignallingChat(specs=plan(outline), at=len(plan(outline)) + 1, sig=sig)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr(providers, "build_handle", lambda choice: ModelHandle(chat, "openai:fake"))
    report = tmp_path / "report.json"
    out = tmp_path / "out"
    sources = [str(p) for p in ISSUES[:3]]
    result = CliRunner().invoke(
        app,
        [
            "batch",
            *sources,
            "--out-dir",
            str(out),
            "--model",
            "openai:fake",
            "--template",
            "adr",
            "--concurrency",
            "1",
            "--report",
            str(report),
        ],
    )
    assert result.exit_code == code, result.stderr
    name = signal.Signals(sig).name
    assert f"{name} stopped the batch" in result.stderr and "Traceback" not in result.stderr
    data = json.loads(report.read_text(encoding="utf-8"))
    statuses = [item["status"] for item in data["items"]]
    assert len(statuses) == 3 and "not-run" in statuses and set(statuses) <= {"written", "not-run"}
    for item in data["items"]:
        if item["status"] == "written":
            assert Path(item["path"]).is_file()
        else:
            assert name in item["reason"]
    assert data["totals"]["not-run"] == statuses.count("not-run")
    # Nothing half-written is left behind, and a re-run finishes the rest.
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    monkeypatch.setattr(
        providers, "build_handle", lambda choice: ModelHandle(SchemaChat(specs=plan(outline)), "f")
    )
    again = CliRunner().invoke(
        app, ["batch", *sources, "--out-dir", str(out), "--model", "openai:fake", "--template", "adr"]
    )
    assert again.exit_code == 0, again.stderr


def test_from_issue_waits_for_the_run_drafting_the_same_file(tmp_path: Path) -> None:
    """A second process: it says it waits, and writes only once the lock is free."""
    import subprocess
    import sys

    target = tmp_path / "draft.md"
    held = locks._try_lock(target)
    assert held is not None and held >= 0
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("OPENAI_API_KEY", None)
    command = [
        sys.executable,
        "-m",
        "drafter",
        "from-issue",
        str(EXAMPLE),
        "-m",
        "offline",
        "--out",
        str(target),
    ]
    child = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stderr is not None
        first = child.stderr.readline()  # blocks until the child says something: no clock involved
        assert "waiting for another drafter run" in first and str(os.getpid()) in first
        assert not target.exists()
    finally:
        locks._unlock(held)
    out, err = child.communicate(timeout=HANG_GUARD)
    assert child.returncode == 0, err
    assert target.is_file() and out.strip() == str(target)


def test_a_lock_folder_someone_else_could_write_is_never_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a shared /tmp, a planted link must not make drafter truncate another file."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    draft = tmp_path / "d.md"
    folder = locks.lock_path(draft).parent
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)  # a folder others may write to (the umask would have narrowed it)
    locks.lock_path(draft).symlink_to(victim)
    assert locks._try_lock(draft) == -1  # not ours to use: drafted unlocked
    folder.chmod(0o700)  # ours now, but the link is still there: never followed
    assert locks._try_lock(draft) == -1
    assert victim.read_text(encoding="utf-8") == "precious\n"


STUCK_DRIVER = """
import os, sys, threading
sys.path.insert(0, sys.argv[1])
from tests.support.chat import SignallingChat
from tests.support.issues import ISSUES
from drafter.model import openai as providers
from drafter.batch.runner import Runner
from drafter.drafting.chains import plan
from drafter.model.handle import ModelHandle
from drafter.cli import app
from drafter.template.outline import load_outline

stuck, report = sys.argv[2], sys.argv[3]
chat = SignallingChat(specs=plan(load_outline("adr")), at=1)
providers.build_handle = lambda choice: ModelHandle(chat, "openai:fake")
never = threading.Event()
real_load = Runner._load

def load(self, spec):
    if spec == stuck:
        never.wait()  # a tracker that never answers
    return real_load(self, spec)

Runner._load = load
try:
    app(["batch", str(ISSUES[0]), stuck, "--out-dir", os.path.dirname(report) + "/out", "-m", "openai:fake",
         "--template", "adr", "--report", report])
except SystemExit as done:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(done.code if isinstance(done.code, int) else 1)  # the stuck thread never ends
"""


def test_a_signal_does_not_wait_for_a_fetch_stuck_on_a_slow_tracker(tmp_path: Path) -> None:
    """The report is written as soon as the batch stops, not when a blocked fetch gives up.

    In a child process: its stuck fetch thread never ends, so the child leaves with os._exit
    once the command has returned, which it could not do if the batch waited for that thread.
    """
    import subprocess
    import sys

    stuck = tmp_path / "stuck.md"
    stuck.write_text("# A tracker that never answers\n\nBody.\n", encoding="utf-8")
    report = tmp_path / "report.json"
    driver = tmp_path / "driver.py"
    driver.write_text(STUCK_DRIVER, encoding="utf-8")
    env = {**os.environ, "OPENAI_API_KEY": "sk-test", "NO_COLOR": "1"}
    child = subprocess.run(
        [sys.executable, str(driver), str(ROOT), str(stuck), str(report)],
        capture_output=True,
        text=True,
        env=env,
        timeout=HANG_GUARD,
        check=False,
    )
    assert child.returncode == 143, child.stderr
    items = json.loads(report.read_text(encoding="utf-8"))["items"]
    assert [item["status"] for item in items] == ["not-run", "not-run"]
    assert items[0]["usage"]["calls"] == 1  # the call it made before the signal still counts
    assert "SIGTERM stopped the batch" in child.stderr and "Traceback" not in child.stderr
