"""Jira issues: REST v3 (Cloud, ADF converted to markdown) or v2 (Server/Data Center, wiki text).

Cloud sites (``*.atlassian.net``) default to v3 and Basic auth with ``JIRA_EMAIL`` +
``JIRA_API_TOKEN``; Server/Data Center default to v2 and a bearer ``JIRA_PAT``. ``JIRA_API_VERSION``
overrides the guess. Comments come from the paginated ``/comment`` endpoint (``startAt``/``total``),
because the issue's embedded comment field is capped.
"""

from __future__ import annotations

import base64
import contextlib
from typing import Any

import httpx2

from drafter.errors import SourceError
from drafter.sources.adf import adf_to_markdown
from drafter.sources.context import Comment, IssueContext, was_edited
from drafter.sources.http import Target, TrackerHttp, origin
from drafter.sources.paging import fetch_all
from drafter.sources.settings import SourceSettings
from drafter.sources.urls import JiraRef

FIELDS = "summary,description,labels,status,issuetype,reporter,created,issuelinks"
PAGE_SIZE = 100
MAX_COMMENT_PAGES = 100


def _is_cloud(host: str) -> bool:
    return host.endswith((".atlassian.net", ".jira.com"))


def api_version(ref: JiraRef, settings: SourceSettings) -> str:
    """``JIRA_API_VERSION`` when set, else 3 for Cloud sites and 2 for Server/Data Center."""
    return settings.jira_api_version or ("3" if _is_cloud(ref.host) else "2")


def _auth(ref: JiraRef, settings: SourceSettings, base: str) -> dict[str, dict[str, str]]:
    # Credentials belong to JIRA_BASE_URL's host when set, otherwise to Atlassian Cloud sites.
    if settings.jira_base_url is None and not _is_cloud(ref.host):
        return {}
    if settings.jira_email and settings.jira_api_token is not None:
        pair = f"{settings.jira_email}:{settings.jira_api_token.reveal()}".encode()
        return {origin(base): {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}}
    if settings.jira_pat is not None:
        return {origin(base): {"Authorization": f"Bearer {settings.jira_pat.reveal()}"}}
    return {}


def fetch_jira(ref: JiraRef, settings: SourceSettings, client: httpx2.Client) -> IssueContext:
    """Fetch Jira issue ``ref`` with all comments."""
    base = settings.jira_base_url or ref.base
    version = api_version(ref, settings)
    http = TrackerHttp(
        client,
        settings,
        api_base=base,
        target=Target("Jira", f"issue {ref.key}", "JIRA_EMAIL and JIRA_API_TOKEN (Cloud) or JIRA_PAT"),
        headers={"Accept": "application/json"},
        auth=_auth(ref, settings, base),
    )
    issue_url = http.url(f"rest/api/{version}/issue/{ref.key}")
    issue = http.get_json(issue_url, {"fields": FIELDS}).data
    fields = issue.get("fields") if isinstance(issue, dict) else None
    if not isinstance(fields, dict) or not isinstance(fields.get("summary"), str):
        raise SourceError(
            f"Jira returned an unexpected shape for issue {ref.key} (no fields.summary)",
            hint="check JIRA_BASE_URL and JIRA_API_VERSION (3 for Cloud, 2 for Server/Data Center)",
        )
    site = ref.base
    web_url = f"{site}/browse/{ref.key}"
    comments = [_comment(c, web_url) for c in _comments(http, f"{issue_url}/comment")]
    return IssueContext(
        title=fields["summary"],
        body=adf_to_markdown(fields.get("description")),
        tracker="jira",
        url=web_url,
        kind="issue",
        number=ref.key,
        repo=ref.key.split("-", 1)[0],
        state=_name(fields.get("status")),
        state_reason=_CLOSE_REASONS.get(_name(fields.get("status")).lower(), ""),
        author=_person(fields.get("reporter")),
        created_at=str(fields.get("created") or ""),
        labels=tuple(str(label) for label in fields.get("labels") or [] if label),
        comments=tuple(comments),
        links=_issue_links(fields.get("issuelinks"), site),
    )


def _comments(http: TrackerHttp, url: str) -> list[dict[str, Any]]:
    """Every comment, oldest first. The first page gives ``total`` and the page size the server
    uses; the pages after it are then asked for together (:func:`fetch_all`). A short page in
    the middle (a comment deleted meanwhile) ends that plan, and the next one starts after it."""
    found: list[dict[str, Any]] = []
    start, size, fetched = 0, 0, 0
    total: Any = None
    while fetched < MAX_COMMENT_PAGES:
        if size and isinstance(total, int):
            end = min(total, start + size * (MAX_COMMENT_PAGES - fetched))
            offsets = list(range(start, end, size))
        else:
            offsets = [start]
        with contextlib.closing(fetch_all(http, [_comment_page(url, at) for at in offsets])) as replies:
            for offset, reply in zip(offsets, replies, strict=False):
                fetched += 1
                items, total = _page(reply.data, http)
                found.extend(item for item in items if isinstance(item, dict))
                start = offset + len(items)
                if not items or not isinstance(total, int) or start >= total:
                    return found
                if size and len(items) < size:
                    break
                size = size or len(items)
    return found


def _comment_page(url: str, start: int) -> tuple[str, dict[str, str]]:
    return url, {"startAt": str(start), "maxResults": str(PAGE_SIZE), "orderBy": "created"}


def _page(data: Any, http: TrackerHttp) -> tuple[list[Any], Any]:
    items = data.get("comments") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise SourceError(
            f"Jira returned an unexpected shape for the comments of {http.target.what}",
            hint="check JIRA_BASE_URL and JIRA_API_VERSION",
        )
    return items, data.get("total")


def _name(value: Any) -> str:
    return str(value.get("name") or "") if isinstance(value, dict) else ""


def _person(value: Any) -> str:
    if not isinstance(value, dict):
        return ""
    return str(value.get("displayName") or value.get("name") or value.get("accountId") or "")


def _comment(item: dict[str, Any], web_url: str) -> Comment:
    comment_id = str(item.get("id") or "")
    author = item.get("author")
    created = str(item.get("created") or "")
    updated = str(item.get("updated") or "")
    return Comment(
        id=comment_id,
        author=_person(author),
        body=adf_to_markdown(item.get("body")),
        url=f"{web_url}?focusedCommentId={comment_id}" if comment_id else "",
        created_at=created,
        updated_at=updated,
        # Jira Cloud marks automation and app users with accountType "app".
        bot=isinstance(author, dict) and author.get("accountType") == "app",
        edited=was_edited(created, updated),
    )


# Status names that some Jira workflows use for a close that is not a fix.
_CLOSE_REASONS = {
    "won't do": "not planned",
    "won't fix": "not planned",
    "declined": "not planned",
    "rejected": "not planned",
    "duplicate": "duplicate",
    "done": "completed",
    "resolved": "completed",
    "fixed": "completed",
}


def _issue_links(value: Any, site: str) -> tuple[str, ...]:
    links: list[str] = []
    for link in value if isinstance(value, list) else []:
        if not isinstance(link, dict):
            continue
        for side in ("outwardIssue", "inwardIssue"):
            other = link.get(side)
            if isinstance(other, dict) and isinstance(other.get("key"), str):
                url = f"{site}/browse/{other['key']}"
                if url not in links:
                    links.append(url)
    return tuple(links)
