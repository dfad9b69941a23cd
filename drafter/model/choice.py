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
from typing import Any
from urllib.parse import urlsplit

from drafter.config import Settings
from drafter.config.redaction import userinfo
from drafter.errors import ConfigError
from drafter.sources.transport import is_loopback, plain_http_host

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
OFFLINE = "offline"
OPENAI_API = "https://api.openai.com/v1"  # where the SDK goes when no base URL is set
# The SDK requires a key; local servers (llama.cpp, Ollama) ignore it, so this stands in for none.
NO_KEY = "not-needed"
# A server on this machine (Ollama, llama.cpp, vLLM on a workstation) generates 27-45 tokens/s and
# serves one request at a time: it may be silent for minutes behind another request.
LOCAL_TIMEOUT = 300.0
REMOTE_TIMEOUT = 120.0
_FORMS = "use 'offline', 'openai:MODEL' or an OpenAI model name such as gpt-4o-mini"


@dataclass(frozen=True)
class ModelChoice:
    """The resolved model: provider, model name, endpoint and whether it was chosen by default.

    ``local``: the endpoint is on this machine (a loopback base URL). Such servers are slow and
    serve one request at a time, so unless the user set them the timeout (an idle timeout: no
    byte for that long) is :data:`LOCAL_TIMEOUT`, and a timed-out call is not retried
    (``retry_timeouts``): the server would still be busy, and a batch defaults to one call at once.
    """

    provider: str
    name: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    defaulted: bool = False
    timeout: float = 120.0
    max_retries: int = 3
    max_tokens: int | None = None
    local: bool = False
    retry_timeouts: bool = True

    @property
    def spec(self) -> str:
        return OFFLINE if self.provider == OFFLINE else f"{self.provider}:{self.name}"


def resolve_model(spec: str | None, env: Mapping[str, str], *, base_url: str | None = None) -> ModelChoice:
    """Resolve ``--model`` against an environment mapping; no network. For library callers:
    the CLI resolves its :class:`~drafter.config.Settings` once and calls :func:`choose_model`.

    With no spec and no ``DRAFTER_MODEL``: ``openai:gpt-4o-mini`` when ``OPENAI_API_KEY`` is set,
    else ``offline`` (flagged ``defaulted`` so the CLI can say so).
    """
    retries = env.get("DRAFTER_MAX_RETRIES")
    if retries is not None and not retries.isdigit():
        raise ConfigError(f"DRAFTER_MAX_RETRIES must be a whole number, got {retries!r}")
    return _choose(
        spec or env.get("DRAFTER_MODEL"),
        key=env.get("OPENAI_API_KEY") or None,
        base=base_url or env.get("OPENAI_BASE_URL") or None,
        max_tokens=_positive_int(env.get("DRAFTER_MAX_TOKENS"), "DRAFTER_MAX_TOKENS"),
        timeout=_positive_int(env.get("DRAFTER_TIMEOUT"), "DRAFTER_TIMEOUT"),
        max_retries=None if retries is None else int(retries),
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
        max_retries=settings.max_retries,
    )


def _choose(
    spec: str | None,
    *,
    key: str | None,
    base: str | None,
    max_tokens: int | None,
    timeout: int | None,
    max_retries: int | None,
) -> ModelChoice:
    if base:
        _check_base_url(base, key)
    local = bool(base) and _is_local(base or "")
    seconds = float(timeout or (LOCAL_TIMEOUT if local else REMOTE_TIMEOUT))
    # A timed-out call is retried unless the server is local and the user did not ask for retries.
    retry_timeouts = not local or max_retries is not None
    retries = 3 if max_retries is None else max_retries
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
                max_retries=retries,
                max_tokens=max_tokens,
                local=local,
                retry_timeouts=retry_timeouts,
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
    return ModelChoice(
        "openai",
        name,
        base,
        key or NO_KEY,
        False,
        seconds,
        retries,
        max_tokens,
        local=local,
        retry_timeouts=retry_timeouts,
    )


def _is_local(base: str) -> bool:
    try:
        return is_loopback(urlsplit(base).hostname or "")
    except ValueError:
        return False


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


def shown_url(url: str) -> str:
    """``url`` without the ``user:password@`` it may carry: safe to print (``drafter models``)."""
    scheme, sep, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme}{sep}{host.rpartition('@')[2]}{slash}{path}" if sep else url


def _positive_int(value: str | None, name: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or int(value) <= 0:
        raise ConfigError(f"{name} must be a positive whole number, got {value!r}")
    return int(value)


# The name of the message that spells out the answer's JSON shape in words (chains.ChainRunner).


def settings_in_effect(settings: Settings) -> dict[str, Any]:
    """``settings.to_dict()`` with every unset value replaced by the one a run would use, and its
    origin saying why (``drafter config``): "-" told a user nothing about what drafter would do.

    Choosing the model imports nothing heavy; a model spec that cannot be used (no key) is shown
    as configured, with the reason as its origin.
    """
    from drafter.config import DEFAULT_OUT_DIR, git_author
    from drafter.errors import DrafterError
    from drafter.template.resources import DEFAULT_TEMPLATE

    data = settings.to_dict()
    entries: dict[str, dict[str, Any]] = data["settings"]
    try:
        choice: ModelChoice | None = choose_model(settings)
    except DrafterError as exc:
        choice = None
        entries["model"]["origin"] += f"; unusable: {exc.message}"
    offline = choice is not None and choice.provider == OFFLINE

    def fill(key: str, value: Any, why: str) -> None:
        if entries[key]["value"] is None:
            entries[key] = {"value": value, "origin": why}

    if choice is not None and entries["model"]["value"] is None:
        why = "OPENAI_API_KEY is set" if choice.provider != OFFLINE else "no OPENAI_API_KEY"
        fill("model", choice.spec, f"default: {why}")
    fill("template", DEFAULT_TEMPLATE, "default")
    fill("base_url", "(not used offline)" if offline else OPENAI_API, "default")
    author = git_author()
    fill("author", author or "TODO(drafter): author", "git config user.name" if author else "default")
    fill("max_tokens", "(the server's own limit)", "default")
    why = "default, seconds" + (", a server on this machine" if choice is not None and choice.local else "")
    fill("timeout", int(choice.timeout) if choice is not None else 120, why)
    fill("max_retries", choice.max_retries if choice is not None else 3, "default")
    fill("out_dir", DEFAULT_OUT_DIR, "default")
    fill("deadline", "none (a draft takes as long as the model needs)", "default")
    return data
