"""The OpenAI-compatible adapter: the only module that imports ``openai``.

Which model a run uses is decided in :mod:`drafter.model.choice`; this module calls it.
Structured output uses OpenAI's strict ``json_schema`` response format and falls back to JSON
mode, then to function calling, on servers that reject it (llama-cpp-python, older vLLM). Answers
are streamed (:mod:`drafter.model.stream`), with a non-streamed fallback for servers that refuse
to stream. 429/5xx and connection errors are retried with backoff honouring ``Retry-After``; errors
become one-line :class:`~drafter.errors.ProviderError` messages that never contain the key.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage
    from pydantic import BaseModel as PydanticModel

    from drafter.model.handle import ModelHandle, Reply

from drafter.errors import ConfigError, DrafterError, ProviderError
from drafter.model.choice import NO_KEY, OPENAI_API, ModelChoice, shown_url
from drafter.model.stream import (
    Accumulator,
    BadResponse,
    StreamHooks,
    Throttle,
    chat_completion,
    names_stream,
    plain_completion,
    retrying,
)

ANSWER_SHAPE = "answer_shape"
Method = Literal["json_schema", "json_mode", "function_calling"]
METHODS: tuple[Method, ...] = ("json_schema", "json_mode", "function_calling")
TEMPERATURE = 0.2
CONNECT_SECONDS = 10.0  # a server that does not accept a connection in 10 s is not coming


@functools.lru_cache(maxsize=64)
def strict_schema(schema: type[PydanticModel]) -> dict[str, Any]:
    """``schema``'s JSON schema in the form OpenAI's strict structured output accepts, compactly.

    Strict mode guarantees an answer that fits, but only for schemas where every object closes
    ``additionalProperties`` and requires all of its properties. The schema is sent (and billed)
    with every call, so it is also made small: every ``$ref`` is inlined (drafter's answer models
    are a fixed-depth tree, so nothing is defined twice) and pydantic's ``title`` on every node
    is dropped. Cached: a batch sends the same few schemas hundreds of times.
    """
    document = schema.model_json_schema()
    definitions: dict[str, Any] = document.pop("$defs", {})

    def fix(node: Any, depth: int = 0) -> Any:
        if depth > 32:
            raise ConfigError(f"the answer schema {schema.__name__} is recursive")
        if isinstance(node, list):
            return [fix(item, depth + 1) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = definitions[ref.removeprefix("#/$defs/")]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        out = {
            key: fix(value, depth + 1)
            for key, value in node.items()
            if not (key == "title" and isinstance(value, str))
        }
        if out.get("type") == "object" and "properties" in out:
            out["additionalProperties"] = False
            out["required"] = list(out["properties"])
        return out

    fixed: dict[str, Any] = fix(document)
    return fixed


_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


def request_body(
    choice: ModelChoice,
    messages: Sequence[BaseMessage],
    schema: type[PydanticModel],
    method: Method = "json_schema",
    max_tokens: int | None = None,
) -> dict[str, Any]:
    """The chat-completions request body of one structured question.

    ``json_schema`` is native strict structured output; ``json_mode`` (for servers without it)
    only asks for a JSON object, which the prompt's answer shape describes; ``function_calling``
    forces one tool call whose parameters are the schema. Used for live calls and for the lines
    of an OpenAI Batch API input file, so both send the same request.
    """
    body: dict[str, Any] = {
        "model": choice.name,
        "messages": [
            {"role": _ROLES.get(message.type, "user"), "content": str(message.content)}
            for message in messages_for(messages, method)
        ],
    }
    if fixed_temperature(choice.name) is None:
        body["temperature"] = TEMPERATURE
    name = schema.__name__
    if method == "json_schema":
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": strict_schema(schema), "strict": True},
        }
    elif method == "json_mode":
        body["response_format"] = {"type": "json_object"}
    else:
        body["tools"] = [
            {"type": "function", "function": {"name": name, "parameters": strict_schema(schema)}}
        ]
        body["tool_choice"] = {"type": "function", "function": {"name": name}}
    # A configured limit (DRAFTER_MAX_TOKENS, config max_tokens) wins over the call's own bound.
    limit = choice.max_tokens or max_tokens
    if limit:
        body["max_completion_tokens"] = limit
        if choice.base_url and "api.openai.com" not in choice.base_url:
            # llama.cpp, Ollama and older vLLM only honour the classic field.
            body["max_tokens"] = limit
    return body


def fixed_temperature(model: str) -> float | None:
    """The only temperature ``model`` accepts, or ``None`` when it takes any.

    OpenAI's reasoning models (o1, o3, o4-mini, gpt-5 except its ``-chat`` variants) answer 400
    to any temperature but their default, so drafter leaves the field out for them.
    """
    name = model.rsplit("/", 1)[-1].lower()
    reasoning = name.startswith(("o1", "o3", "o4")) or (name.startswith("gpt-5") and "chat" not in name)
    return 1.0 if reasoning else None


def messages_for(messages: Sequence[BaseMessage], method: Method) -> list[BaseMessage]:
    """``messages`` without the answer-shape message when the schema itself is sent.

    Native structured output and tool calls carry the schema in the request (and the model is
    billed for it there), so repeating its shape in the prompt only pays for it twice. JSON mode
    sends no schema: the model learns the keys from that message.
    """
    if method == "json_mode":
        return list(messages)
    return [message for message in messages if getattr(message, "name", None) != ANSWER_SHAPE]


def answer_of(completion: Mapping[str, Any], schema: type[PydanticModel]) -> Reply:
    """The :class:`Reply` in one chat completion (a live response or a Batch API output line).

    An answer that is cut off (``finish_reason`` ``length``), filtered, refused, or does not fit
    the schema is a bad answer, not a failed call: the chain re-asks once with the error, then
    falls back to TODO markers.
    """
    from drafter.model.handle import Reply, Usage, reply_from_text

    counted = completion.get("usage") or {}
    usage = Usage(
        prompt_tokens=int(counted.get("prompt_tokens") or 0),
        completion_tokens=int(counted.get("completion_tokens") or 0),
        calls=1,
    )
    choices = completion.get("choices") or [{}]
    message = choices[0].get("message") or {}
    text = message.get("content") or ""
    calls = message.get("tool_calls") or []
    if calls:  # a forced tool call is the answer, whatever text a server sends along with it
        text = (calls[0].get("function") or {}).get("arguments") or text
    reason = choices[0].get("finish_reason")
    if reason in ("length", "content_filter"):
        error = f"the answer was cut off (finish_reason: {reason}); give a shorter answer"
        return Reply(None, text, error, usage, truncated=reason == "length")
    if message.get("refusal"):
        return Reply(
            None, text, "the model refused: " + " ".join(str(message["refusal"]).split())[:300], usage
        )
    if not text.strip():
        return Reply(None, text, "the answer was empty or not a JSON object", usage)
    return reply_from_text(text, schema, usage)


def build_handle(choice: ModelChoice, hooks: StreamHooks | None = None) -> ModelHandle:
    """A :class:`~drafter.model.handle.ModelHandle` that calls an OpenAI-compatible server (lazy imports).

    ``hooks``: the clock and sleep of the streamed path (tests pass their own; see StreamHooks).
    """
    import asyncio
    import json

    import httpx2
    import openai

    from drafter.config.redaction import redact
    from drafter.model.handle import LoopLocal, ModelHandle

    world = hooks or StreamHooks()
    # Errors with which servers reject a response_format they do not support: 400 or 422, or a
    # 500 that names the field (llama-cpp-python's validation error). The next method is tried,
    # and remembered. Any other 500 is the server failing, not refusing the format.
    format_rejections = (openai.BadRequestError, openai.UnprocessableEntityError, openai.InternalServerError)

    def refuses_format(exc: openai.APIStatusError) -> bool:
        if not isinstance(exc, openai.InternalServerError):
            return True
        text = f"{exc.message} {exc.body}".lower()
        return any(word in text for word in ("response_format", "json_schema", "tool_choice", "tools"))

    def retried(exc: Exception) -> tuple[bool, str | None] | None:
        """The SDK's rule (connection errors, 408, 409, 429, 5xx), but not for a refused ``stream``."""
        if isinstance(exc, openai.APIConnectionError):
            return isinstance(exc, openai.APITimeoutError), None
        if not isinstance(exc, openai.APIStatusError) or names_stream(f"{exc.message} {exc.body}"):
            return None
        if exc.status_code in (408, 409, 429) or exc.status_code >= 500:
            return False, exc.response.headers.get("retry-after")
        return None

    class OpenAIHandle(ModelHandle):
        """Native structured output through the SDK, falling back to JSON mode, then tool calls.

        The SDK is called directly rather than through langchain's chat model: a batch makes
        hundreds of calls on one event loop, and langchain's runnable and callback machinery cost
        about three times the SDK's own CPU per call, which delayed every call queued behind it.
        Answers are streamed, with an idle timeout, closed early when abandoned and retried
        only after a backoff (:mod:`drafter.model.stream` says why); ``streams`` remembers a
        server that will not stream, as ``method_index`` remembers a refused response format.
        """

        def __init__(self) -> None:
            super().__init__(None, choice.spec)
            self.method_index = 0
            self.streams = True  # False once the server refused to stream or ignored the request
            self.stream_usage = True  # False once it refused stream_options
            # One client, so one connection pool, per event loop.
            self._clients = LoopLocal(
                lambda: openai.AsyncOpenAI(
                    api_key=choice.api_key or NO_KEY,
                    base_url=choice.base_url,
                    timeout=openai.Timeout(choice.timeout, connect=min(choice.timeout, CONNECT_SECONDS)),
                    max_retries=0,
                )
            )

        async def complete(
            self, messages: Sequence[BaseMessage], schema: type[PydanticModel], max_tokens: int | None = None
        ) -> Reply:
            while True:
                tried, streamed = self.method_index, self.streams
                body = request_body(choice, messages, schema, METHODS[tried], max_tokens)
                try:
                    completion = await retrying(
                        functools.partial(self._once, body, streamed), retried, choice, world
                    )
                except format_rejections as exc:
                    named = names_stream(f"{exc.message} {exc.body}") if streamed else None
                    if named == "stream_options" and self.stream_usage:
                        self.stream_usage = False
                        continue
                    if named is not None:
                        self.streams = False
                        continue
                    if tried + 1 >= len(METHODS) or not refuses_format(exc):
                        raise
                    # Concurrent calls may be rejected together: each moves past the method it
                    # tried, never past one another call has not tried yet.
                    self.method_index = max(self.method_index, tried + 1)
                    continue
                return answer_of(completion, schema)

        async def _once(self, body: dict[str, Any], streamed: bool) -> dict[str, Any]:
            client = self._clients.get()
            if not streamed:
                # The SDK's generic POST keeps its error types but skips re-validating the body
                # against its typed parameters (about 2 ms of CPU per call), as the stream does.
                try:
                    answer: object = await client.post("/chat/completions", body=body, cast_to=object)
                except json.JSONDecodeError:  # a JSON content type with a body that does not parse
                    raise BadResponse("answered with something that is not JSON") from None
                return chat_completion(answer)
            body = {**body, "stream": True}
            if self.stream_usage:
                body["stream_options"] = {"include_usage": True}
            stream = await client.post(
                "/chat/completions",
                body=body,
                cast_to=object,
                stream=True,
                stream_cls=openai.AsyncStream[object],
            )
            response = stream.response
            try:
                if "text/event-stream" not in response.headers.get("content-type", ""):
                    # It ignored ``stream``: its one JSON completion is used, and remembered.
                    completion = plain_completion(await _read(response))
                    self.streams = False
                    return completion
                chunks = Accumulator(Throttle(self.progress if self.on_progress else None, world.clock))
                async for chunk in stream:
                    chunks.add(chunk)
                return chunks.completion()
            finally:
                # Closing before the end closes the connection: the server stops generating.
                await asyncio.shield(response.aclose())

        async def aclose(self) -> None:
            client = self._clients.take()
            if client is not None:
                await client.close()

        def sent_messages(self, messages: Sequence[BaseMessage]) -> Sequence[BaseMessage]:
            return messages_for(messages, METHODS[self.method_index])

        def translate(self, exc: Exception) -> DrafterError:
            where = f" at {choice.base_url}" if choice.base_url else ""
            if isinstance(exc, openai.AuthenticationError):
                return ProviderError(
                    f"the model server{where} rejected the API key (401)", hint="check OPENAI_API_KEY"
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
            if isinstance(exc, openai.APITimeoutError):  # on a stream: no byte for that long
                quiet = f"the model server{where} timed out: it sent nothing for {choice.timeout:g} s"
                return ProviderError(
                    quiet, hint="a busy local server? lower --concurrency, or raise DRAFTER_TIMEOUT"
                )
            if isinstance(exc, openai.APIConnectionError):
                return ProviderError(
                    f"cannot connect to the model server{where}",
                    hint="check OPENAI_BASE_URL and your network, or use --model offline",
                )
            if isinstance(exc, openai.APIStatusError) and exc.status_code < 500:
                # Not retried: the request itself was refused; the server's reason is the fix.
                said = exc.body.get("message") if isinstance(exc.body, dict) else None
                detail = redact(" ".join(str(said or exc.message).split()), [choice.api_key or ""])[:200]
                return ProviderError(
                    f"the model server{where} refused the request (HTTP {exc.status_code}): {detail}",
                    hint="check --model and DRAFTER_MAX_TOKENS against what the server supports",
                )
            if isinstance(exc, openai.APIStatusError):
                return ProviderError(
                    f"the model server{where} answered HTTP {exc.status_code} after retries",
                    hint="retry later or check the server's logs",
                )
            if isinstance(exc, BadResponse):
                return ProviderError(f"the model server{where} {exc}", hint="check OPENAI_BASE_URL")
            if isinstance(exc, openai.APIError):  # an error event in the middle of a stream
                detail = redact(" ".join(exc.message.split()), [choice.api_key or ""])[:200]
                return ProviderError(
                    f"the model server{where} failed mid-answer: {detail}", hint="retry later"
                )
            return super().translate(exc)

    async def _read(response: httpx2.Response) -> bytes:
        """The whole body of a response that is not a stream; transport errors as the SDK's."""
        try:
            return await response.aread()
        except httpx2.TimeoutException as exc:
            raise openai.APITimeoutError(request=response.request) from exc
        except httpx2.TransportError as exc:
            raise openai.APIConnectionError(request=response.request) from exc

    return OpenAIHandle()


# -- OpenAI Batch API (``drafter batch --via openai-batch``) ---------------------------------------
BATCH_ENDPOINT: Literal["/v1/chat/completions"] = "/v1/chat/completions"
_T = TypeVar("_T")


class OpenAIBatches:
    """The Files and Batches calls of ``--via openai-batch``; SDK errors become one-line errors."""

    def __init__(self, choice: ModelChoice) -> None:
        import openai

        self.where = f" at {choice.base_url}" if choice.base_url else ""
        self.client = openai.OpenAI(
            api_key=choice.api_key or NO_KEY,
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


# -- The models an endpoint serves (``drafter models``; drafter.model.catalog reads the answer) ----
def get_models(choice: ModelChoice) -> object:
    """The answer of ``GET {base_url}/models``: parsed JSON, or the text of a body that is not JSON.

    Through the SDK's generic GET, like the chat calls: the same auth header, timeout, retries and
    error types. Failures are one-line :class:`ProviderError` messages without the key, even when
    the server quotes it (no SDK exception is chained: its body may hold the key).
    """
    import json

    import openai

    from drafter.config.redaction import redact

    endpoint = choice.base_url or OPENAI_API
    where = f"the model server at {shown_url(endpoint)}"
    client = openai.OpenAI(
        api_key=choice.api_key or NO_KEY,
        base_url=endpoint,
        timeout=choice.timeout,
        max_retries=choice.max_retries,
    )
    try:
        return client.get("/models", cast_to=object)
    except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
        if choice.api_key in (None, NO_KEY):
            problem, hint = "needs an API key and none is configured", "set OPENAI_API_KEY"
        else:
            problem, hint = "rejected the API key", "check OPENAI_API_KEY and its permission to list models"
        error = ProviderError(f"{where} {problem} (HTTP {exc.status_code})", hint=hint)
    except openai.NotFoundError:
        error = ProviderError(
            f"{where} has no /models endpoint (HTTP 404)",
            hint="check OPENAI_BASE_URL / --base-url: OpenAI-compatible servers answer under /v1",
        )
    except openai.APITimeoutError:
        error = ProviderError(
            f"{where} timed out after retries", hint="check that it is up, or raise DRAFTER_TIMEOUT"
        )
    except openai.APIConnectionError:
        error = ProviderError(
            f"cannot connect to {where}",
            hint="check that it is running, OPENAI_BASE_URL / --base-url and your network",
        )
    except openai.APIStatusError as exc:
        said = exc.body.get("message") if isinstance(exc.body, dict) else None
        detail = redact(" ".join(str(said or exc.message).split()), [choice.api_key or ""])[:200]
        error = ProviderError(f"{where} answered HTTP {exc.status_code}: {detail}", hint="retry later")
    except json.JSONDecodeError:  # a JSON content type with a body that does not parse
        return ""
    finally:
        client.close()
    raise error
