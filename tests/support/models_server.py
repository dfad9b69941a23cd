"""A fake ``GET /v1/models`` endpoint on 127.0.0.1, for ``drafter models``.

``fault_server`` answers every GET with one fixed model, so listings and their faults get their
own server. It serves ``models`` (ids, as OpenAI, Ollama or vLLM list them) as
``{"object": "list", "data": [...]}``, or takes each answer in order from ``script``:

    ok         the list
    401, 403   an error object, as OpenAI sends it for a bad or missing key / a key without permission
    404        an error object (a base URL without ``/v1``)
    html       a 200 HTML page (a proxy's), not JSON
    badjson    a 200 labelled ``application/json`` whose body does not parse
    shape      a 200 JSON object without a ``data`` list
    error200   a 200 JSON error object, as some gateways send
    timeout    a 504 marked ``X-Fault: timeout``: ``httpx2.ReadTimeout`` under
               :func:`tests.support.fault_server.client_side_timeouts` (no clock involved)

With ``echo_auth`` every answer quotes the request's ``Authorization`` header (in the model ids,
the error messages and the HTML page): a hostile or careless server. ``seen_headers`` keeps the
headers of every request.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.fault_server import TIMEOUT_HEADER
from tests.support.replies import send, send_json

OPENAI_LIKE = ("gpt-4o-mini", "gpt-3.5-turbo", "text-embedding-3-small", "llama3.2:latest")


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up is expected here; say nothing."""


class ModelsServer:
    """Start as a context manager; ``url`` is the ``/v1`` base URL."""

    def __init__(
        self, models: Iterable[str] = OPENAI_LIKE, *, script: Iterable[str] = (), echo_auth: bool = False
    ) -> None:
        self.models = list(models)
        self.script = list(script)
        self.echo_auth = echo_auth
        self.lock = threading.Lock()
        self.paths: list[str] = []
        self.seen_headers: list[dict[str, str]] = []
        self.httpd = _QuietServer(("127.0.0.1", 0), self._handler())
        # A short poll: shutdown() waits for it, once per test.
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> ModelsServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def _send(
                self, status: int, kind: str, body: bytes, headers: dict[str, str] | None = None
            ) -> None:
                send(self, status, body, kind, headers)

            def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                send_json(self, status, payload, headers)

            def do_GET(self) -> None:
                with server.lock:
                    server.paths.append(self.path)
                    server.seen_headers.append({k.lower(): v for k, v in self.headers.items()})
                    kind = server.script.pop(0) if server.script else "ok"
                said = f" (sent with {self.headers.get('Authorization', '')})" if server.echo_auth else ""
                if self.path.rstrip("/") != "/v1/models":
                    kind = "404"
                error = {"error": {"message": f"injected {kind}{said}", "type": "invalid_request_error"}}
                if kind in ("401", "403", "404"):
                    self._json(int(kind), error)
                elif kind == "timeout":
                    self._json(504, error, {TIMEOUT_HEADER: "timeout"})
                elif kind == "html":
                    self._send(200, "text/html", f"<html><body>Bad gateway{said}</body></html>".encode())
                elif kind == "badjson":
                    self._send(200, "application/json", b'{"data": [ oops')
                elif kind == "shape":
                    self._json(200, {"object": "list", "models": "none here"})
                elif kind == "error200":
                    self._json(200, error)
                else:
                    data = [
                        {"id": f"{name}{said}", "object": "model", "created": 0, "owned_by": "library"}
                        for name in server.models
                    ]
                    self._json(200, {"object": "list", "data": data})

        return Handler
