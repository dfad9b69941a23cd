"""An OpenAI Batch API look-alike on 127.0.0.1:8767, for recording ``cassettes/openai_batch/``.

It implements what ``drafter batch --via openai-batch`` calls:

* ``POST /v1/files`` (multipart upload, purpose ``batch``) and ``GET /v1/files/{id}/content``;
* ``POST /v1/batches`` and ``GET /v1/batches/{id}``: a batch reports ``validating``, then
  ``in_progress``, and is ``completed`` on the third retrieve. Its output file answers every
  request with JSON valid for the request's ``response_format`` schema (strings are plain prose,
  arrays have two items, a ``sources`` array is ``["issue"]``), so drafts pass the template check.

Failure switches, triggered by text in a request's messages: ``BATCH-FAIL`` makes the whole batch
``failed`` with a validation error (no output file); ``REQUEST-FAIL`` makes that one request a
400 in the error file while the others are answered.

The tests start it in-process while recording (``--record-mode=once``); to run it alone::

    python -m tests.support.batch_api_server

Ids count from 1 per server, and timestamps are fixed, so a recording is reproducible.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.replies import send, send_json

HOST, PORT = "127.0.0.1", 8767
URL = f"http://{HOST}:{PORT}/v1"
CREATED = 1_700_000_000
POLLS_TO_COMPLETE = 3


def fake_value(schema: dict[str, Any], defs: dict[str, Any], name: str = "", depth: int = 0) -> Any:
    """A small value that fits ``schema`` (objects, arrays, strings, numbers, ``$ref``, ``anyOf``)."""
    if depth > 10:
        return None
    if "$ref" in schema:
        return fake_value(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, name, depth + 1)
    if "anyOf" in schema:
        return fake_value(schema["anyOf"][0], defs, name, depth + 1)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "string")
    if kind == "object":
        props = schema.get("properties", {})
        return {key: fake_value(sub, defs, key, depth + 1) for key, sub in props.items()}
    if kind == "array":
        if name == "sources":
            return ["issue"]
        return [fake_value(schema.get("items", {}), defs, name, depth + 1) for _ in range(2)]
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return True
    title = str(schema.get("title") or name or "value").lower()
    return f"The {title} as the issue states it, within what the inputs say."


def _answer(line: dict[str, Any], number: int) -> dict[str, Any]:
    body = line["body"]
    fmt = body.get("response_format") or {}
    schema = (fmt.get("json_schema") or {}).get("schema") or {}
    content = json.dumps(fake_value(schema, schema.get("$defs", {})))
    prompt = sum(len(str(m.get("content", ""))) for m in body.get("messages", [])) // 4
    request_id = f"req_{number}"
    if "REQUEST-FAIL" in json.dumps(body.get("messages", [])):
        error = {"message": "the fixture rejects this request", "type": "invalid_request_error"}
        return {
            "id": f"batch_req_{number}",
            "custom_id": line["custom_id"],
            "response": {"status_code": 400, "request_id": request_id, "body": {"error": error}},
            "error": None,
        }
    completion = {
        "id": f"chatcmpl-{number}",
        "object": "chat.completion",
        "created": CREATED,
        "model": body.get("model"),
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": len(content) // 4,
            "total_tokens": prompt + len(content) // 4,
        },
    }
    return {
        "id": f"batch_req_{number}",
        "custom_id": line["custom_id"],
        "response": {"status_code": 200, "request_id": request_id, "body": completion},
        "error": None,
    }


class Store:
    """Files and batches of one server run."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.files: dict[str, tuple[str, bytes, str]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.polls: dict[str, int] = {}
        self.count = 0

    def next_id(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def add_file(self, name: str, data: bytes, purpose: str = "batch") -> dict[str, Any]:
        file_id = self.next_id("file-")
        self.files[file_id] = (name, data, purpose)
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(data),
            "created_at": CREATED,
            "filename": name,
            "purpose": purpose,
            "status": "processed",
        }

    def add_batch(self, request: dict[str, Any]) -> dict[str, Any]:
        batch_id = self.next_id("batch_")
        lines = [json.loads(raw) for raw in self.files[request["input_file_id"]][1].splitlines() if raw]
        self.batches[batch_id] = {
            "id": batch_id,
            "object": "batch",
            "endpoint": request["endpoint"],
            "errors": None,
            "input_file_id": request["input_file_id"],
            "completion_window": request["completion_window"],
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": CREATED,
            "in_progress_at": None,
            "expires_at": CREATED + 86_400,
            "completed_at": None,
            "failed_at": None,
            "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
            "metadata": request.get("metadata"),
        }
        self.polls[batch_id] = 0
        return dict(self.batches[batch_id])

    def poll(self, batch_id: str) -> dict[str, Any]:
        batch = self.batches[batch_id]
        self.polls[batch_id] += 1
        if batch["status"] in ("completed", "failed"):
            return dict(batch)
        if self.polls[batch_id] < POLLS_TO_COMPLETE:
            batch["status"] = "validating" if self.polls[batch_id] == 1 else "in_progress"
            batch["in_progress_at"] = CREATED + 1 if batch["status"] == "in_progress" else None
            return dict(batch)
        raw = self.files[batch["input_file_id"]][1]
        lines = [json.loads(text) for text in raw.splitlines() if text]
        failing = [
            n for n, line in enumerate(lines, 1) if "BATCH-FAIL" in json.dumps(line["body"]["messages"])
        ]
        if failing:
            message = "the fixture refuses batches that contain BATCH-FAIL"
            batch["status"] = "failed"
            batch["failed_at"] = CREATED + 2
            batch["errors"] = {
                "object": "list",
                "data": [{"code": "invalid_request", "message": message, "param": None, "line": failing[0]}],
            }
            return dict(batch)
        answers = [_answer(line, n) for n, line in enumerate(lines, 1)]
        good = [a for a in answers if a["response"]["status_code"] == 200]
        bad = [a for a in answers if a["response"]["status_code"] != 200]
        if good:
            data = "".join(json.dumps(a) + "\n" for a in good).encode("utf-8")
            batch["output_file_id"] = self.add_file(f"{batch_id}_output.jsonl", data, "batch_output")["id"]
        if bad:
            data = "".join(json.dumps(a) + "\n" for a in bad).encode("utf-8")
            batch["error_file_id"] = self.add_file(f"{batch_id}_error.jsonl", data, "batch_output")["id"]
        batch["status"] = "completed"
        batch["completed_at"] = CREATED + 3
        batch["request_counts"] = {"total": len(lines), "completed": len(good), "failed": len(bad)}
        return dict(batch)


def _multipart_file(content_type: str, body: bytes) -> tuple[str, bytes]:
    """The (filename, content) of the ``file`` part of a multipart/form-data body."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        raise ValueError("no multipart boundary")
    for part in body.split(b"--" + match.group(1).encode()):
        head, sep, data = part.partition(b"\r\n\r\n")
        if sep and b'name="file"' in head:
            name = re.search(rb'filename="([^"]*)"', head)
            return (name.group(1).decode() if name else "upload.jsonl"), data.removesuffix(b"\r\n")
    raise ValueError("no file part")


def make_handler(store: Store) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            sys.stderr.write(f"batch-fixture: {self.command} {self.path}\n")

        def send(self, status: int, payload: Any, raw: bytes | None = None) -> None:
            if raw is not None:
                send(self, status, raw, "application/octet-stream")
            else:
                send_json(self, status, payload)

        def not_found(self) -> None:
            self.send(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})

        def do_POST(self) -> None:  # noqa: N802 - stdlib name
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with store.lock:
                if self.path == "/v1/files":
                    name, data = _multipart_file(self.headers.get("Content-Type", ""), body)
                    self.send(200, store.add_file(name, data))
                elif self.path == "/v1/batches":
                    self.send(200, store.add_batch(json.loads(body)))
                else:
                    self.not_found()

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            parts = self.path.split("?", 1)[0].strip("/").split("/")
            with store.lock:
                if parts[:2] == ["v1", "batches"] and len(parts) == 3 and parts[2] in store.batches:
                    self.send(200, store.poll(parts[2]))
                elif parts[:2] == ["v1", "files"] and parts[3:] == ["content"] and parts[2] in store.files:
                    self.send(200, None, raw=store.files[parts[2]][1])
                else:
                    self.not_found()

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(port: int = PORT) -> ThreadingHTTPServer:
    """Start the fixture in a background thread; stop it with ``shutdown()`` and ``server_close()``."""
    server = _Server((HOST, port), make_handler(Store()))
    threading.Thread(target=server.serve_forever, name="batch-fixture", daemon=True).start()
    return server


if __name__ == "__main__":
    fixture = serve()
    print(f"OpenAI Batch API fixture on {URL}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fixture.shutdown()
        fixture.server_close()
