"""How the test servers answer: a status, a body of some kind, and its length; one way for all."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    kind: str | None = "application/json",
    headers: dict[str, str] | None = None,
) -> None:
    """Answer ``status`` with ``body``; ``kind`` None when ``headers`` carry the Content-Type."""
    handler.send_response(status)
    if kind is not None:
        handler.send_header("Content-Type", kind)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def send_json(
    handler: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict[str, str] | None = None
) -> None:
    """Answer ``status`` with ``payload`` as JSON."""
    send(handler, status, json.dumps(payload).encode("utf-8"), "application/json", headers)
