"""A GitHub look-alike on 127.0.0.1:8766 whose issue gains a comment after the first fetch.

Used to record ``cassettes/review/`` for the drift tests: the first fetch of the comments sees
one comment, every later fetch sees a second, new one (and an edited first one on ``acme/edited``).
Record with::

    python -m tests.support.review_server &
    python -m pytest tests/revise/test_status.py --record-mode=once

Restart the server before re-recording (the answers depend on how often a path was asked).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.replies import send

HOST, PORT = "127.0.0.1", 8766
BODY = (
    "The export job times out on large accounts.\n\n"
    "Goals: exports finish within 10 minutes for accounts with 1M rows."
)
FIRST = "I think the timeout comes from the single database cursor; batching would help."
EDITED = FIRST + " Edit: batching alone is not enough, we also need an index."
SECOND = "Rollback plan: keep the old exporter behind a flag so we can switch back within minutes."


class Handler(BaseHTTPRequestHandler):
    seen: Counter[str] = Counter()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        sys.stderr.write(f"review-fixture: {self.command} {self.path}\n")

    def send(self, status: int, payload: Any) -> None:
        send(self, status, json.dumps(payload).encode("utf-8"), "application/json; charset=utf-8")

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        path = self.path.split("?", 1)[0]
        self.seen[path] += 1
        parts = path.split("/")  # ['', 'github', 'repos', owner, repo, 'issues', n, ('comments')]
        if len(parts) < 7 or parts[1:3] != ["github", "repos"] or parts[5] != "issues":
            self.send(404, {"message": "Not Found"})
            return
        slug, number = f"{parts[3]}/{parts[4]}", int(parts[6])
        url = f"https://github.com/{slug}/issues/{number}"
        if parts[7:] == ["comments"]:
            later = self.seen[path] > 1
            comments = [
                {
                    "id": 101,
                    "user": {"login": "bob"},
                    "body": EDITED if later and slug == "acme/edited" else FIRST,
                    "created_at": "2024-01-02T10:00:00Z",
                    "html_url": f"{url}#issuecomment-101",
                }
            ]
            if later and slug == "acme/drift":
                comments.append(
                    {
                        "id": 102,
                        "user": {"login": "carol"},
                        "body": SECOND,
                        "created_at": "2099-01-01T10:00:00Z",
                        "html_url": f"{url}#issuecomment-102",
                    }
                )
            self.send(200, comments)
            return
        self.send(
            200,
            {
                "id": 1,
                "number": number,
                "title": "Export job times out",
                "body": BODY,
                "state": "open",
                "html_url": url,
                "user": {"login": "alice"},
                "labels": [],
                "created_at": "2024-01-01T10:00:00Z",
                "comments": 1,
            },
        )


def main() -> None:
    server = ThreadingHTTPServer((HOST, PORT), Handler)
    print(f"review fixture server on http://{HOST}:{PORT}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
