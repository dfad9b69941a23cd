"""Credentials travel only over https, or over plain http to this machine (issue 18, item 2).

A small recording proxy on 127.0.0.1 stands in for the network in between: with a credential
configured, a plain-http tracker or model URL on another host is refused before anything is sent,
so the proxy never sees the credential; an https URL goes through the proxy as a CONNECT tunnel
that carries no ``Authorization`` header; and loopback servers keep working over plain http.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from drafter.cli import app
from drafter.sources import SourceSettings
from drafter.sources.transport import is_loopback, plain_http_host
from tests.support.fault_server import FaultServer
from tests.support.paths import EXAMPLE

pytestmark = pytest.mark.block_network(allowed_hosts=[r"^127\.0\.0\.1$"])


class _Proxy(BaseHTTPRequestHandler):
    """Records each request line and its headers, then answers 404 (it forwards nothing)."""

    protocol_version = "HTTP/1.0"
    seen: list[tuple[str, dict[str, str]]] = []

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _record(self) -> None:
        type(self).seen.append((self.requestline, {k.lower(): v for k, v in self.headers.items()}))
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_CONNECT = _record


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, dict[str, str]]]]:
    _Proxy.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("DRAFTER_MAX_RETRIES", "0")
    # A refused tunnel is retried with back-off; the back-off is not what is under test.
    from_env = SourceSettings.from_env
    monkeypatch.setattr(
        SourceSettings, "from_env", lambda env, **o: replace(from_env(env, **o), sleep=lambda _s: None)
    )
    try:
        yield _Proxy.seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://jira.example.com/rest", "jira.example.com"),
        ("http://10.0.0.5:8080", "10.0.0.5"),
        ("HTTP://Gpu-Box:11434/v1", "gpu-box"),
        ("https://jira.example.com", None),
        ("http://127.0.0.1:8080", None),
        ("http://127.8.9.10", None),
        ("http://localhost:11434/v1", None),
        ("http://api.localhost", None),
        ("http://[::1]:8080", None),
    ],
)
def test_which_urls_count_as_plain_http_over_the_network(url: str, host: str | None) -> None:
    assert plain_http_host(url) == host


def test_a_name_that_merely_looks_local_is_not_loopback() -> None:
    assert not is_loopback("localhost.evil.example") and not is_loopback("127.0.0.1.nip.io")


@pytest.mark.parametrize(
    ("env", "url", "variable"),
    [
        (
            {
                "JIRA_BASE_URL": "http://jira.example.com",
                "JIRA_EMAIL": "a@example.com",
                "JIRA_API_TOKEN": "tok3n",
            },
            "http://jira.example.com/browse/AB-1",
            "JIRA_BASE_URL",
        ),
        (
            {"JIRA_BASE_URL": "http://jira.example.com", "JIRA_PAT": "pat0000"},
            "https://jira.example.com/browse/AB-1",
            "JIRA_BASE_URL",
        ),
        (
            {"GITHUB_API_URL": "http://ghe.example.com/api/v3", "GITHUB_TOKEN": "ghp_x"},
            "https://github.com/o/r/issues/1",
            "GITHUB_API_URL",
        ),
        (
            {"GITLAB_API_URL": "http://gl.example.com/api/v4", "GITLAB_TOKEN": "glpat-x"},
            "https://gitlab.com/g/p/-/issues/1",
            "GITLAB_API_URL",
        ),
    ],
)
def test_a_tracker_credential_never_goes_over_plain_http(
    proxy: list[tuple[str, dict[str, str]]],
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    url: str,
    variable: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["fetch", url])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "over plain http" in lines[0] and variable in lines[0], result.stderr
    assert proxy == []  # refused before a byte was sent


def test_without_a_credential_plain_http_is_still_a_choice(
    proxy: list[tuple[str, dict[str, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A public Jira over http: nothing secret to protect, so the request goes (to the proxy)."""
    for name in ("JIRA_EMAIL", "JIRA_API_TOKEN", "JIRA_PAT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JIRA_BASE_URL", "http://jira.example.com")
    result = CliRunner().invoke(app, ["fetch", "http://jira.example.com/browse/AB-1"])
    assert result.exit_code != 0  # the proxy answers 404
    assert proxy and all("authorization" not in headers for _, headers in proxy)


def test_over_https_a_proxy_only_sees_a_tunnel(
    proxy: list[tuple[str, dict[str, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JIRA_BASE_URL", "https://jira.example.com")
    monkeypatch.setenv("JIRA_EMAIL", "a@example.com")
    monkeypatch.setenv("JIRA_API_TOKEN", "tok3n")
    result = CliRunner().invoke(app, ["fetch", "https://jira.example.com/browse/AB-1"])
    assert result.exit_code != 0
    assert proxy and all(line.startswith("CONNECT jira.example.com:443") for line, _ in proxy)
    assert all("authorization" not in headers for _, headers in proxy)


def test_the_model_key_never_goes_over_plain_http(
    proxy: list[tuple[str, dict[str, str]]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-transport0000000000")
    for base in ("http://gpu-box.example.com:11434/v1", "http://user:pw@gpu-box.example.com/v1"):
        monkeypatch.setenv("OPENAI_BASE_URL", base)
        result = CliRunner().invoke(
            app, ["from-issue", str(EXAMPLE), "-m", "openai:m", "--out-dir", str(tmp_path)]
        )
        assert result.exit_code == 2, result.output
        assert "over plain http" in result.stderr and "pw" not in result.stderr, result.stderr
    # Credentials in the URL alone count too.
    monkeypatch.delenv("OPENAI_API_KEY")
    result = CliRunner().invoke(
        app, ["from-issue", str(EXAMPLE), "-m", "openai:m", "--out-dir", str(tmp_path)]
    )
    assert result.exit_code == 2 and "credentials in OPENAI_BASE_URL" in result.stderr, result.stderr
    assert proxy == [] and not list(tmp_path.glob("*.md"))


def test_a_local_model_server_keeps_plain_http(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-transport0000000000")
    with FaultServer() as server:  # http://127.0.0.1:PORT/v1
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        result = CliRunner().invoke(
            app, ["from-issue", str(EXAMPLE), "-m", "openai:m", "--out-dir", str(tmp_path)]
        )
    assert result.exit_code == 0, result.output
    assert server.seen_headers[0]["authorization"] == "Bearer sk-transport0000000000"
