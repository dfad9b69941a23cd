"""--deadline: chains still running when it passes stop, their requests are cancelled, and the
draft is written as partial (#21). The deadline expires at a moment the test chooses (the timer
is replaced), never by racing the clock."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage

import drafter.drafting.chains as chains
from drafter.drafting.chains import plan
from drafter.model.choice import resolve_model
from drafter.model.handle import ModelHandle, Reply
from drafter.pipeline import DraftOptions, draft
from drafter.template.outline import load_outline
from tests.support.chat import RecordingFake, chain_answer, reply
from tests.support.cli import run
from tests.support.issues import make_ctx
from tests.support.paths import EXAMPLE


class Hanging(ModelHandle):
    """Answers the first ``answers`` calls; the next one never answers until cancelled."""

    def __init__(self, replies: list[AIMessage]) -> None:
        super().__init__(RecordingFake(messages=iter(replies)), "openai:fake")
        self.answers = len(replies)
        self.calls = 0
        self.hanging = asyncio.Event()
        self.cancelled = False

    async def complete(self, messages: Any, schema: Any, max_tokens: int | None = None) -> Reply:
        self.calls += 1
        if self.calls <= self.answers:
            return await super().complete(messages, schema, max_tokens)
        self.hanging.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True  # the request is closed: a local server stops generating
            raise
        raise AssertionError("unreachable")


def expire_when(handle: Hanging, monkeypatch: pytest.MonkeyPatch) -> None:
    async def timer(seconds: float) -> None:
        await handle.hanging.wait()

    monkeypatch.setattr(chains, "deadline_timer", timer)


def test_the_deadline_stops_the_running_chain_and_the_draft_is_partial(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outline = load_outline("technical-design")
    specs = plan(outline)
    handle = Hanging([reply(chain_answer(specs[0])), reply(chain_answer(specs[1]))])
    expire_when(handle, monkeypatch)
    options = DraftOptions(
        model=resolve_model("openai:fake", {"OPENAI_API_KEY": "sk-test"}),
        handle=handle,
        author="Ada",
        deadline=60,
    )
    result = draft(make_ctx(), outline, options)
    assert handle.cancelled
    assert result.usage["calls"] == 3  # the stopped call counts: it was sent
    risks = {f"risks/{key}" for key in specs[2].sections} | set(result.failed)
    assert result.failed and all(
        sid.startswith(("4-", "risk", "implementation")) or sid in risks for sid in result.failed
    )
    assert len(result.failed) == len(specs[2].sections)
    assert "--deadline of 60 s passed" in result.text
    # what answered in time is kept
    for key in specs[0].sections:
        assert f"Drafted content for {key}." in result.text
    assert result.provenance is not None and result.provenance.failed == result.failed


def test_no_deadline_and_a_deadline_not_reached_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    outline = load_outline("adr")
    specs = plan(outline)
    answers = [reply(chain_answer(s)) for s in specs]
    handle = Hanging(answers)

    async def never(seconds: float) -> None:
        await asyncio.Event().wait()

    monkeypatch.setattr(chains, "deadline_timer", never)
    options = DraftOptions(
        model=resolve_model("openai:fake", {"OPENAI_API_KEY": "sk-test"}),
        handle=handle,
        author="Ada",
        deadline=60,
    )
    result = draft(make_ctx(), outline, options)
    assert result.failed == [] and handle.calls == len(specs)


def test_cli_deadline_writes_a_partial_draft_with_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drafter.model import openai as providers

    outline = load_outline("technical-design")
    specs = plan(outline)
    handle = Hanging([reply(chain_answer(specs[0])), reply(chain_answer(specs[1]))])
    expire_when(handle, monkeypatch)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr(providers, "build_handle", lambda choice: handle)
    out = tmp_path / "d.md"
    result = run(
        "from-issue", EXAMPLE, "--model", "gpt-4o-mini", "--out", out, "--deadline", "30", "-f", "json"
    )
    assert result.exit_code == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["partial"] is True and len(data["failed_sections"]) == len(specs[2].sections)
    assert out.is_file() and "Traceback" not in result.output
    assert (
        json.loads(Path(f"{out}.drafter.json").read_text(encoding="utf-8"))["failed"]
        == data["failed_sections"]
    )


def test_deadline_is_a_setting_with_env_and_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from drafter.config import resolve_settings
    from drafter.errors import ConfigError

    assert resolve_settings({}, {"DRAFTER_DEADLINE": "90"}, tmp_path).deadline == 90.0
    assert resolve_settings({}, {"DRAFTER_DEADLINE": "0"}, tmp_path).deadline is None
    assert resolve_settings({"deadline": 12.5}, {}, tmp_path).deadline == 12.5
    with pytest.raises(ConfigError):
        resolve_settings({}, {"DRAFTER_DEADLINE": "soon"}, tmp_path)
    result = run("from-issue", EXAMPLE, "--model", "offline", "--deadline", "nan", "--out-dir", tmp_path)
    assert result.exit_code == 2
