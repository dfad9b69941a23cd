"""A GitHub-REST look-alike that honours ETags and counts requests, for the cache and paging.

It serves ``GET /repos/{owner}/{repo}/issues/{n}`` and ``.../comments`` for ``issues`` issues,
each with ``comments`` comments paginated by ``per_page`` (capped at ``page_cap``), with ``Link``
``next``/``last`` headers as GitHub sends them (``stated`` makes the issue object's count wrong,
or absent, as when comments arrive between the two requests). Every 200 carries an ``ETag`` (a hash of the
body) and a ``Last-Modified``; a request whose ``If-None-Match`` matches gets ``304`` with no body,
as GitHub does, and :attr:`not_modified` counts those. :meth:`touch` changes an issue (a new
title), so its ETag changes too.

The answers come from :meth:`answer`, a plain function of the request, so the same fake serves
tests through ``httpx2.MockTransport`` (:meth:`transport`, no sockets) and benchmarks through a
real local server (:meth:`serve`, with a per-request ``latency``).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx2

from tests.support.replies import send

LAST_MODIFIED = "Mon, 01 Jan 2024 00:00:00 GMT"
Answer = tuple[int, dict[str, str], bytes]


class FakeGitHub:
    """Issues ``1..issues`` of ``owner/repo``; ``comments`` maps an issue to its comment count."""

    def __init__(
        self,
        *,
        issues: int = 1,
        comments: dict[int, int] | None = None,
        page_cap: int = 100,
        base: str = "https://api.github.com",
        etags: bool = True,
        stated: dict[int, int | None] | None = None,
    ) -> None:
        self.issues = issues
        self.comments = dict(comments or {})
        self.page_cap = page_cap
        self.base = base.rstrip("/")
        self.etags = etags
        # What the issue object says its comment count is, when that is not the truth (None: absent).
        self.stated = dict(stated or {})
        self.lock = threading.Lock()
        self.requests = 0
        self.not_modified = 0
        self.paths: Counter[str] = Counter()
        self.seen: list[dict[str, str]] = []
        self.version: Counter[int] = Counter()
        self.in_flight = 0
        self.most_in_flight = 0

    def touch(self, number: int) -> None:
        """Edit issue ``number``: its body, and so its ETag, changes."""
        with self.lock:
            self.version[number] += 1

    # -- the answers ------------------------------------------------------------------------

    def issue(self, owner: str, repo: str, number: int) -> dict[str, Any]:
        issue = {
            "number": number,
            "title": f"Issue {number} (version {self.version[number]})",
            "body": f"The body of issue {number}.",
            "state": "open",
            "user": {"login": "reporter", "type": "User"},
            "author_association": "NONE",
            "labels": [],
            "created_at": "2024-01-01T00:00:00Z",
            "html_url": f"https://github.com/{owner}/{repo}/issues/{number}",
            "comments": self.comments.get(number, 0),
        }
        if number in self.stated:
            count = self.stated[number]
            if count is None:
                del issue["comments"]
            else:
                issue["comments"] = count
        return issue

    def comment(self, owner: str, repo: str, number: int, index: int) -> dict[str, Any]:
        cid = number * 100_000 + index + 1
        return {
            "id": cid,
            "user": {"login": f"user{index % 7}", "type": "User"},
            "author_association": "MEMBER" if index % 5 == 0 else "NONE",
            "body": f"Comment {index + 1} on issue {number}.",
            "created_at": "2024-01-02T00:00:00Z",
            "updated_at": "2024-01-02T00:00:00Z",
            "html_url": f"https://github.com/{owner}/{repo}/issues/{number}#issuecomment-{cid}",
        }

    def answer(self, path: str, query: str, headers: dict[str, str]) -> Answer:
        """The status, headers and body GitHub would send for ``GET path?query``."""
        with self.lock:
            self.requests += 1
            self.paths[path] += 1
            self.seen.append({k.lower(): v for k, v in headers.items()})
        parts = path.strip("/").split("/")
        if len(parts) not in (5, 6) or parts[0] != "repos" or parts[3] != "issues":
            return self._json(404, {"message": "Not Found"})
        owner, repo, number = parts[1], parts[2], int(parts[4]) if parts[4].isdigit() else 0
        if not 1 <= number <= self.issues:
            return self._json(404, {"message": "Not Found"})
        if len(parts) == 5:
            return self._cached(self.issue(owner, repo, number), {}, headers)
        params = dict(parse_qsl(query))
        size = min(int(params.get("per_page", "30")), self.page_cap)
        page = int(params.get("page", "1"))
        total = self.comments.get(number, 0)
        items = [
            self.comment(owner, repo, number, i) for i in range((page - 1) * size, min(page * size, total))
        ]
        last = max((total + size - 1) // size, 1)
        url = f"{self.base}/repos/{owner}/{repo}/issues/{number}/comments"
        links = []
        if page < last:
            links.append(f'<{url}?per_page={size}&page={page + 1}>; rel="next"')
        links.append(f'<{url}?per_page={size}&page={last}>; rel="last"')
        return self._cached(items, {"Link": ", ".join(links)}, headers)

    def _cached(self, payload: Any, extra: dict[str, str], headers: dict[str, str]) -> Answer:
        body = json.dumps(payload).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        out = {"Content-Type": "application/json; charset=utf-8", **extra}
        if self.etags:
            out["ETag"] = etag
            out["Last-Modified"] = LAST_MODIFIED
        out["X-RateLimit-Remaining"] = "4999"
        wanted = {k.lower(): v for k, v in headers.items()}.get("if-none-match")
        if self.etags and wanted == etag:
            with self.lock:
                self.not_modified += 1
            return 304, out, b""
        return 200, out, body

    @staticmethod
    def _json(status: int, payload: Any) -> Answer:
        return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()

    # -- two ways to serve it ---------------------------------------------------------------

    def transport(self) -> httpx2.MockTransport:
        """The fake as an in-process transport (no sockets); safe to call from many threads."""

        def handle(request: httpx2.Request) -> httpx2.Response:
            with self.lock:
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                status, headers, body = self.answer(
                    request.url.path, request.url.query.decode(), dict(request.headers)
                )
            finally:
                with self.lock:
                    self.in_flight -= 1
            return httpx2.Response(status, headers=headers, content=body)

        return httpx2.MockTransport(handle)

    def serve(self, latency: float = 0.0) -> ThreadingHTTPServer:
        """Start a real server on 127.0.0.1 (a free port) that waits ``latency`` s per request.

        For benchmarks. Stop it with ``server.shutdown(); server.server_close()``.
        """
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
                return

            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                if latency:
                    time.sleep(latency)
                parts = urlsplit(self.path)
                status, headers, body = fake.answer(parts.path, parts.query, dict(self.headers))
                send(self, status, body, None, headers)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

        server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, name="fake-github", daemon=True).start()
        return server
