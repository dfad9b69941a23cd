"""List a GitHub repository's issues by label and state, for ``drafter batch --repo --label``.

The listing goes through the same guarded :class:`~drafter.sources.http.TrackerHttp` as single
issues (host policy, token binding, retries, rate-limit waits, ``Link`` pagination). GitHub's
issues endpoint also returns pull requests (they carry a ``pull_request`` key); they are left out
unless asked for. The result is one issue URL per item, which ``batch`` then fetches one by one
(with comments) like any other SOURCE.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import httpx2

from drafter.errors import InputError, SourceError
from drafter.sources.github import HEADERS, PUBLIC_API, TOKEN_ENV, token_auth
from drafter.sources.http import Target, TrackerHttp, make_client
from drafter.sources.settings import SourceSettings

State = Literal["open", "closed", "all"]
_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


def parse_repo(text: str) -> tuple[str, str]:
    """``OWNER/REPO`` -> ``(owner, repo)``; raises :class:`InputError` on anything else."""
    value = text.strip()
    if not _REPO.fullmatch(value) or value.split("/")[1] in (".", ".."):
        raise InputError(f"--repo must be OWNER/REPO, got {text!r}", hint="for example --repo acme/widgets")
    owner, _, repo = value.partition("/")
    return owner, repo


def list_issues(
    repo: str,
    label: str,
    settings: SourceSettings,
    *,
    state: State = "open",
    include_prs: bool = False,
    transport: httpx2.BaseTransport | None = None,
) -> list[str]:
    """URLs of the issues of ``repo`` (``OWNER/REPO``) carrying ``label``, oldest number first."""
    owner, name = parse_repo(repo)
    if state not in ("open", "closed", "all"):
        raise InputError(f"--state must be open, closed or all, got {state!r}")
    if not label.strip():
        raise InputError("--label must not be empty", hint="name the label that marks issues for design")
    base = settings.github_api_url or PUBLIC_API
    urls: dict[int, str] = {}
    with make_client(settings, transport) as client:
        http = TrackerHttp(
            client,
            settings,
            api_base=base,
            target=Target("GitHub", f"issues of {owner}/{name} labelled {label!r}", TOKEN_ENV),
            headers=HEADERS,
            auth=token_auth(settings, base),
        )
        params = {"labels": label.strip(), "state": state, "per_page": "100"}
        for page in http.pages(http.url(f"repos/{owner}/{name}/issues"), params):
            for item in page:
                entry = _entry(item, owner, name, include_prs)
                if entry is not None:
                    urls.setdefault(entry[0], entry[1])
    return [urls[number] for number in sorted(urls)]


def _entry(item: Any, owner: str, repo: str, include_prs: bool) -> tuple[int, str] | None:
    if not isinstance(item, dict) or not isinstance(item.get("number"), int):
        raise SourceError(
            f"GitHub returned an unexpected shape for the issues of {owner}/{repo} (no number)",
            hint="check that GITHUB_API_URL points at a GitHub API",
        )
    if item.get("pull_request") and not include_prs:
        return None
    number = int(item["number"])
    url = str(item.get("html_url") or "")
    return number, url or f"{owner}/{repo}#{number}"
