"""Which model a run uses, decided once from its settings; no network, no ``openai`` import.

``--model`` (or ``DRAFTER_MODEL``) names the model:

* ``offline`` — the deterministic drafter, no network (the default when nothing is configured);
* ``openai:NAME`` or a bare ``NAME`` such as ``gpt-4o-mini`` — OpenAI, or any OpenAI-compatible
  server (Ollama, vLLM, llama.cpp, a gateway) when ``OPENAI_BASE_URL``/``--base-url`` is set.

The CLI resolves its :class:`~drafter.config.Settings` once and calls :func:`choose_model`;
:func:`resolve_model` serves library callers who hold an environment mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from drafter.config import Settings
from drafter.config.redaction import userinfo
from drafter.errors import ConfigError
from drafter.sources.transport import plain_http_host

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
OFFLINE = "offline"
_FORMS = "use 'offline', 'openai:MODEL' or an OpenAI model name such as gpt-4o-mini"


@dataclass(frozen=True)
class ModelChoice:
    """The resolved model: provider, model name, endpoint and whether it was chosen by default."""

    provider: str
    name: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    defaulted: bool = False
    timeout: float = 120.0
    max_retries: int = 3
    max_tokens: int | None = None

    @property
    def spec(self) -> str:
        return OFFLINE if self.provider == OFFLINE else f"{self.provider}:{self.name}"


def resolve_model(spec: str | None, env: Mapping[str, str], *, base_url: str | None = None) -> ModelChoice:
    """Resolve ``--model`` against an environment mapping; no network. For library callers:
    the CLI resolves its :class:`~drafter.config.Settings` once and calls :func:`choose_model`.

    With no spec and no ``DRAFTER_MODEL``: ``openai:gpt-4o-mini`` when ``OPENAI_API_KEY`` is set,
    else ``offline`` (flagged ``defaulted`` so the CLI can say so).
    """
    retries = env.get("DRAFTER_MAX_RETRIES", "3")
    if not retries.isdigit():
        raise ConfigError(f"DRAFTER_MAX_RETRIES must be a whole number, got {retries!r}")
    return _choose(
        spec or env.get("DRAFTER_MODEL"),
        key=env.get("OPENAI_API_KEY") or None,
        base=base_url or env.get("OPENAI_BASE_URL") or None,
        max_tokens=_positive_int(env.get("DRAFTER_MAX_TOKENS"), "DRAFTER_MAX_TOKENS"),
        timeout=_positive_int(env.get("DRAFTER_TIMEOUT"), "DRAFTER_TIMEOUT"),
        max_retries=int(retries),
    )


def choose_model(settings: Settings, spec: str | None = None) -> ModelChoice:
    """The model of a run from its resolved settings (``spec``, e.g. one of eval's ``--model``s,
    overrides the configured model)."""
    return _choose(
        spec or settings.model,
        key=settings.env.get("OPENAI_API_KEY") or None,
        base=settings.base_url,
        max_tokens=settings.max_tokens,
        timeout=settings.timeout,
        max_retries=3 if settings.max_retries is None else settings.max_retries,
    )


def _choose(
    spec: str | None,
    *,
    key: str | None,
    base: str | None,
    max_tokens: int | None,
    timeout: int | None,
    max_retries: int,
) -> ModelChoice:
    seconds = float(timeout or 120)
    if base:
        _check_base_url(base, key)
    spec = (spec or "").strip()
    if not spec:
        if key:
            return ModelChoice(
                "openai",
                DEFAULT_OPENAI_MODEL,
                base,
                key,
                defaulted=True,
                timeout=seconds,
                max_retries=max_retries,
                max_tokens=max_tokens,
            )
        return ModelChoice(OFFLINE, OFFLINE, defaulted=True)
    if spec == OFFLINE:
        return ModelChoice(OFFLINE, OFFLINE)
    provider, sep, name = spec.partition(":")
    if not sep:
        provider, name = "openai", spec
    if provider != "openai":
        raise ConfigError(f"unknown model provider '{provider}' in --model {spec}", hint=_FORMS)
    if not name or any(ch.isspace() for ch in name) or len(name) > 200:
        raise ConfigError(f"invalid model name in --model {spec!r}", hint=_FORMS)
    if not key and not base:
        raise ConfigError(
            f"model {spec} needs an API key",
            hint="set OPENAI_API_KEY, or OPENAI_BASE_URL for a local OpenAI-compatible server, or use --model offline",
        )
    # Local servers (llama.cpp, Ollama) ignore the key but the SDK requires one.
    return ModelChoice("openai", name, base, key or "not-needed", False, seconds, max_retries, max_tokens)


def _check_base_url(base: str, key: str | None) -> None:
    """An http(s) URL, and plain http only to this machine when a credential would go with it."""
    if not base.lower().startswith(("http://", "https://")):
        raise ConfigError(
            "OPENAI_BASE_URL / --base-url must be an http(s) URL", hint="for example https://host/v1"
        )
    host = plain_http_host(base)
    if host and (key or userinfo(base)):
        what = "OPENAI_API_KEY" if key else "the credentials in OPENAI_BASE_URL"
        raise ConfigError(
            f"refusing to send {what} to {host} over plain http",
            hint="use an https:// URL (plain http is for servers on localhost), or unset OPENAI_API_KEY "
            "for a server that needs no key",
        )


def _positive_int(value: str | None, name: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or int(value) <= 0:
        raise ConfigError(f"{name} must be a positive whole number, got {value!r}")
    return int(value)


# The name of the message that spells out the answer's JSON shape in words (chains.ChainRunner).
