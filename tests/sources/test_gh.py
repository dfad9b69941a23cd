"""``gh auth token`` as the GitHub token store when no GITHUB_TOKEN/GH_TOKEN is set (issue #20)."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from drafter.config import resolve_settings
from drafter.config.redaction import redact
from drafter.sources import SourceSettings, load_source
from drafter.sources.gh import gh_token

ISSUE = {"number": 1, "title": "T", "body": "B", "state": "open", "comments": 0, "user": {"login": "a"}}
TOKEN = "gho_FAKEgh0123456789abcdefghijklmnopqrstu"


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    gh_token.cache_clear()
    yield
    gh_token.cache_clear()


def fake_gh(folder: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> Path:
    """A `gh` on PATH that logs its arguments and runs ``body`` (Python)."""
    folder.mkdir(exist_ok=True)
    log = folder / "calls.log"
    script = folder / "gh"
    script.write_text(
        f"#!{sys.executable}\nimport sys\nopen({str(log)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n{body}\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    return log


def settings_for(env: dict[str, str], **overrides: object) -> SourceSettings:
    base = SourceSettings.from_settings(resolve_settings({"no_cache": True}, env))
    values: dict[str, object] = {"sleep": lambda s: None, "resolve": lambda host: ["93.184.216.34"]}
    values.update(overrides)
    from dataclasses import replace

    return replace(base, **values)  # type: ignore[arg-type]


def fetch(settings: SourceSettings, source: str = "o/r#1") -> list[httpx2.Request]:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={**ISSUE, "html_url": f"https://{request.url.host}/o/r/issues/1"})

    load_source(source, settings, transport=httpx2.MockTransport(handler))
    return seen


def test_gh_token_is_used_for_github_com_and_never_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = fake_gh(tmp_path / "bin", monkeypatch, f"print({TOKEN!r})")
    seen = fetch(settings_for({}))
    assert seen[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert log.read_text().splitlines() == ["auth token --hostname github.com"]
    assert TOKEN not in redact(f"echoed {TOKEN} by a server")


def test_each_enterprise_host_gets_its_own_gh_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = fake_gh(tmp_path / "bin", monkeypatch, "print('gho_ENTERPRISE' + sys.argv[-1].replace('.', ''))")
    seen = fetch(settings_for({}), "https://ghe.corp.example/o/r/issues/1")
    assert str(seen[0].url).startswith("https://ghe.corp.example/api/v3/")
    assert seen[0].headers["authorization"] == "Bearer gho_ENTERPRISEghecorpexample"
    assert "--hostname ghe.corp.example" in log.read_text()


def test_a_configured_token_wins_and_gh_is_not_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = fake_gh(tmp_path / "bin", monkeypatch, f"print({TOKEN!r})")
    seen = fetch(settings_for({"GITHUB_TOKEN": "ghp_FROMENV0123456789abcdefghijklmnopqr"}))
    assert seen[0].headers["authorization"] == "Bearer ghp_FROMENV0123456789abcdefghijklmnopqr"
    assert not log.exists()


@pytest.mark.parametrize(
    "body",
    ["sys.exit(1)", "print('')", "print('two words')", "import time; raise SystemExit(4)"],
    ids=["not-logged-in", "empty", "not-a-token", "fails"],
)
def test_without_a_usable_gh_token_the_request_is_anonymous(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str
) -> None:
    fake_gh(tmp_path / "bin", monkeypatch, body)
    seen = fetch(settings_for({}))
    assert "authorization" not in seen[0].headers


def test_without_gh_installed_nothing_is_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert gh_token("github.com") is None
    seen = fetch(settings_for({}))
    assert "authorization" not in seen[0].headers


def test_drafter_no_gh_turns_it_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = fake_gh(tmp_path / "bin", monkeypatch, f"print({TOKEN!r})")
    seen = fetch(settings_for({"DRAFTER_NO_GH": "1"}))
    assert "authorization" not in seen[0].headers and not log.exists()
