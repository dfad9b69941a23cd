"""Issue sources: turn a tracker URL, a local file or stdin, plus notes, into one IssueContext.

Usage::

    settings = SourceSettings.from_env(os.environ)
    ctx = load_source("https://github.com/owner/repo/issues/12", settings)
    ctx = ctx.with_notes(load_notes(["we must keep the v1 API"]))
    print(render_context_markdown(ctx))

Everything downstream reads only :class:`~drafter.sources.context.IssueContext`, so the trackers' quirks
stay in this package: URL parsing (``urls``), the guarded HTTP client (``http``), one adapter per
tracker, local files (``local``), mentioned links (``links``) and the ``--max-context`` budget
(``budget``). httpx2 is imported only when a tracker URL is fetched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, BinaryIO

from drafter.sources.budget import apply_budget
from drafter.sources.context import IssueContext
from drafter.sources.distill import distill
from drafter.sources.links import find_links
from drafter.sources.local import load_local, load_notes
from drafter.sources.render import render_context_markdown
from drafter.sources.settings import Secret, SourceSettings
from drafter.sources.urls import GitHubRef, GitLabRef, JiraRef, LocalRef, SourceRef, parse_source

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "Secret",
    "SourceRef",
    "SourceSettings",
    "apply_budget",
    "distill",
    "fetch_ref",
    "fetch_source",
    "finish_context",
    "finish_source",
    "load_notes",
    "load_source",
    "parse_source",
    "render_context_markdown",
]


def fetch_ref(
    ref: SourceRef,
    settings: SourceSettings,
    *,
    transport: httpx2.BaseTransport | None = None,
    stdin: Callable[[], BinaryIO] | None = None,
) -> IssueContext:
    """Load ``ref`` as it is, with no budget applied and no links added."""
    if isinstance(ref, LocalRef):
        return load_local(ref.path, stdin=stdin)
    from drafter.sources.http import make_client

    with make_client(settings, transport) as client:
        if isinstance(ref, GitHubRef):
            from drafter.sources.github import fetch_github

            return fetch_github(ref, settings, client)
        if isinstance(ref, GitLabRef):
            from drafter.sources.gitlab import fetch_gitlab

            return fetch_gitlab(ref, settings, client)
        from drafter.sources.jira import fetch_jira

        assert isinstance(ref, JiraRef)
        return fetch_jira(ref, settings, client)


def load_source(
    spec: str,
    settings: SourceSettings,
    *,
    transport: httpx2.BaseTransport | None = None,
    stdin: Callable[[], BinaryIO] | None = None,
) -> IssueContext:
    """Fetch or read SOURCE (URL, ``OWNER/REPO#N``, file path or ``-``) into an IssueContext.

    The thread is distilled (noise dropped, roles, typed facts: :mod:`drafter.sources.distill`),
    mentioned issues/PRs are added to ``links`` and the ``settings.max_context`` budget is applied.
    Raises :class:`~drafter.errors.SourceError` / :class:`~drafter.errors.InputError` with a
    one-line message saying how to fix the problem.
    """
    return finish_source(fetch_source(spec, settings, transport=transport, stdin=stdin), settings)


def fetch_source(
    spec: str,
    settings: SourceSettings,
    *,
    transport: httpx2.BaseTransport | None = None,
    stdin: Callable[[], BinaryIO] | None = None,
) -> IssueContext:
    """The first half of :func:`load_source`: SOURCE as fetched or read, not yet distilled."""
    gitlab_hosts: frozenset[str] = frozenset()
    if settings.gitlab_api_url:
        from urllib.parse import urlsplit

        gitlab_hosts = frozenset({(urlsplit(settings.gitlab_api_url).hostname or "").lower()})
    ref = parse_source(spec, gitlab_hosts=gitlab_hosts)
    return fetch_ref(ref, settings, transport=transport, stdin=stdin)


def finish_source(raw: IssueContext, settings: SourceSettings) -> IssueContext:
    """The second half of :func:`load_source`: distil ``raw``, add its links, apply the budget.

    A pure function of ``raw``, ``settings.max_context`` and drafter's code, which is what lets
    :mod:`drafter.sources.memo` remember its result's hash.
    """
    return finish_context(raw, settings.max_context)


def finish_context(raw: IssueContext, max_context: int) -> IssueContext:
    """:func:`finish_source` with the one setting it reads (picklable: a batch's worker runs it)."""
    ctx = distill(raw)
    texts = [ctx.title, ctx.body, *(c.body for c in ctx.comments)]
    mentioned = find_links(ctx, texts)
    links = ctx.links + tuple(url for url in mentioned if url not in ctx.links)
    if links != ctx.links:
        ctx = replace(ctx, links=links)
    return apply_budget(ctx, max_context)
