"""``drafter models`` end to end: the real SDK against a fake ``/v1/models`` on 127.0.0.1.

Listings (text and JSON), the configured model's mark, prices known and unknown, the strict-output
flag, and every failure as one line with its exit code: no key, a key over plain http, 401,
a closed port, a timeout (injected, no clock), an answer that is not JSON. A server that quotes
the key back never gets it printed.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from drafter.errors import EXIT_RUNTIME, EXIT_USAGE
from tests.support.cli import one_line_error, run
from tests.support.fault_server import client_side_timeouts
from tests.support.models_server import ModelsServer

pytestmark = pytest.mark.block_network(allowed_hosts=[r"^127\.0\.0\.1$"])  # the fake server only
KEY = "test-key-Zq8vN3xK5mW2"  # not an sk- shape: only its exact value can redact it


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModelsServer]:
    with ModelsServer() as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
        monkeypatch.setenv("DRAFTER_MAX_RETRIES", "0")
        yield fake


def test_text_lists_the_endpoint_and_marks_the_configured_model(server: ModelsServer) -> None:
    result = run("models", "--model", "gpt-4o-mini")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:2] == [f"endpoint: {server.url}", "configured model: openai:gpt-4o-mini (flag)"]
    assert lines[2].split() == ["MODEL", "INPUT", "$/1M", "OUTPUT", "$/1M", "STRICT", "OUTPUT"]
    rows = {line[2:].split()[0]: line for line in lines[3:]}
    assert list(rows) == ["gpt-3.5-turbo", "gpt-4o-mini", "llama3.2:latest", "text-embedding-3-small"]
    assert rows["gpt-4o-mini"].startswith("* ")
    assert rows["gpt-4o-mini"].split()[2:] == ["0.15", "0.60", "unknown"]
    assert rows["llama3.2:latest"].split() == ["llama3.2:latest", "unknown", "unknown", "unknown"]
    strict_column = {len(line) - len(line.split()[-1]) for line in lines[3:]}
    assert strict_column == {lines[2].index("STRICT")}, "an aligned table"
    assert result.stderr == ""


def test_json_is_a_list_with_stable_keys(server: ModelsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRAFTER_MODEL", "llama3.2")  # Ollama lists it as llama3.2:latest
    result = run("models", "--format", "json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [m["id"] for m in listed if m["configured"]] == ["llama3.2:latest"]
    first = listed[0]
    assert first == {
        "id": "gpt-3.5-turbo",
        "owned_by": "library",
        "configured": False,
        "input_usd_per_1m": None,
        "output_usd_per_1m": None,
        "strict_output": None,
        "endpoint": server.url,
    }
    assert {(m["id"], m["input_usd_per_1m"], m["output_usd_per_1m"]) for m in listed} >= {
        ("gpt-4o-mini", 0.15, 0.60)
    }


def test_strict_output_flag_on_openais_api(server: ModelsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake stands in for api.openai.com, where the model families are known."""
    import drafter.model.catalog

    monkeypatch.setattr(drafter.model.catalog, "is_openai", lambda url: True)
    listed = {m["id"]: m["strict_output"] for m in json.loads(run("models", "-f", "json").stdout)}
    assert listed == {
        "gpt-4o-mini": True,
        "gpt-3.5-turbo": False,
        "text-embedding-3-small": None,
        "llama3.2:latest": None,
    }
    text = run("models").stdout
    assert [line.split()[-1] for line in text.splitlines()[3:]] == ["no", "yes", "unknown", "unknown"]


def test_a_configured_model_the_server_does_not_list_is_noted(server: ModelsServer) -> None:
    result = run("models", "-m", "mistral")
    assert result.exit_code == 0 and "* " not in result.stdout
    assert (
        result.stderr.strip() == "drafter: the configured model openai:mistral is not in this endpoint's list"
    )


def test_401_with_a_key_is_one_line_exit_3(server: ModelsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    server.script = ["401"]
    result = run("models")
    assert result.exit_code == EXIT_RUNTIME
    line = one_line_error(result)
    assert "rejected the API key (HTTP 401)" in line and "check OPENAI_API_KEY" in line


def test_401_without_a_key_says_to_set_one(server: ModelsServer) -> None:
    server.script = ["401"]
    result = run("models")
    assert result.exit_code == EXIT_RUNTIME
    assert "needs an API key and none is configured (HTTP 401) (set OPENAI_API_KEY)" in one_line_error(result)


def test_no_key_for_openai_is_a_usage_error_without_a_request() -> None:
    result = run("models")
    assert result.exit_code == EXIT_USAGE
    assert "needs an API key, and OPENAI_API_KEY is not set" in one_line_error(result)


def test_a_closed_port_is_one_line_exit_3(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as bound:  # bound, never listening: every connection is refused
        bound.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound.getsockname()[1]}/v1"
        monkeypatch.setenv("DRAFTER_MAX_RETRIES", "0")
        result = run("models", "--base-url", url)
    assert result.exit_code == EXIT_RUNTIME
    assert f"cannot connect to the model server at {url}" in one_line_error(result)


def test_a_timeout_is_one_line_exit_3(server: ModelsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    client_side_timeouts(monkeypatch)
    server.script = ["timeout"]
    result = run("models")
    assert result.exit_code == EXIT_RUNTIME
    assert "timed out after retries (check that it is up, or raise DRAFTER_TIMEOUT)" in one_line_error(result)


@pytest.mark.parametrize("fault", ["html", "badjson"])
def test_an_answer_that_is_not_json_is_one_line_exit_3(server: ModelsServer, fault: str) -> None:
    server.script = [fault]
    result = run("models")
    assert result.exit_code == EXIT_RUNTIME
    line = one_line_error(result)
    assert "answered with something that is not JSON" in line and "/v1" in line


@pytest.mark.parametrize("fault", ["ok", "401", "error200", "html"])
def test_a_key_the_server_echoes_is_never_printed(monkeypatch: pytest.MonkeyPatch, fault: str) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("DRAFTER_MAX_RETRIES", "0")
    with ModelsServer(script=[fault], echo_auth=True) as server:
        for fmt in ("text", "json"):
            server.script = [fault]
            result = run("models", "--base-url", server.url, "--format", fmt)
            assert KEY not in result.output
            if fault == "ok" and fmt == "text":  # the table is measured after redaction
                lines = result.stdout.splitlines()
                strict_column = {len(line) - len(line.split()[-1]) for line in lines[3:]}
                assert strict_column == {lines[2].index("STRICT")}
    assert server.seen_headers[0]["authorization"] == f"Bearer {KEY}"  # it was sent, and echoed
    assert ("[REDACTED]" in result.output) is (fault in ("ok", "error200"))


def test_a_key_is_not_sent_over_plain_http_to_another_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    result = run("models", "--base-url", "http://models.example.com/v1")
    assert result.exit_code == EXIT_USAGE
    line = one_line_error(result)
    assert "refusing to send OPENAI_API_KEY to models.example.com over plain http" in line
    assert KEY not in result.output


def test_credentials_in_the_base_url_are_not_shown(server: ModelsServer) -> None:
    with_userinfo = server.url.replace("http://", "http://ada:pa55word-x@")
    result = run("models", "--base-url", with_userinfo)
    assert result.exit_code == 0, result.output
    assert "pa55word-x" not in result.output and result.stdout.startswith(f"endpoint: {server.url}\n")
