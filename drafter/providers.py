"""Model providers: the only module that imports ``openai`` and ``langchain_openai``.

``--model`` (or ``DRAFTER_MODEL``) names the model:

* ``offline`` — the deterministic drafter, no network (the default when nothing is configured);
* ``openai:NAME`` or a bare ``NAME`` such as ``gpt-4o-mini`` — OpenAI, or any OpenAI-compatible
  server (Ollama, vLLM, llama.cpp, a gateway) when ``OPENAI_BASE_URL``/``--base-url`` is set.

Structured output uses OpenAI's ``json_schema`` response format and falls back to JSON mode, then
to function calling, on servers that reject it (llama-cpp-python, older vLLM). The SDK retries
429/5xx with backoff and honours ``Retry-After``; its errors become one-line
:class:`~drafter.errors.ProviderError` messages that never contain the key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

from drafter.errors import ConfigError, DrafterError, ProviderError

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
    """Resolve ``--model`` against the environment; no network.

    With no spec and no ``DRAFTER_MODEL``: ``openai:gpt-4o-mini`` when ``OPENAI_API_KEY`` is set,
    else ``offline`` (flagged ``defaulted`` so the CLI can say so).
    """
    base = base_url or env.get("OPENAI_BASE_URL") or None
    max_tokens = _positive_int(env.get("DRAFTER_MAX_TOKENS"), "DRAFTER_MAX_TOKENS")
    retries = env.get("DRAFTER_MAX_RETRIES", "3")
    if not retries.isdigit():
        raise ConfigError(f"DRAFTER_MAX_RETRIES must be a whole number, got {retries!r}")
    max_retries = int(retries)
    timeout = float(_positive_int(env.get("DRAFTER_TIMEOUT"), "DRAFTER_TIMEOUT") or 120)
    key = env.get("OPENAI_API_KEY") or None
    spec = (spec or env.get("DRAFTER_MODEL") or "").strip()
    if not spec:
        if key:
            return ModelChoice(
                "openai", DEFAULT_OPENAI_MODEL, base, key, defaulted=True, max_tokens=max_tokens
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
    if base and not base.startswith(("http://", "https://")):
        raise ConfigError(f"OPENAI_BASE_URL / --base-url must be an http(s) URL, got {base!r}")
    # Local servers (llama.cpp, Ollama) ignore the key but the SDK requires one.
    return ModelChoice("openai", name, base, key or "not-needed", False, timeout, max_retries, max_tokens)


def _positive_int(value: str | None, name: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or int(value) <= 0:
        raise ConfigError(f"{name} must be a positive whole number, got {value!r}")
    return int(value)


def build_handle(choice: ModelChoice) -> Any:
    """A :class:`~drafter.chains.ModelHandle` for ``choice`` (imports langchain/openai lazily)."""
    import openai
    from langchain_core.runnables import Runnable
    from langchain_openai import ChatOpenAI
    from pydantic import BaseModel, SecretStr

    from drafter.chains import ModelHandle, Reply

    kwargs: dict[str, Any] = {
        "model": choice.name,
        "api_key": SecretStr(choice.api_key or ""),
        "timeout": choice.timeout,
        "max_retries": choice.max_retries,
        "temperature": 0.2,
    }
    if choice.base_url:
        kwargs["base_url"] = choice.base_url
    if choice.max_tokens:
        kwargs["max_tokens"] = choice.max_tokens
    chat = ChatOpenAI(**kwargs)

    # Errors with which servers reject a response_format they do not support (llama-cpp-python
    # answers 500 to json_schema, others 400 or 422); the next method is tried, and remembered.
    format_rejections = (openai.BadRequestError, openai.UnprocessableEntityError, openai.InternalServerError)

    class OpenAIHandle(ModelHandle):
        """Native structured output, falling back to JSON mode, then function calling."""

        methods: tuple[Literal["json_schema", "json_mode", "function_calling"], ...] = (
            "json_schema",
            "json_mode",
            "function_calling",
        )
        method_index = 0

        def structured(self, schema: type[BaseModel]) -> Runnable[Any, dict[str, Any]]:
            method = self.methods[self.method_index]
            runnable = self.chat.with_structured_output(schema, method=method, include_raw=True)
            return cast("Runnable[Any, dict[str, Any]]", runnable)

        async def ask(self, messages: Sequence[BaseMessage], schema: type[BaseModel]) -> Reply:
            while True:
                try:
                    return await super().ask(messages, schema)
                except ProviderError as exc:
                    last = self.method_index + 1 >= len(self.methods)
                    if last or not isinstance(exc.__cause__, format_rejections):
                        raise
                    self.method_index += 1

        def translate(self, exc: Exception) -> DrafterError:
            where = f" at {choice.base_url}" if choice.base_url else ""
            if isinstance(exc, openai.AuthenticationError):
                return ProviderError(
                    f"the model server{where} rejected the API key (401)",
                    hint="check OPENAI_API_KEY",
                )
            if isinstance(exc, openai.NotFoundError):
                return ProviderError(
                    f"model '{choice.name}' not found{where}", hint="check --model / DRAFTER_MODEL"
                )
            if isinstance(exc, openai.RateLimitError):
                return ProviderError(
                    f"rate limited by the model server{where} after retries (429)",
                    hint="wait and retry, or lower --concurrency",
                )
            if isinstance(exc, openai.APITimeoutError):
                return ProviderError(f"the model server{where} timed out after retries", hint="retry later")
            if isinstance(exc, openai.APIConnectionError):
                return ProviderError(
                    f"cannot connect to the model server{where}",
                    hint="check OPENAI_BASE_URL and your network, or use --model offline",
                )
            if isinstance(exc, openai.APIStatusError):
                return ProviderError(
                    f"the model server{where} answered HTTP {exc.status_code} after retries",
                    hint="retry later or check the server's logs",
                )
            return super().translate(exc)

    return OpenAIHandle(chat, choice.spec)
