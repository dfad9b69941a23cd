"""One streamed draft against a local-server-speed fake: is wall time the generation time?

A local server (llama.cpp, Ollama) generates about 30 tokens/s, so a draft's time is its output
tokens / 30 plus drafter's own work. This starts a streaming OpenAI-compatible fake on 127.0.0.1
that sends one 4-character token every 1/RATE s, stops at the request's ``max_tokens`` (the
bound drafter sends per chain) with ``finish_reason: "length"``, and answers with
``stub_openai.instance`` (schema-valid, passes the template check). One offline-template draft
(technical-design, three chains: problem -> solution -> risks) runs through
``drafter.pipeline.draft`` with progress reports on, and the table compares its wall time with
sum(bounded outputs) / RATE.

Run: ``python benchmarks/bench_stream.py [--rate 30]``; prints one markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import stub_openai  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CHARS_PER_TOKEN = 4


class Streamer:
    """The fake's counters: tokens sent per request, and the max_tokens each request carried."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.lock = threading.Lock()
        self.sent: list[int] = []
        self.bounds: list[int | None] = []
        self.finishes: list[str] = []


def handler(streamer: Streamer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}
            text = json.dumps(stub_openai.instance(schema, schema.get("$defs", {})))
            pieces = [text[i : i + CHARS_PER_TOKEN] for i in range(0, len(text), CHARS_PER_TOKEN)]
            bound = body.get("max_tokens") or body.get("max_completion_tokens")
            finish = "stop"
            if bound and len(pieces) > bound:
                pieces, finish = pieces[:bound], "length"
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            started = time.perf_counter()
            for index, piece in enumerate(pieces, 1):
                # Paced against the start, so the rate holds whatever each write costs.
                time.sleep(max(0.0, started + index / streamer.rate - time.perf_counter()))
                self._event({"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
            self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
            usage = {
                "prompt_tokens": stub_openai.tokens(json.dumps(body["messages"])),
                "completion_tokens": len(pieces),
            }
            self._event({"choices": [], "usage": usage})
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            with streamer.lock:
                streamer.sent.append(len(pieces))
                streamer.bounds.append(bound)
                streamer.finishes.append(finish)

        def _event(self, payload: dict[str, Any]) -> None:
            self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
            self.wfile.flush()

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=30.0, help="tokens per second")
    args = parser.parse_args()

    from drafter.model.choice import resolve_model
    from drafter.model.openai import build_handle
    from drafter.pipeline import DraftOptions, draft
    from drafter.sources import SourceSettings, load_source
    from drafter.template.outline import load_outline

    streamer = Streamer(args.rate)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(streamer))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        choice = resolve_model("openai:local-30tps", {}, base_url=url)
        handle = build_handle(choice)
        reports: list[tuple[str, int, float]] = []
        handle.on_progress = lambda chain, tokens, seconds: reports.append((chain, tokens, seconds))
        ctx = load_source(str(ROOT / "examples" / "issue-hikaricp-664.json"), SourceSettings())
        started = time.perf_counter()
        result = draft(
            ctx, load_outline("technical-design"), DraftOptions(model=choice, handle=handle, author="bench")
        )
        wall = time.perf_counter() - started
    finally:
        server.shutdown()
        server.server_close()
    tokens = sum(streamer.sent)
    ideal = tokens / args.rate
    first: dict[str, float] = {}
    for chain, _, seconds in reports:
        first.setdefault(chain, seconds)
    worst = sum(b or 0 for b in streamer.bounds) / args.rate
    print("| figure | value |\n| --- | --- |")
    print(f"| calls (chains + re-asks) | {len(streamer.sent)} |")
    print(f"| max_tokens sent per call | {', '.join(str(b) for b in streamer.bounds)} |")
    print(f"| output tokens streamed per call | {', '.join(str(n) for n in streamer.sent)} |")
    print(f"| finish reasons | {', '.join(streamer.finishes)} |")
    print(f"| sum(bounded outputs) / {args.rate:g} tokens/s | {ideal:.2f} s |")
    print(f"| worst case: sum(max_tokens) / {args.rate:g} tokens/s | {worst:.0f} s |")
    print(f"| wall time of the draft | {wall:.2f} s |")
    print(f"| overhead (wall - generation) | {wall - ideal:.2f} s ({(wall / ideal - 1) * 100:.1f} %) |")
    print(
        f"| progress reports | {len(reports)} (first per chain at {', '.join(f'{c} {s:.2f} s' for c, s in first.items())}) |"
    )
    print(f"| draft valid | {result.report.valid()}, fallbacks: {len(result.fallbacks)} |")


if __name__ == "__main__":
    main()
