"""An OpenAI-compatible chat-completions stub for benchmarks: fixed latency, schema-valid answers.

It answers ``POST /v1/chat/completions`` after ``--latency`` seconds with content that is valid for
whatever it was asked:

* ``response_format`` ``json_schema``: an instance generated from the schema (objects, arrays,
  strings, numbers, enums, ``$ref``/``anyOf``). Strings are a sentence of plain prose, arrays have
  two items, and a property named ``sources`` is ``["issue"]``, so drafter's answers pass its
  schema *and* its template check and no re-ask is triggered (a draft costs one call per chain).
* a forced tool call (``tools``): arguments generated the same way from the tool's parameters.
* ``response_format`` ``json_object``: the literal ``{}``. JSON mode sends no schema, so the stub
  cannot know the caller's fields; ``{}`` is valid JSON, which the caller can parse, but it will
  usually fail the caller's own schema (drafter then re-asks once and falls back to TODO
  markers). drafter only uses JSON mode when a server rejects ``json_schema``, which this stub
  never does.
* anything else: the text ``{}``.

It counts calls and tokens (characters of all message contents / 4, the same estimate the
benchmark uses for its reference) and serves them at ``GET /stats``; ``POST /reset`` zeroes them.

Run: ``python benchmarks/stub_openai.py --port 8911 --latency 0.5``. Threads serve requests, so
concurrent clients overlap their latency exactly as they would against a real server.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from json_handler import JsonHandler, serve_until_interrupted


def tokens(text: str) -> int:
    """The rough token estimate used on both sides of the benchmark's ratio."""
    return max(1, len(text) // 4)


def instance(schema: dict[str, Any], defs: dict[str, Any], depth: int = 0, name: str = "") -> Any:
    """A small value valid for ``schema`` (objects, arrays, strings, numbers, refs, anyOf)."""
    if depth > 12:  # a recursive schema: stop (bounded output whatever the schema)
        return None
    if "$ref" in schema:
        return instance(defs[schema["$ref"].split("/")[-1]], defs, depth + 1, name)
    if "anyOf" in schema:
        return instance(schema["anyOf"][0], defs, depth + 1, name)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {key: instance(sub, defs, depth + 1, key) for key, sub in props.items()}
    if kind == "array":
        if name == "sources":
            return ["issue"]
        count = max(2, int(schema.get("minItems", 0)))
        return [instance(schema.get("items", {}), defs, depth + 1, name) for _ in range(count)]
    if kind in ("integer", "number"):
        return max(1, int(schema.get("minimum", 1)))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    title = str(schema.get("title") or name or "value").lower()
    return f"Stub {title} text that stays within the inputs."


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls = 0
        self.prompt_tokens = 0
        self.schema_tokens = 0  # of prompt_tokens: the response_format schema or tool definitions
        self.completion_tokens = 0
        self.in_flight = 0
        self.max_in_flight = 0

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return {
                "calls": self.calls,
                "prompt_tokens": self.prompt_tokens,
                "schema_tokens": self.schema_tokens,
                "completion_tokens": self.completion_tokens,
                "max_in_flight": self.max_in_flight,
            }


def make_handler(latency: float, stats: Stats) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def do_GET(self) -> None:
            if self.path == "/stats":
                self._send(200, stats.snapshot())
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            request = json.loads(self.rfile.read(length) or b"{}")
            if self.path == "/reset":
                with stats.lock:
                    stats.calls = stats.prompt_tokens = stats.completion_tokens = stats.max_in_flight = 0
                    stats.schema_tokens = 0
                self._send(200, {"ok": True})
                return
            if not self.path.endswith("/chat/completions"):
                self._send(404, {"error": {"message": "not found"}})
                return
            with stats.lock:
                stats.in_flight += 1
                stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
            try:
                time.sleep(latency)
                self._send(200, self._answer(request))
            finally:
                with stats.lock:
                    stats.in_flight -= 1

        def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
            prompt = "".join(str(m.get("content", "")) for m in request.get("messages", []))
            # The schema or tool definitions are prompt input too (OpenAI bills them as such).
            fmt_sent = (request.get("response_format") or {}).get("json_schema")
            schema_text = json.dumps(fmt_sent, separators=(",", ":")) if fmt_sent else ""
            if request.get("tools"):
                schema_text += json.dumps(request["tools"], separators=(",", ":"))
            message: dict[str, Any] = {"role": "assistant", "content": "{}"}
            finish = "stop"
            fmt = request.get("response_format") or {}
            if fmt.get("type") == "json_schema":
                schema = fmt["json_schema"]["schema"]
                message["content"] = json.dumps(instance(schema, schema.get("$defs", {})))
            elif fmt.get("type") == "json_object":
                message["content"] = "{}"  # no schema was sent: see the module docstring
            elif request.get("tools"):
                function = request["tools"][0]["function"]
                params = function.get("parameters", {})
                args = json.dumps(instance(params, params.get("$defs", {})))
                message = {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": function["name"], "arguments": args},
                        }
                    ],
                }
                finish = "tool_calls"
            out_text = message["content"] or json.dumps(message.get("tool_calls"))
            schema_tokens = tokens(schema_text) if schema_text else 0
            usage = {"prompt_tokens": tokens(prompt) + schema_tokens, "completion_tokens": tokens(out_text)}
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            with stats.lock:
                stats.calls += 1
                stats.prompt_tokens += usage["prompt_tokens"]
                stats.schema_tokens += schema_tokens
                stats.completion_tokens += usage["completion_tokens"]
            return {
                "id": f"chatcmpl-stub-{stats.calls}",
                "object": "chat.completion",
                "created": 0,
                "model": request.get("model", "stub"),
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": usage,
            }

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # 16+ clients connect at once; the default backlog of 5 drops SYNs


def serve(port: int, latency: float) -> tuple[ThreadingHTTPServer, Stats]:
    """Start the stub on 127.0.0.1 in a background thread (port 0 picks a free one).

    Returns the server (stop it with ``shutdown()`` then ``server_close()``) and its stats.
    """
    stats = Stats()
    server = _Server(("127.0.0.1", port), make_handler(latency, stats))
    threading.Thread(target=server.serve_forever, name="stub-openai", daemon=True).start()
    return server, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8911)
    parser.add_argument("--latency", type=float, default=0.5)
    args = parser.parse_args()
    server, _ = serve(args.port, args.latency)
    port = server.server_address[1]
    print(f"stub OpenAI server on http://127.0.0.1:{port}/v1 (latency {args.latency}s)", flush=True)
    serve_until_interrupted(server)


if __name__ == "__main__":
    main()
