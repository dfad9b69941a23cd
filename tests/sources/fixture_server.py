"""A small tracker look-alike on 127.0.0.1 for recording the sources cassettes.

It serves GitHub-, GitLab- and Jira-shaped JSON built from the corpus fixtures in
``tests/fixtures/corpus`` under ``/github``, ``/gitlab/api/v4`` and ``/jira``, with real ``Link``
pagination (pages are capped at 3 items so short threads paginate too), system notes on GitLab,
ADF bodies for Jira v3, and the error statuses the sources layer must handle. Cassettes are recorded
against it; tests replay them with the server stopped. Run it with::

    python -m tests.sources.fixture_server          # listens on 127.0.0.1:8765
    python -m pytest tests/sources --record-mode=once

Some answers depend on how often a path was asked (429/503 first, then 200): restart the server
before re-recording.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"
HOST, PORT = "127.0.0.1", 8765
PAGE_CAP = 3
GOOD_GITHUB = "Bearer ghp_FAKE0000000000000000000000000000good"
GOOD_GITLAB = "glpat-FAKE000000000000good"
RESET_EPOCH = 2_000_000_000  # fixed so replays can pin the clock

# Fake repositories that stand in for situations a real tracker produces.
ALIASES = {
    "acme/private": "brettwooldridge__HikariCP__664",
    "acme/throttled": "pypa__pip__10235",
    "acme/flaky": "golang__go__36189",
    "acme/new-home": "cockroachdb__cockroach__52093",
}
# acme/backlog: a repository whose issue list (GET /repos/acme/backlog/issues?labels=&state=) is
# served for `drafter batch --repo --label`; numbers map to corpus items, some labelled "design".
BACKLOG = {
    1: ("ClickHouse__ClickHouse__83677", True),
    2: ("brettwooldridge__HikariCP__664", True),
    3: ("elastic__elasticsearch__146917", True),  # a pull request
    4: ("pypa__pip__10235", False),
    5: ("readysettech__readyset__5", True),
    6: ("kubevirt__kubevirt__9565", True),
    7: ("rust-firecracker__fctools__10", True),
}
JIRA_KEYS = {"HIKARI": "brettwooldridge__HikariCP__664", "VITE": "vitejs__vite-plugin-react__109"}


def corpus(name: str) -> dict[str, Any]:
    return json.loads((CORPUS / f"{name}.json").read_text(encoding="utf-8"))


def backlog_item(number: int) -> dict[str, Any]:
    name, design = BACKLOG[number]
    data = corpus(name)
    labels = [*data["labels"], {"name": "design"}] if design else data["labels"]
    return {**data, "labels": labels}


def find(slug: str, number: str) -> dict[str, Any] | None:
    if slug == "acme/backlog":
        return backlog_item(int(number)) if number.isdigit() and int(number) in BACKLOG else None
    if slug in ALIASES:
        return corpus(ALIASES[slug])
    owner, _, repo = slug.partition("/")
    path = CORPUS / f"{owner}__{repo}__{number}.json"
    return corpus(path.stem) if path.exists() else None


def day(value: str) -> str:
    return f"{value}T12:00:00Z" if value and "T" not in value else value


def github_issue(data: dict[str, Any], slug: str, number: str) -> dict[str, Any]:
    section = "pull" if data.get("pull_request") else "issues"
    issue: dict[str, Any] = {
        "id": 9_000_000 + int(number),
        "number": int(number),
        "title": data["title"],
        "body": data["body"],
        "state": data["state"],
        "html_url": f"https://github.com/{slug}/{section}/{number}",
        "user": {"login": data["user"]["login"], "type": "User"},
        "author_association": data.get("author_association", "NONE"),
        "labels": [{"name": label["name"]} for label in data["labels"]],
        "created_at": day(data["created_at"]),
        "comments": len(data["comments_list"]),
    }
    if data["state"] == "closed":
        # As GitHub sends them: the close reason, and when (the last comment's day, or the opening's).
        last = data["comments_list"][-1]["created_at"] if data["comments_list"] else data["created_at"]
        issue["closed_at"] = day(last)
        issue["state_reason"] = {"completed": "completed", "duplicate": "duplicate"}.get(
            data.get("state_reason", ""), "completed"
        )
    if data.get("pull_request"):
        merged = data["pull_request"].get("merged")
        issue["pull_request"] = {
            "html_url": issue["html_url"],
            "merged_at": "2020-01-01T00:00:00Z" if merged else None,
        }
    return issue


def github_comments(data: dict[str, Any], slug: str, number: str) -> list[dict[str, Any]]:
    out = []
    for index, comment in enumerate(data["comments_list"]):
        comment_id = 5_000_000 + int(number) * 100 + index
        out.append(
            {
                "id": comment_id,
                "user": {"login": comment["user"]["login"], "type": "User"},
                "author_association": comment.get("author_association", "NONE"),
                "body": comment["body"],
                "created_at": day(comment["created_at"]),
                # The second comment of a thread was edited an hour after it was posted.
                "updated_at": day(comment["created_at"]).replace("T12:", "T13:" if index == 1 else "T12:"),
                "html_url": f"https://github.com/{slug}/issues/{number}#issuecomment-{comment_id}",
            }
        )
    return out


def gitlab_notes(data: dict[str, Any], project: str) -> list[dict[str, Any]]:
    notes: list[dict[str, Any]] = []
    for index, comment in enumerate(data["comments_list"]):
        notes.append(
            {
                "id": 7000 + index,
                "body": comment["body"],
                "author": {"username": comment["user"]["login"]},
                "created_at": day(comment["created_at"]),
                "system": False,
            }
        )
        if index % 2 == 0:
            notes.append(
                {
                    "id": 8000 + index,
                    "body": "changed the description",
                    "author": {"username": "gitlab-bot"},
                    "created_at": day(comment["created_at"]),
                    "system": True,
                }
            )
    return notes


def adf(markdown: str) -> dict[str, Any]:
    """Crude markdown -> ADF for fixtures: paragraphs, fenced code, '- ' lists, '#' headings."""
    content: list[dict[str, Any]] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            language = line[3:].strip()
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            code = "\n".join(lines[i + 1 : j])
            node: dict[str, Any] = {"type": "codeBlock", "content": [{"type": "text", "text": code}]}
            if language:
                node["attrs"] = {"language": language}
            content.append(node)
            i = j + 1
            continue
        if line.startswith("- "):
            items = []
            while i < len(lines) and lines[i].startswith("- "):
                para = {"type": "paragraph", "content": [{"type": "text", "text": lines[i][2:]}]}
                items.append({"type": "listItem", "content": [para]})
                i += 1
            content.append({"type": "bulletList", "content": items})
            continue
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            text = line.lstrip("#").strip()
            content.append(
                {
                    "type": "heading",
                    "attrs": {"level": min(level, 6)},
                    "content": [{"type": "text", "text": text}],
                }
            )
            i += 1
            continue
        if line.strip():
            block = [line]
            i += 1
            while i < len(lines) and lines[i].strip() and not lines[i].startswith(("```", "- ", "#")):
                block.append(lines[i])
                i += 1
            parts: list[dict[str, Any]] = []
            for k, text in enumerate(block):
                if k:
                    parts.append({"type": "hardBreak"})
                parts.append({"type": "text", "text": text})
            content.append({"type": "paragraph", "content": parts})
            continue
        i += 1
    return {"type": "doc", "version": 1, "content": content}


class Handler(BaseHTTPRequestHandler):
    seen: Counter[str] = Counter()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        sys.stderr.write(f"fixture: {self.command} {self.path} -> {args[1] if len(args) > 1 else ''}\n")

    # -- helpers ----------------------------------------------------------------------------

    def send(
        self,
        status: int,
        payload: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> None:
        body = raw if raw is not None else json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def base(self) -> str:
        return f"http://{self.headers.get('Host', f'{HOST}:{PORT}')}"

    def paged(
        self, items: list[Any], path: str, query: dict[str, list[str]], size_key: str = "per_page"
    ) -> None:
        size = min(int(query.get(size_key, ["30"])[0]), PAGE_CAP)
        page = int(query.get("page", ["1"])[0])
        chunk = items[(page - 1) * size : page * size]
        last = max((len(items) + size - 1) // size, 1)
        headers: dict[str, str] = {}
        links = []
        keep = {k: v[0] for k, v in query.items() if k != "page"}
        extra = "".join(f"&{k}={v}" for k, v in sorted(keep.items()))
        if page < last:
            links.append(f'<{self.base()}{path}?page={page + 1}{extra}>; rel="next"')
            headers["x-next-page"] = str(page + 1)
        links.append(f'<{self.base()}{path}?page={last}{extra}>; rel="last"')
        headers["Link"] = ", ".join(links)
        self.send(200, chunk, headers)

    # -- routing ----------------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        raw_path = parts.path
        self.seen[raw_path] += 1
        if raw_path.startswith("/github/"):
            self.github(raw_path, raw_path[len("/github") :].split("/"), query)
        elif raw_path.startswith("/gitlab/api/v4/"):
            self.gitlab(raw_path, raw_path[len("/gitlab/api/v4") :].split("/"), query)
        elif raw_path.startswith("/jira/rest/api/"):
            self.jira(raw_path, raw_path[len("/jira/rest/api/") :].split("/"), query)
        else:
            self.send(404, {"message": "Not Found"})

    def github(self, path: str, seg: list[str], query: dict[str, list[str]]) -> None:
        auth = self.headers.get("Authorization", "")
        if "BAD" in auth:
            self.send(401, {"message": "Bad credentials"})
            return
        # seg: ['', 'repos', owner, repo, 'issues', n, ('comments')] or ['', 'repositories', id, 'issues', n, ...]
        if seg[1:3] == ["repos", "acme"] and seg[3:] == ["backlog", "issues"]:
            self.github_list(path, query)
            return
        if seg[1] == "repositories" and seg[2] == "4242" and seg[3:5] == ["issues", "7"]:
            slug, number = "acme/new-home", "7"
            rest = seg[5:]
        elif seg[1] == "repos" and len(seg) >= 6 and seg[4] == "issues":
            slug, number, rest = f"{seg[2]}/{seg[3]}", seg[5], seg[6:]
        else:
            self.send(404, {"message": "Not Found"})
            return
        if slug == "acme/moved":
            self.send(
                301,
                {"message": "Moved Permanently"},
                {"Location": f"{self.base()}/github/repositories/4242/issues/7"},
            )
            return
        if slug == "acme/escape":
            self.send(
                301, {"message": "Moved Permanently"}, {"Location": "https://evil.example/repos/x/y/issues/1"}
            )
            return
        if slug == "acme/gone":
            self.send(410, {"message": "This issue was deleted"})
            return
        if slug == "acme/limited":
            self.send(
                403,
                {"message": "API rate limit exceeded"},
                {
                    "x-ratelimit-limit": "60",
                    "x-ratelimit-remaining": "0",
                    "x-ratelimit-reset": str(RESET_EPOCH),
                },
            )
            return
        if slug == "acme/throttled" and not rest and self.seen[path] == 1:
            self.send(429, {"message": "You have exceeded a secondary rate limit"}, {"Retry-After": "3"})
            return
        if slug == "acme/flaky" and not rest and self.seen[path] == 1:
            self.send(503, {"message": "Service Unavailable"})
            return
        if slug == "acme/broken":
            self.send(200, raw=b'{"id": 1, "title": "Half an iss')
            return
        if slug == "acme/private" and auth != GOOD_GITHUB:
            self.send(404, {"message": "Not Found"})
            return
        data = find(slug, number)
        if data is None:
            self.send(404, {"message": "Not Found"})
            return
        if rest == ["comments"]:
            self.paged(github_comments(data, slug, number), path, query)
        elif not rest:
            self.send(200, github_issue(data, slug, number))
        else:
            self.send(404, {"message": "Not Found"})

    def github_list(self, path: str, query: dict[str, list[str]]) -> None:
        wanted = {x for x in query.get("labels", [""])[0].split(",") if x}
        state = query.get("state", ["open"])[0]
        items = []
        for number in sorted(BACKLOG):
            data = backlog_item(number)
            if not wanted <= {label["name"] for label in data["labels"]}:
                continue
            if state != "all" and data["state"] != state:
                continue
            items.append(github_issue(data, "acme/backlog", str(number)))
        self.paged(items, path, query)

    def gitlab(self, path: str, seg: list[str], query: dict[str, list[str]]) -> None:
        token = self.headers.get("PRIVATE-TOKEN", "")
        if "BAD" in token:
            self.send(401, {"message": "401 Unauthorized"})
            return
        # seg: ['', 'projects', enc, 'issues'|'merge_requests', iid, ('notes')]
        if len(seg) < 5 or seg[1] != "projects" or seg[3] not in ("issues", "merge_requests"):
            self.send(404, {"error": "404 Not Found"})
            return
        project, section, iid, rest = unquote(seg[2]), seg[3], seg[4], seg[5:]
        if project == "acme/throttled" and not rest and self.seen[path] == 1:
            self.send(
                429, {"message": "Retry later"}, {"Retry-After": "2", "RateLimit-Reset": str(RESET_EPOCH)}
            )
            return
        if project == "acme/private" and token != GOOD_GITLAB:
            self.send(404, {"message": "404 Project Not Found"})
            return
        lookup = {"acme/private": "brettwooldridge/HikariCP", "acme/throttled": "pypa/pip"}.get(
            project, project
        )
        names = lookup.split("/")
        data = find("/".join(names[-2:]), iid) if len(names) >= 2 else None
        if lookup in ("brettwooldridge/HikariCP", "pypa/pip"):
            data = find(lookup, {"brettwooldridge/HikariCP": "664", "pypa/pip": "10235"}[lookup])
        is_mr = section == "merge_requests"
        if data is None or bool(data.get("pull_request")) != is_mr:
            self.send(404, {"message": "404 Not found"})
            return
        web_url = f"https://gitlab.com/{project}/-/{section}/{iid}"
        if rest == ["notes"]:
            self.paged(gitlab_notes(data, project), path, query)
            return
        merged = is_mr and data["pull_request"].get("merged")
        item = {
            "id": 60000 + int(iid),
            "iid": int(iid),
            "title": data["title"],
            "description": data["body"],
            "state": "merged" if merged else ("opened" if data["state"] == "open" else "closed"),
            "labels": [label["name"] for label in data["labels"]],
            "author": {"username": data["user"]["login"]},
            "created_at": day(data["created_at"]),
            "web_url": web_url,
        }
        self.send(200, item)

    def jira(self, path: str, seg: list[str], query: dict[str, list[str]]) -> None:
        auth = self.headers.get("Authorization", "")
        if "BAD" in auth or auth == "Basic bWVAZXhhbXBsZS5jb206QkFE":
            self.send(401, {"errorMessages": ["You are not authenticated."]})
            return
        # seg: [version, 'issue', KEY, ('comment')]
        if len(seg) < 3 or seg[1] != "issue" or seg[0] not in ("2", "3"):
            self.send(404, {"errorMessages": ["Not found"]})
            return
        version, key, rest = seg[0], seg[2], seg[3:]
        prefix, _, number = key.partition("-")
        if prefix not in JIRA_KEYS:
            self.send(
                404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}
            )
            return
        data = corpus(JIRA_KEYS[prefix])

        def text(markdown: str) -> Any:
            return adf(markdown) if version == "3" else markdown

        if rest == ["comment"]:
            start = int(query.get("startAt", ["0"])[0])
            size = min(int(query.get("maxResults", ["50"])[0]), PAGE_CAP)
            comments = [
                {
                    "id": str(10000 + index),
                    "author": {"displayName": c["user"]["login"]},
                    "body": text(c["body"]),
                    "created": day(c["created_at"]),
                }
                for index, c in enumerate(data["comments_list"])
            ]
            page = comments[start : start + size]
            self.send(200, {"startAt": start, "maxResults": size, "total": len(comments), "comments": page})
            return
        fields = {
            "summary": data["title"],
            "description": text(data["body"]),
            "labels": [label["name"].replace(" ", "-") for label in data["labels"]],
            "status": {"name": "Done" if data["state"] == "closed" else "Open"},
            "issuetype": {"name": "Bug"},
            "reporter": {"displayName": data["user"]["login"]},
            "created": day(data["created_at"]),
            "issuelinks": [
                {"type": {"name": "Relates"}, "outwardIssue": {"key": f"{prefix}-{int(number) + 1}"}}
            ],
        }
        self.send(200, {"id": "10001", "key": key, "fields": fields})


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else PORT
    server = ThreadingHTTPServer((HOST, port), Handler)
    print(f"fixture server on http://{HOST}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
