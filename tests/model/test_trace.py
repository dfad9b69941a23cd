"""``--trace``: one JSON line per model call, with every secret redacted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drafter.cli import app
from drafter.model.trace import REDACTED, Tracer, redact
from tests.support.chat import fake_handle
from tests.support.paths import EXAMPLE

API_KEY = "sk-proj-THISISAFAKEKEYFORTESTS0123456789"
PLAIN_SECRET = "plainsecretvalue42"


@pytest.mark.parametrize(
    "secret",
    [
        "sk-proj-abc123DEF456ghi789",
        "ghp_0123456789abcdefghijABCDEFGHIJ012345",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
        "glpat-abcdefghij0123456789",
    ],
)
def test_known_token_shapes_are_redacted(secret: str) -> None:
    out = redact(f"token here: {secret}.")
    assert secret not in out and REDACTED in out


def test_headers_assignments_and_exact_values_are_redacted() -> None:
    text = f"Authorization: Bearer abc.def-ghi_123456 api_key={PLAIN_SECRET} and {PLAIN_SECRET}"
    out = redact(text, [PLAIN_SECRET])
    assert "abc.def-ghi_123456" not in out and PLAIN_SECRET not in out
    assert "Bearer [REDACTED]" in out
    assert (
        redact("an ordinary sentence about tokens and keys") == "an ordinary sentence about tokens and keys"
    )


def test_tracer_appends_one_redacted_line_per_event(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "trace.jsonl"
    tracer = Tracer(path, [PLAIN_SECRET])
    tracer({"chain": "problem", "messages": [{"role": "human", "content": f"key {PLAIN_SECRET}"}]})
    tracer({"chain": "solution", "response": API_KEY})
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["chain"] == "problem" and "time" in first
    assert PLAIN_SECRET not in lines[0] and API_KEY not in lines[1]


def test_from_issue_trace_has_one_line_per_call_with_secrets_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drafter.model import openai as providers

    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("GITLAB_TOKEN", PLAIN_SECRET)
    monkeypatch.setattr(providers, "build_handle", lambda choice: fake_handle("adr"))
    issue = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    issue["body"] += f"\n\nMy key is {API_KEY} and my token ghp_0123456789abcdefghijABCDEFGHIJ012345\n"
    source = tmp_path / "issue.json"
    source.write_text(json.dumps(issue), encoding="utf-8")
    trace = tmp_path / "trace.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "from-issue",
            str(source),
            "--template",
            "adr",
            "--model",
            "gpt-4o-mini",
            "--out-dir",
            str(tmp_path / "out"),
            "--notes",
            f"the gitlab token is {PLAIN_SECRET}",
            "--trace",
            str(trace),
            "-f",
            "json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    calls = json.loads(result.stdout)["usage"]["calls"]
    text = trace.read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == calls == 3
    assert [line["chain"] for line in lines] == ["problem", "solution", "risks"] or {
        line["chain"] for line in lines
    } == {"problem", "solution", "risks"}
    for line in lines:
        assert set(line) >= {"time", "model", "chain", "messages", "response", "usage", "latency_s", "retry"}
        assert line["model"] == "openai:gpt-4o-mini"
        assert line["retry"] is False and line["error"] is None
        assert line["usage"] == {"prompt_tokens": 100, "completion_tokens": 20, "calls": 1}
        # a plain chat model is told the answer's shape in a last message (see test_providers for
        # the SDK path, which sends the schema instead)
        assert [m["role"] for m in line["messages"]] == ["system", "human", "human", "human"]
        assert line["response"].startswith("{")
    assert API_KEY not in text and PLAIN_SECRET not in text
    assert "ghp_0123456789" not in text
    assert REDACTED in text
    # a second run appends
    again = CliRunner().invoke(
        app,
        ["from-issue", str(EXAMPLE), "--template", "adr", "--model", "gpt-4o-mini", "--out-dir",
         str(tmp_path / "out2"), "--trace", str(trace)],
    )  # fmt: skip
    assert again.exit_code == 0, again.stderr
    assert len(trace.read_text(encoding="utf-8").splitlines()) == 6


def test_retries_and_failures_are_traced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

    from drafter.drafting.chains import plan
    from drafter.model import openai as providers
    from drafter.model.handle import ModelHandle
    from drafter.template.outline import load_outline
    from tests.support.chat import chain_answer, reply

    specs = plan(load_outline("adr"))
    replies = [reply("not json"), reply(chain_answer(specs[0]))]  # then the fake runs dry: failure
    handle = ModelHandle(GenericFakeChatModel(messages=iter(replies)), "openai:fake")
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setattr(providers, "build_handle", lambda choice: handle)
    trace = tmp_path / "t.jsonl"
    result = CliRunner().invoke(
        app,
        ["from-issue", str(EXAMPLE), "--template", "adr", "--model", "openai:fake", "--out-dir",
         str(tmp_path), "--trace", str(trace)],
    )  # fmt: skip
    assert result.exit_code == 3
    lines = [json.loads(line) for line in trace.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["retry"] is False and lines[0]["response"] == "not json"
    assert lines[1]["retry"] is True and lines[1]["chain"] == lines[0]["chain"]
    assert lines[-1]["error"]


def test_verbose_prints_each_call_and_quiet_prints_only_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drafter.model import openai as providers

    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setattr(providers, "build_handle", lambda choice: fake_handle("adr"))
    args = ["from-issue", str(EXAMPLE), "--template", "adr", "--model", "gpt-4o-mini", "--out-dir"]
    verbose = CliRunner().invoke(app, ["--verbose", *args, str(tmp_path / "a")])
    assert verbose.exit_code == 0, verbose.stderr
    assert verbose.stderr.count("drafter: chain ") == 3
    assert "100+20 tokens" in verbose.stderr
    quiet = CliRunner().invoke(app, ["-q", *args, str(tmp_path / "b")])
    assert quiet.exit_code == 0
    assert quiet.stderr == ""
    assert quiet.stdout.strip().endswith(".md")
