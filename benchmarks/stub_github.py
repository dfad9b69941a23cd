"""A GitHub-REST-shaped stub for benchmarks: ``count`` issues cycled from the 25 corpus fixtures.

Issue ``n`` (1 <= n <= count) of ``bench/corpus`` is corpus fixture ``(n - 1) % 25`` (sorted by
file name) with its own number, so 200 issues are 200 distinct drafts with eight kinds of thread.
It answers, with no latency of its own:

* ``GET /repos/{owner}/{repo}/issues/{n}`` — the issue object (``html_url`` names
  ``https://github.com/{owner}/{repo}/issues/{n}``, so drafts get distinct file names), with the
  fixture's ``author_association`` and ``state_reason`` as GitHub sends them;
* ``GET /repos/{owner}/{repo}/issues/{n}/comments`` — all comments on one page (no ``Link``), each
  with its ``author_association`` (so drafter sees the thread's maintainers);
* ``GET /stats`` — ``{"requests": N}``.

Point drafter at it with ``GITHUB_API_URL=http://127.0.0.1:PORT`` and the source
``bench/corpus#N``. :func:`reference_text` gives the text the prompt-token reference counts.

Run: ``python benchmarks/stub_github.py --port 8912 --count 200``.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from json_handler import JsonHandler, serve_until_interrupted

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "corpus"
OWNER, REPO = "bench", "corpus"
_ISSUE = re.compile(r"^/repos/([\w.-]+)/([\w.-]+)/issues/(\d+)(/comments)?$")


def load_corpus() -> list[dict[str, Any]]:
    """The corpus fixtures, sorted by file name (the order issue numbers cycle through)."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(CORPUS.glob("*.json"))]


def fixture_for(corpus: list[dict[str, Any]], number: int) -> dict[str, Any]:
    return corpus[(number - 1) % len(corpus)]


def issue_object(data: dict[str, Any], owner: str, repo: str, number: int) -> dict[str, Any]:
    return {
        "number": number,
        "title": data["title"],
        "body": data.get("body") or "",
        "state": data.get("state") or "open",
        "labels": [
            {"name": str(x.get("name", x)) if isinstance(x, dict) else str(x)} for x in data["labels"]
        ],
        "user": data.get("user") or {"login": "someone"},
        "author_association": data.get("author_association") or "NONE",
        "state_reason": data.get("state_reason"),
        "created_at": f"{data.get('created_at', '2024-01-01')}T00:00:00Z",
        "html_url": f"https://github.com/{owner}/{repo}/issues/{number}",
        "comments": len(data.get("comments_list") or []),
    }


def comment_objects(data: dict[str, Any], owner: str, repo: str, number: int) -> list[dict[str, Any]]:
    out = []
    for index, comment in enumerate(data.get("comments_list") or []):
        cid = number * 1000 + index + 1
        stamp = f"{comment.get('created_at', '2024-01-01')}T00:00:00Z"
        out.append(
            {
                "id": cid,
                "user": comment.get("user") or {"login": "someone"},
                "author_association": comment.get("author_association") or "NONE",
                "body": comment.get("body") or "",
                "html_url": f"https://github.com/{owner}/{repo}/issues/{number}#issuecomment-{cid}",
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
    return out


def reference_text(data: dict[str, Any]) -> str:
    """The issue as a reader sees it: title, body and every comment body."""
    comments = [str(c.get("body") or "") for c in data.get("comments_list") or []]
    return "\n".join([data["title"], data.get("body") or "", *comments])


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # 16+ clients connect at once; the default backlog of 5 drops SYNs


def make_handler(
    corpus: list[dict[str, Any]], count: int, counter: list[int]
) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()

    class Handler(JsonHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/stats":
                self._send(200, {"requests": counter[0]})
                return
            with lock:
                counter[0] += 1
            match = _ISSUE.match(path)
            number = int(match.group(3)) if match else 0
            if match is None or not 1 <= number <= count:
                self._send(404, {"message": "Not Found"})
                return
            owner, repo = match.group(1), match.group(2)
            data = fixture_for(corpus, number)
            if match.group(4):
                self._send(200, comment_objects(data, owner, repo, number))
            else:
                self._send(200, issue_object(data, owner, repo, number))

    return Handler


def serve(port: int, count: int) -> ThreadingHTTPServer:
    """Start the stub on 127.0.0.1 in a background thread (port 0 picks a free one).

    Stop it with ``server.shutdown(); server.server_close()``.
    """
    server = _Server(("127.0.0.1", port), make_handler(load_corpus(), count, [0]))
    threading.Thread(target=server.serve_forever, name="stub-github", daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8912)
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    server = serve(args.port, args.count)
    print(f"stub GitHub API on http://127.0.0.1:{server.server_address[1]} ({args.count} issues)", flush=True)
    serve_until_interrupted(server)


if __name__ == "__main__":
    main()
