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

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage
    from pydantic import BaseModel as PydanticModel

    from drafter.chains import Reply

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
                "openai",
                DEFAULT_OPENAI_MODEL,
                base,
                key,
                defaulted=True,
                timeout=timeout,
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


@functools.lru_cache(maxsize=64)
def _json_schema(schema: type[PydanticModel]) -> dict[str, Any]:
    """A pydantic model's JSON schema, titled as OpenAI's ``json_schema.name`` needs."""
    return {"title": schema.__name__, **schema.model_json_schema()}


def build_handle(choice: ModelChoice) -> Any:
    """A :class:`~drafter.chains.ModelHandle` for ``choice`` (imports langchain/openai lazily)."""
    import openai
    from langchain_core.runnables import Runnable
    from langchain_openai import ChatOpenAI
    from pydantic import BaseModel, SecretStr

    from drafter.chains import ModelHandle

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
        kwargs["max_tokens"] = choice.max_tokens  # sent as max_completion_tokens
        if choice.base_url and "api.openai.com" not in choice.base_url:
            # llama.cpp, Ollama and older vLLM only honour the classic field.
            kwargs["extra_body"] = {"max_tokens": choice.max_tokens}
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
            # For json_schema, hand over the JSON schema as a dict: given a pydantic class, the SDK
            # regenerates and re-checks the schema on every request (~8 ms each, most of a batch's
            # CPU). The answer comes back as a dict, which ModelHandle.ask validates with `schema`.
            target: Any = _json_schema(schema) if method == "json_schema" else schema
            runnable = self.chat.with_structured_output(target, method=method, include_raw=True)
            return cast("Runnable[Any, dict[str, Any]]", runnable)

        async def ask(
            self,
            messages: Sequence[BaseMessage],
            schema: type[BaseModel],
            *,
            chain: str = "",
            retry: bool = False,
        ) -> Reply:
            while True:
                try:
                    return await super().ask(messages, schema, chain=chain, retry=retry)
                except ProviderError as exc:
                    unusable = _unusable_answer(exc.__cause__)
                    if unusable is not None:  # the call worked; its answer goes to the schema retry
                        return unusable
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


def _unusable_answer(cause: BaseException | None) -> Reply | None:
    """A failed :class:`Reply` for an answer the SDK could not parse, else ``None``.

    With native structured output the SDK parses the answer itself and raises on JSON that is cut
    off or does not fit the schema, and on ``finish_reason`` ``length``/``content_filter``. Those
    are bad answers, not failed calls: the chain re-asks once with the error, then falls back to
    TODO markers, as it does for every other model.
    """
    import openai
    from pydantic import ValidationError

    from drafter.chains import Reply, Usage

    usage = Usage(calls=1)
    if isinstance(cause, openai.LengthFinishReasonError | openai.ContentFilterFinishReasonError):
        completion = getattr(cause, "completion", None)
        raw = ""
        if completion is not None:
            if completion.usage is not None:
                usage.prompt_tokens = completion.usage.prompt_tokens
                usage.completion_tokens = completion.usage.completion_tokens
            raw = (completion.choices[0].message.content or "") if completion.choices else ""
        why = "length" if isinstance(cause, openai.LengthFinishReasonError) else "content_filter"
        error = f"the answer was cut off (finish_reason: {why}); give a shorter answer"
        return Reply(None, raw, error, usage)
    if isinstance(cause, ValidationError):
        errors = cause.errors()
        value = errors[0].get("input") if errors else None
        raw = value if isinstance(value, str) else ""
        message = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'answer'}: {e['msg']}" for e in errors[:5])
        return Reply(None, raw, " ".join(message.split())[:600], usage)
    return None


# -- OpenAI Batch API (``drafter batch --via openai-batch``) ---------------------------------------
BATCH_ENDPOINT: Literal["/v1/chat/completions"] = "/v1/chat/completions"
BATCH_TEMPERATURE = 0.2  # the same as build_handle's ChatOpenAI
_T = TypeVar("_T")


def chat_request_body(
    choice: ModelChoice, messages: Sequence[BaseMessage], schema: type[PydanticModel]
) -> dict[str, Any]:
    """The chat-completions request one chain would send, as a Batch API input line's ``body``.

    It asks for the same ``json_schema`` structured output as :func:`build_handle` (not strict:
    drafter's schemas leave ``additionalProperties`` open) with the same temperature and limit.
    """
    from langchain_core.messages import convert_to_openai_messages

    body: dict[str, Any] = {
        "model": choice.name,
        "messages": convert_to_openai_messages(list(messages)),
        "temperature": BATCH_TEMPERATURE,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema(), "strict": False},
        },
    }
    if choice.max_tokens:
        body["max_completion_tokens"] = choice.max_tokens
        if choice.base_url and "api.openai.com" not in choice.base_url:
            body["max_tokens"] = choice.max_tokens
    return body


class OpenAIBatches:
    """The Files and Batches calls of ``--via openai-batch``; SDK errors become one-line errors."""

    def __init__(self, choice: ModelChoice) -> None:
        import openai

        self.where = f" at {choice.base_url}" if choice.base_url else ""
        self.client = openai.OpenAI(
            api_key=choice.api_key or "not-needed",
            base_url=choice.base_url,
            timeout=choice.timeout,
            max_retries=choice.max_retries,
        )

    def upload(self, name: str, data: bytes) -> str:
        """Upload a JSONL input file (purpose ``batch``); returns its file id."""
        return self._call(
            "uploading the requests",
            lambda: self.client.files.create(file=(name, data, "application/jsonl"), purpose="batch").id,
        )

    def create(self, file_id: str, metadata: dict[str, str]) -> dict[str, Any]:
        """Create a chat-completions batch over an uploaded file, within the 24 h window."""
        return self._call(
            "creating the batch",
            lambda: self.client.batches.create(
                input_file_id=file_id, endpoint=BATCH_ENDPOINT, completion_window="24h", metadata=metadata
            ).model_dump(),
        )

    def retrieve(self, batch_id: str) -> dict[str, Any]:
        """The batch object: ``status``, ``request_counts``, ``output_file_id``, ``errors``, ..."""
        return self._call(
            f"checking batch {batch_id}", lambda: self.client.batches.retrieve(batch_id).model_dump()
        )

    def content(self, file_id: str) -> str:
        """The text of an output or error file."""
        return self._call(f"downloading file {file_id}", lambda: self.client.files.content(file_id).text)

    def close(self) -> None:
        self.client.close()

    def _call(self, action: str, call: Callable[[], _T]) -> _T:
        import openai

        try:
            return call()
        except openai.AuthenticationError:
            raise ProviderError(
                f"the OpenAI Batch API{self.where} rejected the API key (401) while {action}",
                hint="check OPENAI_API_KEY",
            ) from None
        except openai.APIConnectionError:
            raise ProviderError(
                f"cannot connect to the OpenAI Batch API{self.where} while {action}",
                hint="check OPENAI_BASE_URL and your network; re-run the same command to resume",
            ) from None
        except openai.APIStatusError as exc:
            detail = " ".join(str(exc.message).split())[:200]
            raise ProviderError(
                f"the OpenAI Batch API{self.where} answered HTTP {exc.status_code} while {action}: {detail}",
                hint="re-run the same command to resume",
            ) from None
