"""GitHub (and GitHub Enterprise) issues and pull requests over the REST API.

A pull request is also an issue in GitHub's REST model, so one endpoint serves both: the issue
object gives title, description, labels and state (a ``pull_request`` key marks a PR) and the issue
comments endpoint gives the conversation, ordered oldest first and paginated with ``Link``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx2

from drafter.errors import SourceError
from drafter.sources.context import Comment, IssueContext, was_edited
from drafter.sources.http import Target, TrackerHttp, origin
from drafter.sources.paging import comment_pages
from drafter.sources.settings import SourceSettings
from drafter.sources.urls import GitHubRef, parse_url

API_VERSION = "2022-11-28"
PUBLIC_API = "https://api.github.com"
TOKEN_ENV = "GITHUB_TOKEN or GH_TOKEN"


def api_base(ref: GitHubRef, settings: SourceSettings) -> str:
    """``GITHUB_API_URL`` when set, else api.github.com, else ``https://HOST/api/v3`` (Enterprise)."""
    if settings.github_api_url:
        return settings.github_api_url
    if ref.host == "github.com":
        return PUBLIC_API
    return f"https://{ref.host}/api/v3"


HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}


def token_auth(settings: SourceSettings, api: str | None = None) -> dict[str, dict[str, str]]:
    """The token's header, bound to the one API origin it is for, for :class:`TrackerHttp`;
    empty without a token.

    A configured token (``GITHUB_TOKEN``/``GH_TOKEN``) is for ``GITHUB_API_URL`` or api.github.com
    only. Without one, ``settings.token_helper`` (``gh auth token``) is asked for the token of the
    host of ``api``, the API being fetched: gh keeps one per host, so each goes to its own host.
    """
    if settings.github_token is not None:
        return {
            origin(settings.github_api_url or PUBLIC_API): {
                "Authorization": f"Bearer {settings.github_token.reveal()}"
            }
        }
    if settings.token_helper is None:
        return {}
    api = api or settings.github_api_url or PUBLIC_API
    host = (urlsplit(api).hostname or "").lower()
    token = settings.token_helper("github.com" if host == "api.github.com" else host)
    return {origin(api): {"Authorization": f"Bearer {token}"}} if token else {}


def fetch_github(ref: GitHubRef, settings: SourceSettings, client: httpx2.Client) -> IssueContext:
    """Fetch issue or PR ``ref`` with all its conversation comments."""
    base = api_base(ref, settings)
    noun = "pull request" if ref.kind == "pull_request" else "issue"
    token_env = TOKEN_ENV
    if ref.host != "github.com" and not settings.github_api_url:
        token_env = f"GITHUB_API_URL=https://{ref.host}/api/v3 and {TOKEN_ENV}"
    http = TrackerHttp(
        client,
        settings,
        api_base=base,
        target=Target("GitHub", f"{noun} {ref.slug}#{ref.number}", token_env),
        headers=HEADERS,
        auth=token_auth(settings, base),
    )
    reply = http.get_json(http.url(f"repos/{ref.owner}/{ref.repo}/issues/{ref.number}"))
    issue = _expect_object(reply.data, http.target)
    # A transferred issue arrives through a redirect; its html_url names the new home.
    final_ref = ref
    html_url = str(issue.get("html_url") or "")
    if html_url:
        try:
            parsed = parse_url(html_url)
        except SourceError:
            parsed = None
        if isinstance(parsed, GitHubRef):
            final_ref = parsed
    comments: list[Comment] = []
    issue_api_url = reply.url.split("?", 1)[0]
    count = issue.get("comments")
    expected = count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else None
    if expected != 0:
        pages = comment_pages(http, f"{issue_api_url}/comments", {"per_page": "100"}, expected=expected)
        for page in pages:
            comments.extend(comment_from(item, index) for index, item in enumerate(page, len(comments)))
    return to_context(issue, comments, final_ref)


def _expect_object(data: Any, target: Target) -> dict[str, Any]:
    if not isinstance(data, dict) or not isinstance(data.get("title"), str):
        raise SourceError(
            f"{target.tracker} returned an unexpected shape for {target.what} (no title)",
            hint="check that GITHUB_API_URL points at a GitHub API",
        )
    return data


def _login(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("login") or "")
    return ""


def _is_bot(user: Any) -> bool:
    """GitHub marks apps and bot accounts with ``type: "Bot"`` (their logins end in ``[bot]``)."""
    return isinstance(user, dict) and (
        str(user.get("type") or "") == "Bot" or str(user.get("login") or "").endswith("[bot]")
    )


def comment_from(item: Any, index: int) -> Comment:
    """Map one REST comment object (the API's, or a saved file's ``comments_list`` entry)."""
    if not isinstance(item, dict):
        item = {}
    created = str(item.get("created_at") or "")
    updated = str(item.get("updated_at") or "")
    return Comment(
        id=str(item.get("id") or f"comment-{index + 1}"),
        author=_login(item.get("user")),
        body=str(item.get("body") or ""),
        url=str(item.get("html_url") or ""),
        created_at=created,
        updated_at=updated,
        association=str(item.get("author_association") or ""),
        bot=_is_bot(item.get("user")),
        edited=was_edited(created, updated),
    )


# GitHub's close reasons as drafter words them for people (and for the model).
STATE_REASONS = {"completed": "completed", "not_planned": "not planned", "duplicate": "duplicate"}


def to_context(issue: dict[str, Any], comments: list[Comment], ref: GitHubRef | None) -> IssueContext:
    """Map a GitHub REST issue object (plus comments) to :class:`IssueContext`."""
    labels = tuple(
        str(label.get("name")) if isinstance(label, dict) else str(label)
        for label in issue.get("labels") or []
        if (label.get("name") if isinstance(label, dict) else label)
    )
    is_pr = bool(issue.get("pull_request"))
    state = str(issue.get("state") or "")
    pr = issue.get("pull_request")
    if is_pr and isinstance(pr, dict) and (pr.get("merged") or pr.get("merged_at")):
        state = "merged"
    reason = str(issue.get("state_reason") or "")
    number = str(issue.get("number") or (ref.number if ref else ""))
    return IssueContext(
        title=str(issue.get("title") or ""),
        body=str(issue.get("body") or ""),
        tracker="github",
        url=str(issue.get("html_url") or ""),
        kind="pull_request" if is_pr else "issue",
        number=number,
        repo=ref.slug if ref else "",
        state=state,
        state_reason=STATE_REASONS.get(reason, "") if state == "closed" else "",
        closed_at=str(issue.get("closed_at") or ""),
        author=_login(issue.get("user")),
        author_association=str(issue.get("author_association") or ""),
        created_at=str(issue.get("created_at") or ""),
        labels=labels,
        comments=tuple(comments),
    )
