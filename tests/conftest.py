"""Shared test setup: hermetic environment, cassette location and secret scrubbing.

Tests never reach the network: CI runs ``pytest --block-network`` and pytest-recording's default
record mode ``none`` replays cassettes from ``cassettes/`` only. Re-recording is a manual run with
``--record-mode=once`` (see README, "Re-recording cassettes").
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import CASSETTES

# Request headers that carry credentials; replaced, never stored.
SECRET_REQUEST_HEADERS = [
    ("authorization", "REDACTED"),
    ("private-token", "REDACTED"),
    ("api-key", "REDACTED"),
    ("x-api-key", "REDACTED"),
    ("openai-organization", "REDACTED"),
    ("openai-project", "REDACTED"),
    ("cookie", None),
]
# Response headers that identify an account or vary per run; dropped before recording.
DROPPED_RESPONSE_HEADERS = {
    "openai-organization",
    "openai-project",
    "set-cookie",
    "x-request-id",
    "cf-ray",
    "date",
    "server",
}


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in DROPPED_RESPONSE_HEADERS or name.lower().startswith("cf-"):
            del headers[name]
    return response


def _request_shape(request: Any) -> tuple[object, ...]:
    """What an LLM request must share with its recording: model and structured-output method.

    Used by cassettes that opt in (``match_on=[..., "shape"]``) so that editing a prompt's
    wording does not force a slow re-record; such calls are replayed in recorded order.
    """
    body = json.loads(request.body or b"{}")
    fmt = body.get("response_format") or {}
    return (body.get("model"), fmt.get("type"), bool(body.get("tools")), body.get("max_tokens"))


def _same_shape(r1: Any, r2: Any) -> None:
    assert _request_shape(r1) == _request_shape(r2)


def _same_json_body(r1: Any, r2: Any) -> None:
    """Equal JSON bodies; multipart uploads (random boundaries) and other bodies are not compared.

    For the Batch API cassettes: batch creation and retrieval must match exactly, while the
    uploaded JSONL (the prompts) may change without a re-record, like the "shape" matcher allows.
    """
    kinds = [str(r.headers.get("Content-Type") or r.headers.get("content-type") or "") for r in (r1, r2)]
    if all(kind.startswith("application/json") for kind in kinds):
        assert json.loads(r1.body or b"{}") == json.loads(r2.body or b"{}")
    elif not any(kind.startswith("multipart/") for kind in kinds):
        assert (r1.body or b"") == (r2.body or b"")


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    vcr.register_matcher("shape", _same_shape)
    vcr.register_matcher("json_body", _same_json_body)


@pytest.fixture(scope="session")
def vcr_config() -> dict[str, Any]:
    return {
        "filter_headers": SECRET_REQUEST_HEADERS,
        "filter_query_parameters": ["api_key", "access_token", "private_token", "token"],
        "before_record_response": _scrub_response,
        "decode_compressed_response": True,
        "match_on": ["method", "scheme", "host", "port", "path", "query", "body"],
    }


@pytest.fixture(scope="session")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    return str(CASSETTES)


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's tokens, model settings or config files."""
    for name in list(os.environ):
        if name.startswith(
            ("DRAFTER_", "OPENAI_", "GITHUB_", "GH_", "GITLAB_", "JIRA_", "LANGCHAIN_", "LANGSMITH_")
        ):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.setenv("DRAFTER_CONFIG_DIR", str(tmp_path / "config"))
    # The user's own config and cache folders (platformdirs): never the developer's.
    monkeypatch.setenv("DRAFTER_USER_CONFIG", str(tmp_path / "user-config" / "drafter.toml"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("DRAFTER_NO_GH", "1")  # a developer's `gh` login never reaches a test
    monkeypatch.setenv("TERMINAL_WIDTH", "120")
    monkeypatch.setenv("_TYPER_FORCE_DISABLE_TERMINAL", "1")
    monkeypatch.setenv("NO_COLOR", "1")
