"""The README's exit-code table, one test per row (issue #20: behaviour and table agree).

130 and 143 (a batch stopped by SIGINT or SIGTERM) are tested with real signals in
``tests/hardening/test_locks_and_signals.py``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx2
import pytest

from drafter.errors import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_RUNTIME,
    EXIT_USAGE,
    ProviderError,
    SourceError,
    TrackerUnavailableError,
)
from drafter.sources import SourceSettings, load_source
from tests.support.cli import one_line_error, run
from tests.support.paths import EXAMPLE, ROOT

ISSUE = {"number": 1, "title": "T", "body": "B", "state": "open", "comments": 0, "user": {"login": "a"}}


def readme_codes() -> dict[str, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8").split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {m.group(1): m.group(2) for m in re.finditer(r"^\| ([\d, ]+) \| (.+) \|$", text, re.M)}


def test_the_table_has_the_rows_tested_here() -> None:
    assert set(readme_codes()) == {"0", "1", "2", "3", "130, 143"}
    assert "tracker could not be reached" in readme_codes()["3"]
    assert "tracker refused" in readme_codes()["2"]


def settings(**overrides: Any) -> SourceSettings:
    values: dict[str, Any] = {"sleep": lambda seconds: None, "resolve": lambda host: ["93.184.216.34"]}
    values.update(overrides)
    return SourceSettings(**values)


def fetch_with(handler: Any, **overrides: Any) -> None:
    load_source("o/r#1", settings(**overrides), transport=httpx2.MockTransport(handler))


# -- 0 ---------------------------------------------------------------------------------------------
def test_0_a_valid_draft_was_written(tmp_path: Path) -> None:
    result = run("from-issue", EXAMPLE, "--model", "offline", "--out-dir", tmp_path)
    assert result.exit_code == EXIT_OK, result.stderr


# -- 1 ---------------------------------------------------------------------------------------------
def test_1_a_document_has_findings(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("# Title\n\nNothing else.\n", encoding="utf-8")
    assert run("validate", doc).exit_code == EXIT_FINDINGS


# -- 2 ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["from-issue", str(EXAMPLE), "--no-such-flag"],
        ["from-issue", str(EXAMPLE), "--model", "offline", "--template", "no-such-template"],
        ["from-issue", "/no/such/issue.json", "--model", "offline"],
        ["from-issue", "https://example.com/not/a/tracker", "--model", "offline"],
    ],
    ids=["unknown-flag", "unknown-template", "unreadable-file", "malformed-url"],
)
def test_2_bad_input_or_usage(args: list[str], tmp_path: Path) -> None:
    result = run(*args, "--out-dir", tmp_path)
    assert result.exit_code == EXIT_USAGE, result.output
    assert "Traceback" not in result.output
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("status", [404, 401, 403])
def test_2_the_tracker_refused(status: int) -> None:
    with pytest.raises(SourceError) as info:
        fetch_with(lambda request: httpx2.Response(status, json={"message": "no"}))
    assert not isinstance(info.value, TrackerUnavailableError)
    assert info.value.exit_code == EXIT_USAGE


def test_2_a_draft_a_human_edited(tmp_path: Path) -> None:
    out = tmp_path / "d.md"
    assert run("from-issue", EXAMPLE, "--model", "offline", "--out", out).exit_code == EXIT_OK
    out.write_text(out.read_text(encoding="utf-8") + "\nMy own line.\n", encoding="utf-8")
    result = run("from-issue", EXAMPLE, "--model", "offline", "--out", out)
    assert result.exit_code == EXIT_USAGE
    assert "edited" in one_line_error(result)


# -- 3 ---------------------------------------------------------------------------------------------
def refuse(request: httpx2.Request) -> httpx2.Response:
    raise httpx2.ConnectError("refused", request=request)


def slow(request: httpx2.Request) -> httpx2.Response:
    raise httpx2.ReadTimeout("slow", request=request)


@pytest.mark.parametrize(
    "handler",
    [
        refuse,
        slow,
        lambda request: httpx2.Response(503, json={}),
        lambda request: httpx2.Response(429, headers={"Retry-After": "3600"}, json={}),
    ],
    ids=["unreachable", "timeout", "http-503", "rate-limit-over-max-wait"],
)
def test_3_the_tracker_failed_after_retries(handler: Any) -> None:
    with pytest.raises(TrackerUnavailableError) as info:
        fetch_with(handler, max_wait=5)
    assert info.value.exit_code == EXIT_RUNTIME


def test_3_reaches_the_command_line_as_exit_3(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import drafter.sources as sources

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise TrackerUnavailableError(
            "could not reach https://api.github.com for o/r#1: timed out after 4 attempts"
        )

    monkeypatch.setattr(sources, "load_source", unreachable)
    result = run("from-issue", "o/r#1", "--model", "offline", "--out-dir", tmp_path)
    assert result.exit_code == EXIT_RUNTIME
    assert "could not reach" in one_line_error(result)


def test_3_the_model_failed_after_retries(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from drafter.model import openai as providers

    def broken(choice: Any) -> Any:
        raise ProviderError("the model server timed out after retries", hint="try again later")

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr(providers, "build_handle", broken)
    result = run("from-issue", EXAMPLE, "--model", "gpt-4o-mini", "--out-dir", tmp_path)
    assert result.exit_code == EXIT_RUNTIME
    assert "timed out" in one_line_error(result)
