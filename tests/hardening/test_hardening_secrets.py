"""No credential in cassettes, drafts, reports, traces, logs or error messages; tokens stay on their host.

The tests put fake tokens of every kind in the environment, run drafter against hostile servers on
127.0.0.1 that reflect the ``Authorization`` header into their answers, and scan everything drafter
wrote or printed for the token shapes and for the exact fake values.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from drafter.cli import app
from drafter.model.choice import resolve_model
from drafter.sources import SourceSettings
from tests.support.fault_server import FaultServer
from tests.support.paths import EXAMPLE, ROOT

pytestmark = pytest.mark.block_network(allowed_hosts=[r"^127\.0\.0\.1$"])

SECRETS = {
    "OPENAI_API_KEY": "sk-FAKEhardening00000000000000secret",
    "OPENAI_ORG_ID": "org-FAKEhardening0000000000",
    "GITHUB_TOKEN": "ghp_FAKEhardening000000000000000secret",
    "GITLAB_TOKEN": "glpat-FAKEhardening0000secret",
    "JIRA_API_TOKEN": "FAKEjiraHardeningToken0000secret",
    "JIRA_PAT": "FAKEjiraPatHardening0000secret",
}
# Values other tests put in the environment or in settings (tests/sources/conftest.py and friends).
OTHER_FAKES = ("ghp_FAKE0000000000000000000000000000good", "glpat-FAKE000000000000good")
SHAPES = re.compile(
    r"(?<![A-Za-z0-9_-])(sk-[A-Za-z0-9_-]{16,}|ghp_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{16,}"
    r"|glpat-[A-Za-z0-9_-]{12,}|org-[A-Za-z0-9]{16,})"
    r"|Bearer\s+(?!REDACTED|\[REDACTED\]|\*\*\*|<)[A-Za-z0-9._~+/=-]{8,}"
)


def leaks(text: str) -> list[str]:
    found = [m.group(0) for m in SHAPES.finditer(text)]
    found += [value for value in (*SECRETS.values(), *OTHER_FAKES) if value in text]
    return found


@pytest.fixture(autouse=True)
def _secrets_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("JIRA_EMAIL", "someone@example.com")
    # A hang guard only: every fault here is scripted by the fake server, none waits for the
    # clock, and a short timeout made a slow machine's ordinary answers fail as timeouts.
    monkeypatch.setenv("DRAFTER_TIMEOUT", "120")
    monkeypatch.setenv("DRAFTER_MAX_RETRIES", "0")


def _scan_tree(folder: Path) -> dict[str, list[str]]:
    out = {}
    for path in folder.rglob("*"):
        if path.is_file():
            found = leaks(path.read_text(encoding="utf-8", errors="replace"))
            if found:
                out[str(path)] = found
    return out


def test_the_scanner_finds_what_it_looks_for() -> None:
    assert leaks("Authorization: Bearer abcdefgh12345678")
    assert leaks(SECRETS["JIRA_PAT"]) and leaks("key sk-proj-ABCDEFGHIJKLMNOPQRST")
    assert not leaks("Authorization: Bearer REDACTED, a task-list and org-wide change")


def test_cassettes_hold_no_secret() -> None:
    assert _scan_tree(ROOT / "cassettes") == {}


def test_model_errors_reflecting_the_key_never_show_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """401 and 5xx bodies that quote the Authorization header: the one-line error does not."""
    for fault in ("401", "500", "429"):
        with FaultServer(script=[fault] * 6, echo_auth=True) as server:
            monkeypatch.setenv("OPENAI_BASE_URL", server.url)
            result = CliRunner().invoke(
                app, ["from-issue", str(EXAMPLE), "-m", "openai:m", "--out-dir", str(tmp_path / "out")]
            )
        assert result.exit_code == 3, result.output
        assert server.seen_headers[0]["authorization"] == f"Bearer {SECRETS['OPENAI_API_KEY']}"
        assert leaks(result.output) == [], result.output
        assert isinstance(result.exception, SystemExit)


def test_the_provider_error_object_itself_is_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With DRAFTER_DEBUG=1 the exception (and its traceback text) is what the user sees."""
    import traceback

    with FaultServer(script=["401"] * 3, echo_auth=True) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("DRAFTER_DEBUG", "1")
        result = CliRunner().invoke(
            app, ["from-issue", str(EXAMPLE), "-m", "openai:m", "--out-dir", str(tmp_path / "out")]
        )
    exc = result.exception
    assert exc is not None and not isinstance(exc, SystemExit)
    assert leaks(str(exc)) == [] and leaks(repr(exc)) == []
    # The SDK's own exception (the __cause__) quotes the server's body; drafter's message does not.
    assert exc.__cause__ is not None
    assert "traceback" not in str(exc).lower()
    assert leaks("".join(traceback.format_exception_only(type(exc), exc))) == []


def test_reprs_of_settings_and_model_choice_hide_tokens() -> None:
    import os

    settings = SourceSettings.from_env(os.environ)
    choice = resolve_model("openai:m", os.environ)
    assert leaks(repr(settings)) == [] and leaks(repr(choice)) == [] and leaks(str(settings)) == []


def test_batch_reports_drafts_trace_and_logs_are_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = []
    for index in range(6):
        path = tmp_path / f"issue-{index}.md"
        path.write_text(f"# Issue {index}\n\nThe pool leaks handle {index}.\n", encoding="utf-8")
        sources.append(str(path))
    out = tmp_path / "out"
    reports = tmp_path / "reports"
    reports.mkdir()
    args = ["batch", *sources, "-m", "openai:m", "--out-dir", str(out), "--concurrency", "2"]
    args += ["--report", str(reports / "r.json"), "--junit", str(reports / "j.xml")]
    args += ["--summary", str(reports / "s.md")]
    has_trace = "--trace" in CliRunner().invoke(app, ["batch", "--help"]).output
    if has_trace:
        args += ["--trace", str(reports / "trace.jsonl")]
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(reports / "step.md"))
    # Failures whose bodies quote the key, mixed with good answers.
    script = ["500", "ok", "ok", "ok", "401", "ok", "ok", "ok"]
    with FaultServer(script=script, echo_auth=True) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output  # some failed, the rest were written
    assert list(out.glob("*.md")) and (reports / "r.json").exists()
    if has_trace:
        assert (reports / "trace.jsonl").stat().st_size > 0
    assert leaks(result.output) == []
    assert _scan_tree(out) == {} and _scan_tree(reports) == {}


def test_model_server_redirect_to_another_origin_drops_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FaultServer() as other:
        with FaultServer(script=["redirect"], redirect_to=other.url) as first:
            monkeypatch.setenv("OPENAI_BASE_URL", first.url)
            CliRunner().invoke(
                app, ["from-issue", str(EXAMPLE), "-m", "openai:m", "--out-dir", str(tmp_path / "out")]
            )
    assert first.seen_headers and first.seen_headers[0]["authorization"].startswith("Bearer sk-")
    # Another port is another origin: the SDK follows the redirect, but without the key.
    assert other.seen_headers
    assert all("authorization" not in headers for headers in other.seen_headers)


class _Echo(BaseHTTPRequestHandler):
    """A tracker that answers 404 and quotes every request header in its body."""

    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        body = repr(dict(self.headers.items())).encode()
        self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_tracker_errors_quoting_the_token_never_show_it(monkeypatch: pytest.MonkeyPatch) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        for var, url in (
            ("GITHUB_API_URL", "https://github.com/o/r/issues/1"),
            ("GITLAB_API_URL", "https://gitlab.com/g/p/-/issues/1"),
            ("JIRA_BASE_URL", "https://x.atlassian.net/browse/AB-1"),
        ):
            monkeypatch.setenv(var, base)
            result = CliRunner().invoke(app, ["fetch", url])
            assert result.exit_code == 2 and "not found" in result.stderr, result.output
            assert leaks(result.output) == [], result.output
    finally:
        server.shutdown()
        server.server_close()


def test_a_server_echoing_the_key_in_answers_errors_and_pages_leaks_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every echo a hostile gateway can make: in the answer, a 200 error object, an HTML 502 page."""
    for script in (["echo"] * 12, ["echo_error200"] * 6, ["echo_html"] * 6):
        out = tmp_path / script[0]
        with FaultServer(script=script) as server:
            monkeypatch.setenv("OPENAI_BASE_URL", server.url)
            result = CliRunner().invoke(
                app, ["from-issue", str(EXAMPLE), "-m", "openai:m", "--out-dir", str(out)]
            )
        assert server.seen_headers[0]["authorization"] == f"Bearer {SECRETS['OPENAI_API_KEY']}"
        assert leaks(result.output) == [], (script[0], result.output)
        if script[0] == "echo":
            # Echoing answers stop fitting the risks chain's schema: a partial draft, exit 1.
            assert result.exit_code in (0, 1), result.output
            drafts = list(out.glob("*.md"))
            assert drafts and "[REDACTED]" in drafts[0].read_text(encoding="utf-8")
        else:
            assert result.exit_code == 3, result.output
        assert _scan_tree(tmp_path) == {}


def test_basic_auth_and_its_base64_form_never_show(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jira sends ``Basic base64(email:token)``; a tracker quoting it back is cleaned of both forms."""
    import base64

    basic = base64.b64encode(f"someone@example.com:{SECRETS['JIRA_API_TOKEN']}".encode()).decode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.delenv("JIRA_PAT")
        monkeypatch.setenv("JIRA_BASE_URL", f"http://127.0.0.1:{server.server_address[1]}")
        result = CliRunner().invoke(app, ["fetch", "https://x.atlassian.net/browse/AB-1"])
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code == 2, result.output
    assert basic not in result.output and leaks(result.output) == [], result.output


def test_credentials_in_the_model_url_never_show(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``OPENAI_BASE_URL=https://user:pass@host``: not in ``config`` (either format) nor in errors."""
    monkeypatch.setenv("OPENAI_BASE_URL", "https://alice:Hunter2Hunter2@127.0.0.1:9/v1")
    monkeypatch.setenv("DRAFTER_TIMEOUT", "60")
    for args in (["config"], ["config", "--format", "json"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0 and "Hunter2Hunter2" not in result.output, result.output
        assert "127.0.0.1:9" in result.output
    result = CliRunner().invoke(
        app, ["from-issue", str(EXAMPLE), "-m", "openai:m", "--out-dir", str(tmp_path)]
    )
    assert result.exit_code == 3, result.output
    assert "Hunter2Hunter2" not in result.output and "alice" not in result.output, result.output


def test_terminal_escapes_in_an_issue_never_reach_the_terminal(tmp_path: Path) -> None:
    """CSI colours, an OSC title, an OSC 8 hyperlink and BEL in a title and body: stripped for humans,
    escaped in JSON."""
    issue = tmp_path / "issue.md"
    evil = (
        "\x1b[31mred\x1b[0m \x1b]0;owned\x07 \x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\ \x07bell"
    )
    issue.write_text(f"# Pool {evil}\n\nThe pool leaks. {evil}\n", encoding="utf-8")
    for args in (["fetch", str(issue)], ["from-issue", str(issue), "--dry-run"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.output and "\x07" not in result.output, repr(result.output)
        assert "red" in result.output and "click" in result.output
    result = CliRunner().invoke(app, ["fetch", str(issue), "--format", "json"])
    assert result.exit_code == 0 and "\x1b" not in result.output and "\\u001b" in result.output


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer abcdefgh12345678",
        "basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
        "api_key=abcd1234 and API-KEY: 'wxyz9876'",
        "auth_token: 'abcdefgh', password = hunter22",
        # re.IGNORECASE matches these non-ASCII letters to ASCII ones: the shortcut must too.
        "Bear\u0130r=no but BEAR\u0131R? Ba\u017fic abcdefgh12345678",
        "to\u212aen abcdefgh12345678; \u017fecret: abcdefgh; pa\u017f\u017fword=abcdefgh",
        "api\u212aey=abcdefgh",
        "sk-abcdefgh12 ghp_ABCDEFGHIJKLMNOPQRSTUV github_pat_ABCDEFGHIJKLMNOPQR_1",
        "glpat-ABCDEFGHIJKLMNOPQR xoxb-1234567890-abc",
        "nothing to hide here: a design doc about keys, tokens and secrets in general",
    ],
)
def test_redaction_skips_only_texts_no_pattern_could_match(text: str) -> None:
    from drafter.config import redaction

    expected = text
    for pattern, _ in redaction._PATTERNS:
        expected = pattern.sub(redaction.REDACTED, expected)
    expected = redaction._BEARER.sub(lambda m: m.group(1) + redaction.REDACTED, expected)
    expected = redaction._ASSIGNED.sub(lambda m: m.group(1) + redaction.REDACTED, expected)
    assert redaction.redact(text) == expected
