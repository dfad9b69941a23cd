"""Shared pieces of the sources tests: cassette folder per module and settings aimed at the fixture server.

Cassettes for ``tests/sources/test_x.py`` live in ``cassettes/sources/x/``. They were recorded
against ``tests/sources/fixture_server.py`` on the fixed address below (vcrpy matches host and
port), and replay with the server stopped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from drafter.sources import SourceSettings
from drafter.sources.settings import Secret

ROOT = Path(__file__).resolve().parents[2]
SERVER = "http://127.0.0.1:8765"
GITHUB_API = f"{SERVER}/github"
GITLAB_API = f"{SERVER}/gitlab/api/v4"
JIRA_BASE = f"{SERVER}/jira"
RESET_EPOCH = 2_000_000_000
FAKE_GITHUB_TOKEN = "ghp_FAKE0000000000000000000000000000good"
FAKE_GITLAB_TOKEN = "glpat-FAKE000000000000good"


@pytest.fixture
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    return str(ROOT / "cassettes" / "sources" / module)


class Recorder:
    """Collects what the sources layer would sleep and say, instead of sleeping."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.messages: list[str] = []


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def make_settings(recorder: Recorder | None = None, **overrides: Any) -> SourceSettings:
    rec = recorder or Recorder()
    values: dict[str, Any] = {
        "github_api_url": GITHUB_API,
        "gitlab_api_url": GITLAB_API,
        "jira_base_url": JIRA_BASE,
        "sleep": rec.sleeps.append,
        "notify": rec.messages.append,
        "clock": lambda: float(RESET_EPOCH - 5),
        "resolve": lambda host: ["93.184.216.34"],
    }
    values.update(overrides)
    for name in ("github_token", "gitlab_token", "jira_api_token", "jira_pat"):
        if isinstance(values.get(name), str):
            values[name] = Secret(values[name])
    return SourceSettings(**values)
