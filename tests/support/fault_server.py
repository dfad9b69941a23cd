"""An OpenAI-compatible chat server on 127.0.0.1 that answers correctly or injects faults.

Used by ``tests/hardening/test_hardening_*.py`` through the real SDK path (``--model openai:NAME``
with ``OPENAI_BASE_URL`` pointing here). A good answer is a schema-valid JSON object built from the
request's ``response_format`` (or tool) schema. Faults are picked by a seeded RNG with probability
``rate``, or taken in order from ``script``:

    429        HTTP 429 with ``Retry-After: 0`` or ``1``
    500, 503   HTTP 5xx with an error body
    reset      the socket is closed with RST, no response at all
    cut_body   a 200 whose body stops halfway (Content-Length promises more)
    slow       the right answer, after ``slow_seconds`` (beyond a short ``DRAFTER_TIMEOUT``)
    timeout    a 504 marked ``X-Fault: timeout``, which the client turns into ``httpx2.ReadTimeout``
               once a test calls :func:`client_side_timeouts`: the SDK's timeout path, with no clock
    truncated  a 200 whose message content is half of the JSON answer
    schema     a 200 whose content is JSON that violates the schema
    length     like ``truncated`` but with ``finish_reason: "length"``
    refusal    a 200 with ``message.refusal`` set and no content
    redirect   a 307 to ``redirect_to`` (another origin)
    html       a 200 whose body is an HTML page (a proxy's error page), not a chat completion
    badjson    a 200 labelled ``application/json`` whose body does not parse
    error200   a 200 whose JSON body is an error object, as some gateways send
    echo       a good answer whose every string quotes the request's ``Authorization`` header
    echo_error200  a 200 error object that quotes the ``Authorization`` header
    echo_html  a 502 HTML error page (a proxy's) that quotes the ``Authorization`` header

``keyed`` draws each request's fault from the request itself (its body, and how many times that
body was sent before: the SDK resends the same body on a retry), not from the order in which
concurrent requests arrive. The same requests then meet the same faults on every run, on a fast
machine or a loaded one, whatever the thread timing.

Faults that depend on a clock race (``slow`` against a short timeout) change with the load on the
machine. Tests that must not use ``timeout`` with :func:`client_side_timeouts` and
:data:`STEADY_FAULTS` instead, and a generous ``DRAFTER_TIMEOUT`` as a hang guard only.

``unsupported`` lists structured-output methods the server rejects with HTTP 400, as servers
without them do: ``json_schema``, ``json_object`` (response_format types) and ``tools``.
``methods`` records the method of every request, in order.

Every request's headers are kept in ``seen_headers`` so tests can check what was sent where.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.replies import send, send_json

FAULTS = ("429", "500", "503", "reset", "cut_body", "slow", "truncated", "schema", "length", "refusal")
TRANSPORT_FAULTS = ("429", "500", "503", "reset", "cut_body", "slow")
CONTENT_FAULTS = ("truncated", "schema", "length", "refusal")
# FAULTS with the wall-clock ``slow`` replaced by the injected ``timeout`` (see client_side_timeouts).
STEADY_FAULTS = tuple("timeout" if kind == "slow" else kind for kind in FAULTS)
TIMEOUT_HEADER = "X-Fault"


def client_side_timeouts(monkeypatch: Any) -> None:
    """Make every response marked ``X-Fault: timeout`` a ``httpx2.ReadTimeout`` in this process.

    The client raises it where a real read timeout is raised (the transport), so the OpenAI SDK
    retries it and reports ``APITimeoutError`` exactly as it would after ``DRAFTER_TIMEOUT`` s
    of silence; but which call times out is the server's script or draw, never the machine's speed.
    """
    import httpx2

    def marked(response: Any) -> bool:
        return bool(response.headers.get(TIMEOUT_HEADER) == "timeout")

    send_async = httpx2.AsyncHTTPTransport.handle_async_request
    send = httpx2.HTTPTransport.handle_request

    async def handle_async_request(self: Any, request: Any) -> Any:
        response = await send_async(self, request)
        if marked(response):
            await response.aclose()
            raise httpx2.ReadTimeout("injected by the fault server", request=request)
        return response

    def handle_request(self: Any, request: Any) -> Any:
        response = send(self, request)
        if marked(response):
            response.close()
            raise httpx2.ReadTimeout("injected by the fault server", request=request)
        return response

    monkeypatch.setattr(httpx2.AsyncHTTPTransport, "handle_async_request", handle_async_request)
    monkeypatch.setattr(httpx2.HTTPTransport, "handle_request", handle_request)


def _instance(schema: dict[str, Any], defs: dict[str, Any], name: str = "") -> Any:
    """A value that satisfies ``schema`` and reads like a plausible (reference-free) section."""
    if "$ref" in schema:
        return _instance(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, name)
    for key in ("anyOf", "allOf", "oneOf"):
        if key in schema:
            return _instance(schema[key][0], defs, name)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {key: _instance(value, defs, key) for key, value in props.items()}
    if kind == "array":
        if name == "sources":
            return ["issue"]
        count = 2
        match = re.search(r"the (\d+) code blocks", schema.get("description", ""))
        if name == "blocks":
            count = int(match.group(1)) if match else 1
            return ["[Client] --(request)--> [Pool]" for _ in range(count)]
        if name == "rows":
            count = 1
        return [_instance(schema.get("items", {}), defs, f"{name}-{i}") for i in range(count)]
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return True
    label = schema.get("description") or name or "value"
    return f"Drafted {label.lower()[:40]} for the connection pool handles."


def _quoting(value: Any, said: str) -> Any:
    """``value`` with ``said`` appended to every string in it."""
    if isinstance(value, str):
        return f"{value} {said}"
    if isinstance(value, dict):
        return {key: _quoting(item, said) for key, item in value.items()}
    if isinstance(value, list):
        return [_quoting(item, said) for item in value]
    return value


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout, reset) is expected here; say nothing."""


class FaultServer:
    """Start with :meth:`start` (or as a context manager); ``url`` is the ``/v1`` base URL."""

    def __init__(
        self,
        *,
        rate: float = 0.0,
        seed: int = 0,
        faults: Iterable[str] = FAULTS,
        script: Iterable[str] = (),
        slow_seconds: float = 2.0,
        redirect_to: str = "",
        echo_auth: bool = False,
        unsupported: Iterable[str] = (),
        keep_alive: bool = False,
        keyed: bool = False,
    ) -> None:
        self.keep_alive = keep_alive
        self.keyed = keyed
        self.seed = seed
        self.sent: Counter[str] = Counter()
        self.unsupported = frozenset(unsupported)
        self.methods: list[str] = []
        self.rate = rate
        self.rng = random.Random(seed)
        self.faults = tuple(faults)
        self.script = list(script)
        self.slow_seconds = slow_seconds
        self.redirect_to = redirect_to
        self.echo_auth = echo_auth
        self.lock = threading.Lock()
        self.calls = 0
        self.counts: Counter[str] = Counter()
        self.seen_headers: list[dict[str, str]] = []
        self.httpd = _QuietServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def start(self) -> FaultServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def faulted(self) -> int:
        return sum(n for kind, n in self.counts.items() if kind != "ok")

    def _pick(self) -> str:
        with self.lock:
            self.calls += 1
            if self.script:
                kind = self.script.pop(0)
            elif self.faults and self.rng.random() < self.rate:
                kind = self.rng.choice(self.faults)
            else:
                kind = "ok"
            self.counts[kind] += 1
            return kind

    def _pick_for(self, body: bytes) -> str:
        """Like :meth:`_pick`, but the draw depends on the request, not on when it arrived."""
        key = hashlib.sha256(body).hexdigest()
        with self.lock:
            self.calls += 1
            self.sent[key] += 1
            if self.script:
                kind = self.script.pop(0)
            else:
                draw = random.Random(f"{self.seed}:{key}:{self.sent[key]}")
                kind = draw.choice(self.faults) if self.faults and draw.random() < self.rate else "ok"
            self.counts[kind] += 1
            return kind

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            # By default one request per connection, so no pooled connection outlives the event
            # loop of the draft that opened it; ``keep_alive`` tests exactly that case.
            protocol_version = "HTTP/1.1" if server.keep_alive else "HTTP/1.0"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                send_json(self, status, payload, headers)

            def _bytes(
                self, status: int, kind: str, body: bytes, headers: dict[str, str] | None = None
            ) -> None:
                send(self, status, body, kind, headers)

            def do_GET(self) -> None:
                self._json(200, {"object": "list", "data": [{"id": "fault", "object": "model"}]})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                request = json.loads(raw or b"{}")
                method = (
                    "tools"
                    if request.get("tools")
                    else (request.get("response_format") or {}).get("type", "")
                )
                with server.lock:
                    server.seen_headers.append({k.lower(): v for k, v in self.headers.items()})
                    server.methods.append(method)
                if method in server.unsupported:
                    message = f"response_format {method} is not supported by this server"
                    self._json(400, {"error": {"message": message, "type": "invalid_request_error"}})
                    return
                # Keyed on the question, not on how it is transported: whether a request asks to
                # stream depends on whether an earlier answer (in flight at the same time) already
                # turned streaming off, so "stream" would make the draw depend on timing.
                question = {k: v for k, v in request.items() if k not in ("stream", "stream_options")}
                key_body = json.dumps(question, sort_keys=True).encode()
                kind = server._pick_for(key_body) if server.keyed else server._pick()
                try:
                    self._fault(kind, request)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def _fault(self, kind: str, request: dict[str, Any]) -> None:
                error = {"error": {"message": f"injected {kind}", "type": "server_error"}}
                if server.echo_auth:  # a hostile server that reflects credentials into its error
                    error["error"]["message"] += " " + self.headers.get("Authorization", "")
                if kind == "429":
                    wait = str(server.rng.choice((0, 1)))
                    self._json(429, error, {"Retry-After": wait})
                elif kind in ("500", "503"):
                    self._json(int(kind), error)
                elif kind == "401":
                    self._json(401, error)
                elif kind == "timeout":
                    self._json(504, error, {TIMEOUT_HEADER: "timeout"})
                elif kind == "redirect":
                    self.send_response(307)
                    self.send_header("Location", server.redirect_to + self.path.removeprefix("/v1"))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif kind == "badjson":
                    self._bytes(200, "application/json", b'{"choices": [ oops')
                elif kind == "error200":
                    self._json(
                        200, {"error": {"message": "upstream model overloaded", "type": "server_error"}}
                    )
                elif kind == "html":
                    self._bytes(200, "text/html", b"<html><body>Bad gateway</body></html>")
                elif kind == "echo_error200":
                    said = f"upstream rejected Authorization: {self.headers.get('Authorization', '')}"
                    self._json(200, {"error": {"message": said, "type": "server_error"}})
                elif kind == "echo_html":
                    page = f"<html><body><h1>502</h1><pre>{self.headers.as_string()}</pre></body></html>"
                    self._bytes(502, "text/html", page.encode())
                elif kind == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                elif kind == "cut_body":
                    body = json.dumps(self._completion(request, "ok")).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                else:
                    if kind == "slow":
                        time.sleep(server.slow_seconds)
                    self._json(200, self._completion(request, kind))

            def _completion(self, request: dict[str, Any], kind: str) -> dict[str, Any]:
                answer, tool = self._answer(request)
                if kind == "echo":
                    answer = _quoting(answer, f"(sent with {self.headers.get('Authorization', '')})")
                text = json.dumps(answer)
                finish = "stop"
                message: dict[str, Any] = {"role": "assistant", "content": text}
                if kind == "truncated":
                    message["content"] = text[: len(text) // 2]
                elif kind == "length":
                    message["content"] = text[: len(text) // 2]
                    finish = "length"
                elif kind == "schema":
                    message["content"] = json.dumps({"unexpected": ["not", "the", "schema"]})
                elif kind == "refusal":
                    message = {"role": "assistant", "content": None, "refusal": "I can't help with that."}
                elif tool:
                    message = {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": tool, "arguments": text},
                            }
                        ],
                    }
                    finish = "tool_calls"
                return {
                    "id": "chatcmpl-fault",
                    "object": "chat.completion",
                    "created": 0,
                    "model": str(request.get("model", "fault")),
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
                }

            def _answer(self, request: dict[str, Any]) -> tuple[Any, str]:
                fmt = request.get("response_format") or {}
                if fmt.get("type") == "json_schema":
                    schema = fmt["json_schema"]["schema"]
                    return _instance(schema, schema.get("$defs", {})), ""
                tools = request.get("tools") or []
                if tools:
                    function = tools[0]["function"]
                    schema = function.get("parameters", {})
                    return _instance(schema, schema.get("$defs", {})), str(function["name"])
                return {"text": "plain answer"}, ""

        return Handler
