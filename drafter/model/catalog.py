"""``drafter models``: the models an OpenAI-compatible endpoint serves, and what drafter knows of each.

Why it exists: before a run, people ask which names the server takes (Ollama's ``llama3.2:latest``,
a vLLM path, a gateway's aliases), what a model costs, and whether it honours strict structured
output. This module answers from ``GET {base_url}/models`` plus drafter's own knowledge: the
price table (:mod:`drafter.model.pricing`, with the config's ``prices``) and the families OpenAI
documents with strict output. No ``openai`` import here: the request goes through the adapter
(:func:`drafter.model.openai.get_models`), like every call to a model server, so the listing
shares its client, auth header, retries and errors; this module only reads the answer.

The endpoint and key come from the one resolved :class:`~drafter.config.Settings`, checked by
:func:`~drafter.model.choice.choose_model` exactly as for a draft (so a key never goes over plain
http to another machine).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from drafter.config import Settings
from drafter.config.redaction import redact
from drafter.errors import ConfigError, ProviderError
from drafter.model.choice import DEFAULT_OPENAI_MODEL, OPENAI_API, ModelChoice, choose_model, shown_url
from drafter.model.pricing import price_of

# OpenAI's chat families with strict Structured Outputs (``json_schema`` with ``strict: true``), and
# the older ones without it; a dated snapshot or ``-latest`` alias is its family's. Other servers
# and names are unknown: drafter asks for strict output first anyway (openai.request_body) and
# the handle falls back to JSON mode, then to a tool call, at the first refusal.
_DATED = r"(?:-\d{4}-\d{2}-\d{2}|-latest)?"
_STRICT = re.compile(
    r"(?:gpt-4o(?:-mini)?|gpt-4\.1(?:-mini|-nano)?|gpt-5(?:-mini|-nano)?|o1|o3(?:-mini)?|o4-mini)" + _DATED
)
_NOT_STRICT = re.compile(
    r"gpt-3\.5-turbo.*|gpt-4(?:-\d{4}(?:-preview)?|-turbo.*|-32k.*)?|gpt-4o-2024-05-13|o1-(?:mini|preview).*"
)
_CHECK_URL = "check OPENAI_BASE_URL / --base-url: OpenAI-compatible servers answer under /v1"


def is_openai(base_url: str | None) -> bool:
    """Whether ``base_url`` (``None``: the SDK's default) is OpenAI's own API."""
    try:
        return (urlsplit(base_url or OPENAI_API).hostname or "").rstrip(".") == "api.openai.com"
    except ValueError:
        return False


def strict_output(model: str, base_url: str | None) -> bool | None:
    """Whether ``model`` at ``base_url`` honours strict structured output; ``None`` when unknown."""
    if not is_openai(base_url):
        return None
    name = model.lower()
    if _NOT_STRICT.fullmatch(name):
        return False
    return True if _STRICT.fullmatch(name) else None


@dataclass(frozen=True)
class ListedModel:
    """One model the endpoint serves; ``price`` is USD per 1M tokens (input, output), if known."""

    id: str
    owned_by: str | None
    configured: bool
    price: tuple[float, float] | None
    strict_output: bool | None

    def to_dict(self, endpoint: str) -> dict[str, Any]:
        """The stable keys of ``drafter models --format json``."""
        return {
            "id": self.id,
            "owned_by": self.owned_by,
            "configured": self.configured,
            "input_usd_per_1m": self.price[0] if self.price else None,
            "output_usd_per_1m": self.price[1] if self.price else None,
            "strict_output": self.strict_output,
            "endpoint": endpoint,
        }


@dataclass(frozen=True)
class Catalog:
    """The endpoint (without credentials), the configured model's spec and where it came from."""

    endpoint: str
    configured: str
    origin: str
    models: tuple[ListedModel, ...]

    @property
    def configured_is_listed(self) -> bool:
        return any(model.configured for model in self.models)

    def to_list(self) -> list[dict[str, Any]]:
        return [model.to_dict(self.endpoint) for model in self.models]


def list_models(settings: Settings) -> Catalog:
    """The models of the configured endpoint, the configured one marked.

    Raises :class:`ConfigError` before any request when OpenAI's API would be asked without a key
    or a key would go over plain http to another machine; :class:`ProviderError` when the server
    cannot be reached, refuses the key, times out, or answers with something that is not a list
    of models.
    """
    from drafter.model.openai import get_models

    configured = choose_model(settings)  # checks the base URL, and refuses a key over plain http
    server = configured if configured.provider == "openai" else _server_of(settings)
    answer = get_models(server)
    where = f"the model server at {shown_url(server.base_url or OPENAI_API)}"
    entries = _entries(answer, where, server.api_key or "")
    name = configured.name if configured.provider == "openai" else None
    models = tuple(
        ListedModel(
            id=entry["id"],
            owned_by=entry["owned_by"] if isinstance(entry.get("owned_by"), str) else None,
            configured=name is not None and entry["id"] in (name, f"{name}:latest"),
            price=price_of(f"openai:{entry['id']}", settings.prices),
            strict_output=strict_output(entry["id"], server.base_url),
        )
        for entry in sorted(entries, key=lambda entry: str(entry["id"]))
    )
    origin = "default" if configured.defaulted else settings.origin("model")
    return Catalog(shown_url(server.base_url or OPENAI_API), configured.spec, origin, models)


def _server_of(settings: Settings) -> ModelChoice:
    """The endpoint to ask when the configured model is offline: the same URL, key and limits."""
    if not settings.env.get("OPENAI_API_KEY") and not settings.base_url:
        raise ConfigError(
            f"listing the models of {OPENAI_API} needs an API key, and OPENAI_API_KEY is not set",
            hint="set OPENAI_API_KEY, or --base-url / OPENAI_BASE_URL for a local OpenAI-compatible server",
        )
    # Any OpenAI model name does: only the endpoint, key, timeout and retries are used.
    return choose_model(settings, f"openai:{DEFAULT_OPENAI_MODEL}")


def _entries(answer: object, where: str, key: str) -> list[dict[str, Any]]:
    """The model objects in ``answer`` (``{"data": [...]}``, or a bare list); anything else raises."""
    if isinstance(answer, str):  # the adapter hands back the text of a body that is not JSON
        raise ProviderError(f"{where} answered with something that is not JSON", hint=_CHECK_URL)
    if isinstance(answer, dict) and answer.get("error"):
        said = answer["error"].get("message") if isinstance(answer["error"], dict) else answer["error"]
        detail = redact(" ".join(str(said).split()), [key])[:200]
        raise ProviderError(f"{where} answered with an error: {detail}", hint="retry later")
    models = answer.get("data") if isinstance(answer, dict) else answer
    if not isinstance(models, list) or not all(
        isinstance(model, dict) and isinstance(model.get("id"), str) and model["id"].strip()
        for model in models
    ):
        raise ProviderError(f"{where} answered with JSON that is not a list of models", hint=_CHECK_URL)
    return models
