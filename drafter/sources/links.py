"""Find the other issues and pull requests a thread mentions, as canonical web URLs.

The model sees these as "related work" and provenance can cite them. Only unambiguous forms are
picked up: full GitHub/GitLab/Jira URLs, ``owner/repo#N`` and, when the thread's own repository is
known, ``#N`` (GitHub, GitLab issues) and ``!N`` (GitLab merge requests). Bare Jira keys are taken
only with the thread's own project prefix, because ``UTF-8`` and ``SHA-256`` look like keys too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from drafter.errors import SourceError
from drafter.sources.context import IssueContext
from drafter.sources.urls import GitHubRef, GitLabRef, JiraRef, parse_url

_URL = re.compile(r"https?://[^\s<>()\[\]\"'`]+")
_GH_SHORT = re.compile(
    r"(?<![\w/.-])([A-Za-z0-9][A-Za-z0-9-]{0,38})/([A-Za-z0-9_.-]{1,100})#([1-9][0-9]{0,9})\b"
)
_HASH = re.compile(r"(?<![\w/&#])([#!])([1-9][0-9]{0,9})\b")
_JIRA_KEY = re.compile(r"(?<![\w-])([A-Z][A-Z0-9_]{0,29})-([1-9][0-9]{0,9})\b")
MAX_LINKS = 50


def _issue_url(url: str) -> str | None:
    """Canonicalise a tracker URL if it points at an issue, PR/MR or Jira key; else None."""
    trimmed = url.rstrip(".,;:!?")
    try:
        ref = parse_url(trimmed)
    except SourceError:
        return None
    if isinstance(ref, GitHubRef):
        section = "pull" if ref.kind == "pull_request" else "issues"
        return f"https://{ref.host}/{ref.slug}/{section}/{ref.number}"
    if isinstance(ref, GitLabRef):
        section = "merge_requests" if ref.kind == "pull_request" else "issues"
        netloc = ref.host if ref.port is None else f"{ref.host}:{ref.port}"
        return f"https://{netloc}/{ref.project}/-/{section}/{ref.number}"
    if isinstance(ref, JiraRef):
        return f"{ref.base}/browse/{ref.key}"
    return None


def find_links(ctx: IssueContext, texts: Iterable[str]) -> tuple[str, ...]:
    """Return the distinct issue/PR URLs mentioned in ``texts``, in order, without ``ctx`` itself."""
    found: list[str] = []
    own = {ctx.url.rstrip("/")}
    web_root = _web_root(ctx)
    if web_root:
        own.add(f"{web_root}/issues/{ctx.number}")
        own.add(f"{web_root}/pull/{ctx.number}")
        own.add(f"{web_root}/-/issues/{ctx.number}")
        own.add(f"{web_root}/-/merge_requests/{ctx.number}")

    def add(url: str | None) -> None:
        if url and url not in own and url not in found and len(found) < MAX_LINKS:
            found.append(url)

    for text in texts:
        for match in _URL.finditer(text):
            add(_issue_url(match.group(0)))
        for owner, repo, number in _GH_SHORT.findall(text):
            if ctx.tracker == "gitlab":
                host = _host(ctx.url) or "gitlab.com"
                add(f"https://{host}/{owner}/{repo}/-/issues/{number}")
            else:
                host = _host(ctx.url) if ctx.tracker == "github" else "github.com"
                add(f"https://{host or 'github.com'}/{owner}/{repo}/issues/{number}")
        if web_root:
            for sigil, number in _HASH.findall(_without_urls(text)):
                if ctx.tracker == "gitlab":
                    section = "-/merge_requests" if sigil == "!" else "-/issues"
                    add(f"{web_root}/{section}/{number}")
                elif sigil == "#":
                    add(f"{web_root}/issues/{number}")
        if ctx.tracker == "jira" and ctx.number and ctx.url:
            project = ctx.number.split("-", 1)[0]
            site = ctx.url.rsplit("/browse/", 1)[0]
            for prefix, number in _JIRA_KEY.findall(text):
                if prefix == project:
                    add(f"{site}/browse/{prefix}-{number}")
    return tuple(found)


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1].lower()


def _web_root(ctx: IssueContext) -> str:
    """``https://host/owner/repo`` (GitHub) or ``https://host/group/project`` (GitLab), if known."""
    if ctx.tracker not in ("github", "gitlab") or not ctx.repo or not ctx.url:
        return ""
    host = _host(ctx.url)
    return f"https://{host}/{ctx.repo}" if host else ""


def _without_urls(text: str) -> str:
    return _URL.sub(" ", text)
