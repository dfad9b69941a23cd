"""A streaming OpenAI-compatible chat server on 127.0.0.1, for the model layer's streamed path.

Each request takes the next plan of ``script`` (then ``"stream"``):

    stream   a good answer (built from the request's schema), streamed as SSE chunks of
             ``chunk_chars`` characters, usage in a last chunk when ``stream_options`` asks
    nousage  like ``stream``, but no usage at all (llama.cpp without ``include_usage``)
    gated    like ``stream``, but after ``gate_after`` chunks it waits for ``gate`` (a
             threading.Event the test sets, e.g. from a progress report): chunk by chunk, driven
             by the test, never by a sleep
    runon    ignores ``max_tokens``: ``runon_chunks`` chunks of an answer that never closes, then
             ``finish_reason: "length"``
    stall    two chunks, then the line :data:`STALL_MARK` (an SSE comment, ignored by decoders),
             then silence until the client closes the connection. :func:`injected_idle_timeouts`
             turns the mark into ``httpx2.ReadTimeout`` in the client's transport, where a real
             read timeout is raised after ``DRAFTER_TIMEOUT`` s of silence: no clock involved
    hold     two chunks, sets ``held``, then silence until the client closes (cancellation tests)
    refuse   HTTP 400 ``stream is not supported`` to a request that asks to stream
    refuse_options  HTTP 400 naming ``stream_options`` to a request that sends it
    plain    one plain JSON chat completion, whatever the request asked (a server ignoring stream)

Disconnects are recorded: a silent plan waits on the socket until the client closes it (a read
returns end of file), as llama-cpp-python notices a client gone and stops generating; the
request number goes to ``disconnects`` and ``events``, and ``disconnected`` is set.
``events`` is the order of ("request", n) and ("disconnect", n) as the server saw them.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.fault_server import _instance
from tests.support.replies import send_json

STALL_MARK = b": drafter-test-stall"
HANG_GUARD = 30.0  # seconds a silent plan waits for the client's close before giving up


class StreamServer:
    def __init__(
        self,
        script: list[str] | None = None,
        *,
        chunk_chars: int = 4,
        gate_after: int = 3,
        runon_chunks: int = 12,
    ) -> None:
        self.script = list(script or [])
        self.chunk_chars = chunk_chars
        self.gate_after = gate_after
        self.runon_chunks = runon_chunks
        self.gate = threading.Event()
        self.held = threading.Event()
        self.disconnected = threading.Event()
        self.bodies: list[dict[str, Any]] = []
        self.plans: list[str] = []
        self.disconnects: list[int] = []
        self.events: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    number = len(server.bodies) + 1
                    server.bodies.append(body)
                    plan = server.script.pop(0) if server.script else "stream"
                    server.plans.append(plan)
                    server.events.append(("request", number))
                server._answer(self, body, plan, number)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def calls(self) -> int:
        return len(self.bodies)

    def __enter__(self) -> StreamServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.gate.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    # -- answers -----------------------------------------------------------------------------------
    def _answer(self, handler: BaseHTTPRequestHandler, body: dict[str, Any], plan: str, number: int) -> None:
        streamed = bool(body.get("stream"))
        if plan == "refuse" and streamed:
            return _json(handler, 400, {"error": {"message": "stream is not supported", "type": "invalid"}})
        if plan == "refuse_options" and "stream_options" in body:
            message = "unrecognized request argument: stream_options"
            return _json(handler, 400, {"error": {"message": message, "type": "invalid"}})
        text, tool = _answer_text(body)
        if plan == "plain" or not streamed:
            return _json(handler, 200, _completion(text, tool))
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Connection", "close")
        handler.end_headers()
        if plan == "runon":
            pieces = [text[i : i + self.chunk_chars] for i in range(0, len(text), self.chunk_chars)]
            cut = pieces[: min(self.runon_chunks, max(1, len(pieces) - 1))]
            self._send_chunks(handler, cut, tool, "length", body)
            return None
        pieces = [text[i : i + self.chunk_chars] for i in range(0, len(text), self.chunk_chars)]
        if plan in ("stall", "hold"):
            self._send_chunks(handler, pieces[:2], tool, None, body, done=False)
            if plan == "stall":
                _write(handler, STALL_MARK + b"\n\n")
            else:
                self.held.set()
            self._await_close(handler, number)
            return None
        total = len(pieces)
        if plan == "gated":
            self._send_chunks(handler, pieces[: self.gate_after], tool, None, body, done=False)
            self.gate.wait(HANG_GUARD)
            pieces = pieces[self.gate_after :]
        self._send_chunks(handler, pieces, tool, "stop", body, usage=plan != "nousage", total=total)
        return None

    def _send_chunks(
        self,
        handler: BaseHTTPRequestHandler,
        pieces: list[str],
        tool: str | None,
        finish: str | None,
        body: dict[str, Any],
        *,
        done: bool = True,
        usage: bool = True,
        total: int | None = None,
    ) -> None:
        for index, piece in enumerate(pieces):
            if tool is not None:
                call: dict[str, Any] = {"index": 0, "function": {"arguments": piece}}
                if index == 0:
                    call.update(id="call_1", type="function", function={"name": tool, "arguments": piece})
                delta: dict[str, Any] = {"tool_calls": [call]}
            else:
                delta = {"content": piece}
            _event(handler, {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        if not done:
            return
        _event(handler, {"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if usage and (body.get("stream_options") or {}).get("include_usage"):
            tokens = len(pieces) if total is None else total
            counted = {"prompt_tokens": 50, "completion_tokens": tokens, "total_tokens": 50 + tokens}
            _event(handler, {"choices": [], "usage": counted})
        _write(handler, b"data: [DONE]\n\n")

    def _await_close(self, handler: BaseHTTPRequestHandler, number: int) -> None:
        """Wait until the client closes the connection (a read returns b""), then record it."""
        connection: socket.socket = handler.connection
        connection.settimeout(HANG_GUARD)
        try:
            while connection.recv(1024):
                pass
        except OSError:  # reset by the peer is a close too; the hang guard is not
            pass
        with self._lock:
            self.disconnects.append(number)
            self.events.append(("disconnect", number))
        self.disconnected.set()
        handler.close_connection = True


def _answer_text(body: dict[str, Any]) -> tuple[str, str | None]:
    """The answer's JSON text, and the tool's name when the request forces a tool call."""
    tools = body.get("tools")
    if tools:
        function = tools[0]["function"]
        return json.dumps(_instance(function["parameters"], {})), str(function["name"])
    schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}
    return json.dumps(_instance(schema, {})), None


def _completion(text: str, tool: str | None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool is not None:
        message = {"role": "assistant", "content": None, "tool_calls": [_call(tool, text)]}
    return {
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 25},
    }


def _call(tool: str, arguments: str) -> dict[str, Any]:
    return {"id": "call_1", "type": "function", "function": {"name": tool, "arguments": arguments}}


def _json(handler: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
    send_json(handler, status, payload)


def _event(handler: BaseHTTPRequestHandler, payload: dict[str, Any]) -> None:
    _write(handler, b"data: " + json.dumps(payload).encode() + b"\n\n")


def _write(handler: BaseHTTPRequestHandler, data: bytes) -> None:
    try:
        handler.wfile.write(data)
        handler.wfile.flush()
    except OSError:  # the client went away; the plan ends
        pass


def injected_idle_timeouts(monkeypatch: Any) -> None:
    """Make :data:`STALL_MARK` in a response body an ``httpx2.ReadTimeout`` in this process.

    Raised where a real read timeout is (the transport's byte stream, mid-body), so the SDK and
    drafter handle it exactly as ``DRAFTER_TIMEOUT`` s of silence; but when it happens is the
    fake's script, never the clock.
    """
    import httpx2

    class Stalling(httpx2.AsyncByteStream):
        def __init__(self, inner: Any, request: Any) -> None:
            self.inner, self.request = inner, request

        async def __aiter__(self) -> Any:
            async for part in self.inner:
                if STALL_MARK in part:
                    head = part.split(STALL_MARK)[0]
                    if head:
                        yield head
                    raise httpx2.ReadTimeout("injected: the stream server went silent", request=self.request)
                yield part

        async def aclose(self) -> None:
            await self.inner.aclose()

    send = httpx2.AsyncHTTPTransport.handle_async_request

    async def handle_async_request(self: Any, request: Any) -> Any:
        response = await send(self, request)
        response.stream = Stalling(response.stream, request)
        return response

    monkeypatch.setattr(httpx2.AsyncHTTPTransport, "handle_async_request", handle_async_request)
