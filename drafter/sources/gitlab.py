"""GitLab (gitlab.com or self-managed) issues and merge requests over REST v4.

The project is addressed by its URL-encoded full path (``group%2Fsub%2Fproject``), so no extra
lookup is needed. Notes include system notes ("changed the milestone"); they are activity, not
discussion, and are dropped.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx2

from drafter.errors import SourceError
from drafter.sources.context import Comment, IssueContext, was_edited
from drafter.sources.http import Target, TrackerHttp, origin
from drafter.sources.paging import comment_pages
from drafter.sources.settings import SourceSettings
from drafter.sources.urls import GitLabRef

PUBLIC_API = "https://gitlab.com/api/v4"
TOKEN_ENV = "GITLAB_TOKEN"


def api_base(ref: GitLabRef, settings: SourceSettings) -> str:
    """``GITLAB_API_URL`` when set, else ``https://HOST/api/v4`` of the URL's host."""
    if settings.gitlab_api_url:
        return settings.gitlab_api_url
    netloc = ref.host if ref.port is None else f"{ref.host}:{ref.port}"
    return f"https://{netloc}/api/v4"


def fetch_gitlab(ref: GitLabRef, settings: SourceSettings, client: httpx2.Client) -> IssueContext:
    """Fetch issue or merge request ``ref`` with its non-system notes, oldest first."""
    base = api_base(ref, settings)
    auth: dict[str, dict[str, str]] = {}
    if settings.gitlab_token is not None:
        token_origin = origin(settings.gitlab_api_url or PUBLIC_API)
        auth[token_origin] = {"PRIVATE-TOKEN": settings.gitlab_token.reveal()}
    token_env = TOKEN_ENV
    if ref.host != "gitlab.com" and not settings.gitlab_api_url:
        token_env = f"GITLAB_API_URL={base} and {TOKEN_ENV}"
    sep, section = ("!", "merge_requests") if ref.kind == "pull_request" else ("#", "issues")
    noun = "merge request" if ref.kind == "pull_request" else "issue"
    http = TrackerHttp(
        client,
        settings,
        api_base=base,
        target=Target("GitLab", f"{noun} {ref.project}{sep}{ref.number}", token_env),
        headers={"Accept": "application/json"},
        auth=auth,
    )
    project = quote(ref.project, safe="")
    item_url = http.url(f"projects/{project}/{section}/{ref.number}")
    reply = http.get_json(item_url)
    item = reply.data
    if not isinstance(item, dict) or not isinstance(item.get("title"), str):
        raise SourceError(
            f"GitLab returned an unexpected shape for {http.target.what} (no title)",
            hint="check that GITLAB_API_URL points at a GitLab /api/v4 URL",
        )
    web_url = str(item.get("web_url") or "")
    comments: list[Comment] = []
    params = {"sort": "asc", "order_by": "created_at", "per_page": "100"}
    # user_notes_count leaves out system notes, so the plan may fall short; paging follows on.
    count = item.get("user_notes_count")
    expected = count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else None
    for page in comment_pages(http, f"{item_url}/notes", params, expected=expected):
        for note in page:
            if isinstance(note, dict) and not note.get("system"):
                comments.append(_comment(note, web_url))
    return IssueContext(
        title=str(item["title"]),
        body=str(item.get("description") or ""),
        tracker="gitlab",
        url=web_url,
        kind=ref.kind,
        number=str(item.get("iid") or ref.number),
        repo=ref.project,
        state=str(item.get("state") or ""),
        author=_username(item.get("author")),
        created_at=str(item.get("created_at") or ""),
        closed_at=str(item.get("closed_at") or ""),
        labels=tuple(_label(label) for label in item.get("labels") or [] if _label(label)),
        comments=tuple(comments),
    )


def _username(value: Any) -> str:
    return str(value.get("username") or "") if isinstance(value, dict) else ""


def _label(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("name") or "")
    return str(value or "")


def _comment(note: dict[str, Any], web_url: str) -> Comment:
    note_id = str(note.get("id") or "")
    author = note.get("author")
    created = str(note.get("created_at") or "")
    updated = str(note.get("updated_at") or "")
    return Comment(
        id=note_id,
        author=_username(author),
        body=str(note.get("body") or ""),
        url=f"{web_url}#note_{note_id}" if web_url and note_id else "",
        created_at=created,
        updated_at=updated,
        bot=isinstance(author, dict) and author.get("bot") is True,
        edited=was_edited(created, updated),
    )
