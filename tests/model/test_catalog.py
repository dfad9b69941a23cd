"""``drafter.model.catalog``: what drafter knows of each model, and reading ``GET /models`` answers.

The listing runs the real SDK against ``tests/support/models_server.py`` on 127.0.0.1; its
failures (and their one-line errors and exit codes) are checked from the CLI in
``tests/cli/test_models.py``.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from drafter.config import resolve_settings
from drafter.errors import ConfigError, ProviderError
from drafter.model.catalog import is_openai, list_models, strict_output
from drafter.model.choice import shown_url
from tests.support.models_server import ModelsServer

pytestmark = pytest.mark.block_network(allowed_hosts=[r"^127\.0\.0\.1$"])  # the fake server only


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o-mini", True),
        ("gpt-4o-mini-2024-07-18", True),
        ("gpt-4o-2024-08-06", True),
        ("gpt-4.1-nano", True),
        ("o4-mini", True),
        ("gpt-4o-2024-05-13", False),
        ("gpt-3.5-turbo-0125", False),
        ("gpt-4-turbo", False),
        ("gpt-4-0613", False),
        ("o1-mini", False),
        ("text-embedding-3-small", None),
        ("gpt-4o-realtime-preview", None),
    ],
)
def test_strict_output_on_openai(model: str, expected: bool | None) -> None:
    assert strict_output(model, None) is expected
    assert strict_output(model, "https://api.openai.com/v1") is expected


def test_strict_output_elsewhere_is_unknown() -> None:
    """Other servers are asked for strict output first, and fall back at their first refusal."""
    assert strict_output("gpt-4o-mini", "http://localhost:11434/v1") is None
    assert strict_output("gpt-3.5-turbo", "https://api.openai.com.example.net/v1") is None
    assert is_openai("https://api.openai.com:443/v1") and not is_openai("https://openai.example/v1")


def test_shown_url_drops_credentials() -> None:
    assert shown_url("https://user:pw@host:8443/v1") == "https://host:8443/v1"
    assert shown_url("http://localhost:11434/v1") == "http://localhost:11434/v1"


def test_list_models_marks_prices_and_sorts() -> None:
    with ModelsServer() as server:
        env = {"OPENAI_BASE_URL": server.url, "DRAFTER_MODEL": "llama3.2"}
        catalog = list_models(resolve_settings({}, env))
    assert server.paths == ["/v1/models"]
    assert server.seen_headers[0]["authorization"] == "Bearer not-needed"  # no key configured
    assert [m.id for m in catalog.models] == sorted(m.id for m in catalog.models)
    by_id = {m.id: m for m in catalog.models}
    assert by_id["llama3.2:latest"].configured and catalog.configured == "openai:llama3.2"
    assert sum(m.configured for m in catalog.models) == 1
    assert by_id["gpt-4o-mini"].price == (0.15, 0.60) and by_id["llama3.2:latest"].price is None
    assert catalog.endpoint == server.url and catalog.origin == "env DRAFTER_MODEL"
    assert set(catalog.to_list()[0]) == {
        "id",
        "owned_by",
        "configured",
        "input_usd_per_1m",
        "output_usd_per_1m",
        "strict_output",
        "endpoint",
    }


def test_configured_prices_win() -> None:
    with ModelsServer(["llama3.2:latest"]) as server:
        settings = resolve_settings({}, {"OPENAI_BASE_URL": server.url})
        catalog = list_models(replace(settings, prices={"llama3.2:latest": (0.0, 0.0)}))
    assert catalog.models[0].price == (0.0, 0.0) and catalog.configured == "offline"


def test_openai_without_a_key_is_refused_before_any_request() -> None:
    with pytest.raises(ConfigError, match="needs an API key, and OPENAI_API_KEY is not set"):
        list_models(resolve_settings({}, {}))


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("html", "answered with something that is not JSON"),
        ("badjson", "answered with something that is not JSON"),
        ("shape", "answered with JSON that is not a list of models"),
        ("error200", "answered with an error: injected error200"),
        ("404", "has no /models endpoint (HTTP 404)"),
        ("403", "needs an API key and none is configured (HTTP 403)"),
    ],
)
def test_an_unusable_answer_is_one_line_provider_error(fault: str, expected: str) -> None:
    with ModelsServer(script=[fault]) as server:
        env = {"OPENAI_BASE_URL": server.url, "DRAFTER_MAX_RETRIES": "0"}
        with pytest.raises(ProviderError) as info:
            list_models(resolve_settings({}, env))
    assert expected in str(info.value) and "\n" not in str(info.value)
    assert info.value.hint and info.value.__cause__ is None
