"""The honest wait (#21): each running chain with tokens and seconds; -v with tokens per second;
a local model server drafts a batch one call at a time."""

from __future__ import annotations

from typing import Any

import pytest

from drafter.cli._app import LiveStatus
from drafter.cli._common import _verbose_call


class Status:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def update(self, text: str) -> None:
        self.lines.append(text)


def test_the_status_line_names_each_running_chain_with_tokens_and_seconds() -> None:
    live = LiveStatus("drafting x")
    live.status = Status()  # a terminal's spinner, recorded
    live.update("problem", "running")
    live.progress("problem", 120, 4.2)
    live.update("problem", "done")
    live.update("solution", "running")
    live.update("risks", "running")
    live.progress("solution", 40, 1.0)
    lines = live.status.lines
    assert lines[1] == "drafting x: problem running (120 tokens, 4 s)"
    assert lines[-1] == "drafting x: problem done, solution running (40 tokens, 1 s), risks running"


def test_attach_sends_the_handles_progress_to_the_status_line() -> None:
    class Handle:
        on_progress: Any = None

    seen: list[Any] = []
    live = LiveStatus("drafting x")
    live.status = Status()
    handle = Handle()
    live.attach(seen.append)(handle)
    assert seen == [handle] and handle.on_progress == live.progress
    quiet = LiveStatus("drafting x")  # not a terminal: nothing to show, nothing attached
    other = Handle()
    quiet.attach(None)(other)
    assert other.on_progress is None


def test_verbose_shows_tokens_per_second(capsys: pytest.CaptureFixture[str]) -> None:
    _verbose_call(
        {"chain": "solution", "latency_s": 20.0, "usage": {"prompt_tokens": 900, "completion_tokens": 600}}
    )
    _verbose_call({"chain": "risks", "latency_s": 0.0, "usage": {}})
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "drafter: chain solution: 20.0 s, 900+600 tokens, 30.0 tokens/s"
    assert err[1] == "drafter: chain risks: 0.0 s, 0+0 tokens"


def test_a_local_server_drafts_a_batch_one_call_at_a_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    import drafter.batch.runner as runner
    from tests.support.cli import run
    from tests.support.paths import EXAMPLE

    seen: list[int] = []

    def capture(sources: Any, outline: Any, options: Any) -> Any:
        seen.append(options.concurrency)
        raise SystemExit(0)

    monkeypatch.setattr(runner, "run_batch", capture)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    run("batch", EXAMPLE, "--model", "openai:local", "--out-dir", tmp_path)
    run("batch", EXAMPLE, "--model", "openai:local", "--out-dir", tmp_path, "-j", "3")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://gateway.example.com/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    run("batch", EXAMPLE, "--model", "openai:remote", "--out-dir", tmp_path)
    assert seen == [1, 3, 4]
