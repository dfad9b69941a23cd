"""Turn the SOURCE argument into a typed reference, before anything touches the network.

Parsing first means every tracker adapter receives a checked ``(host, project, number)`` and never a
raw user string: credentials in the URL, odd schemes and unknown path shapes are refused here with
one message that lists the supported forms. Fragments (``#issuecomment-1``) and query strings are
ignored, since they only point inside a page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from drafter.errors import SourceError

SUPPORTED_FORMS = (
    "use https://github.com/OWNER/REPO/issues/N or /pull/N, OWNER/REPO#N, "
    "https://gitlab.com/GROUP/PROJECT/-/issues/N or /-/merge_requests/N, "
    "https://SITE/browse/KEY-123 (Jira), a .md/.txt/.json file, or - for stdin"
)

_NUMBER = re.compile(r"[1-9][0-9]{0,9}")
_JIRA_KEY = re.compile(r"[A-Z][A-Z0-9_]{0,29}-[1-9][0-9]{0,9}")
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
# Forges whose URLs look like GitHub's but whose APIs are not; never guessed to be GitHub Enterprise.
OTHER_FORGES = frozenset(
    {"bitbucket.org", "codeberg.org", "gitea.com", "gitee.com", "sourceforge.net", "dev.azure.com", "sr.ht"}
)
_SHORTHAND = re.compile(r"([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)#([1-9][0-9]{0,9})")


@dataclass(frozen=True)
class GitHubRef:
    """``owner/repo#number`` on github.com or a GitHub Enterprise host."""

    host: str
    owner: str
    repo: str
    number: str
    kind: Literal["issue", "pull_request"]

    @property
    def slug(self) -> str:
        return f"{self.owner}/{self.repo}"


@dataclass(frozen=True)
class GitLabRef:
    """An issue or merge request of a GitLab project (``group/sub/project``)."""

    host: str
    port: int | None
    project: str
    number: str
    kind: Literal["issue", "pull_request"]


@dataclass(frozen=True)
class JiraRef:
    """A Jira issue key on a site; ``base`` keeps a Server context path such as ``/jira``."""

    base: str
    host: str
    key: str


@dataclass(frozen=True)
class LocalRef:
    """A local file, or ``-`` for standard input."""

    path: str


SourceRef = GitHubRef | GitLabRef | JiraRef | LocalRef


def _netloc(host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port is None else f"{shown}:{port}"


def _unsupported(what: str) -> SourceError:
    return SourceError(f"unsupported source {what}", hint=SUPPORTED_FORMS)


def _display(url: str) -> str:
    """The URL as safe to show: without any ``user:password@`` part, and shortened."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    shown = f"{parts.scheme}://{host}{parts.path}" if parts.scheme else url
    return repr(shown[:200])


def parse_url(url: str, *, gitlab_hosts: frozenset[str] = frozenset()) -> GitHubRef | GitLabRef | JiraRef:
    """Parse a tracker web URL; raise :class:`SourceError` naming the supported forms."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise _unsupported(f"{_display(url)} (malformed URL)") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise SourceError(
            f"unsupported URL scheme {parts.scheme!r} in {_display(url)}: only http(s) tracker URLs are fetched",
            hint=SUPPORTED_FORMS,
        )
    if parts.username is not None or parts.password is not None:
        raise SourceError(
            f"refusing URL {_display(url)} because it embeds credentials (user:password@)",
            hint="remove them from the URL and set GITHUB_TOKEN, GITLAB_TOKEN or JIRA_API_TOKEN instead",
        )
    host = (parts.hostname or "").lower()
    if not host:
        raise _unsupported(f"{_display(url)} (no host)")
    segments = [unquote(s) for s in parts.path.split("/") if s]

    if "-" in segments:  # GitLab: /group/sub/project/-/issues/N
        dash = segments.index("-")
        project, rest = segments[:dash], segments[dash + 1 :]
        if project and len(rest) >= 2 and rest[0] in ("issues", "merge_requests", "work_items"):
            if _NUMBER.fullmatch(rest[1]) and all(_NAME.fullmatch(p) for p in project):
                kind: Literal["issue", "pull_request"] = (
                    "pull_request" if rest[0] == "merge_requests" else "issue"
                )
                return GitLabRef(_netloc(host, None), port, "/".join(project), rest[1], kind)
        raise _unsupported(f"{_display(url)} (not a GitLab issue or merge request URL)")

    if "browse" in segments:  # Jira: /browse/KEY-1, maybe under a context path
        at = segments.index("browse")
        if at + 2 == len(segments) and _JIRA_KEY.fullmatch(segments[at + 1]):
            prefix = "/".join(segments[:at])
            base = f"{parts.scheme.lower()}://{_netloc(host, port)}" + (f"/{prefix}" if prefix else "")
            return JiraRef(base, host, segments[at + 1])
        raise _unsupported(f"{_display(url)} (a Jira URL looks like https://SITE/browse/KEY-123)")

    if host in OTHER_FORGES or host.endswith(".sr.ht"):
        raise _unsupported(f"{_display(url)} ({host} is not a supported tracker)")
    if len(segments) >= 4 and segments[2] in ("issues", "pull", "pulls"):
        owner, repo, section, number = segments[:4]
        if _NAME.fullmatch(owner) and _NAME.fullmatch(repo) and _NUMBER.fullmatch(number):
            if host in gitlab_hosts or host == "gitlab.com":  # GitLab's legacy form without /-/
                return GitLabRef(_netloc(host, None), port, f"{owner}/{repo}", number, _kind(section))
            gh_host = _netloc("github.com" if host == "www.github.com" else host, port)
            return GitHubRef(gh_host, owner, repo, number, _kind(section))
    raise _unsupported(_display(url))


def _kind(section: str) -> Literal["issue", "pull_request"]:
    return "issue" if section == "issues" else "pull_request"


def parse_source(spec: str, *, gitlab_hosts: frozenset[str] = frozenset()) -> SourceRef:
    """Classify SOURCE: ``-``, a tracker URL, ``OWNER/REPO#N`` shorthand, or a local path."""
    text = spec.strip()
    if not text:
        raise _unsupported("'' (empty)")
    if text == "-":
        return LocalRef("-")
    if "://" in text:
        return parse_url(text, gitlab_hosts=gitlab_hosts)
    if Path(text).exists():
        return LocalRef(text)
    match = _SHORTHAND.fullmatch(text)
    if match:
        owner, repo, number = match.groups()
        return GitHubRef("github.com", owner, repo, number, "issue")
    first = text.split("/", 1)[0]
    if "." in first and "/" in text and not first.startswith("."):  # github.com/o/r/issues/1
        return parse_url(f"https://{text}", gitlab_hosts=gitlab_hosts)
    return LocalRef(text)
