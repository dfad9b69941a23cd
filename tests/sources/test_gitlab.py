"""GitLab adapter against recorded cassettes: issues, merge requests, notes pagination, errors."""

from __future__ import annotations

import pytest

from drafter.errors import SourceError
from drafter.sources import load_source

from .conftest import FAKE_GITLAB_TOKEN, Recorder, make_settings


@pytest.mark.vcr
def test_issue_with_paginated_notes_without_system_notes() -> None:
    ctx = load_source("https://gitlab.com/kubevirt/kubevirt/-/issues/9565", make_settings())
    assert ctx.tracker == "gitlab"
    assert ctx.repo == "kubevirt/kubevirt"
    assert ctx.kind == "issue"
    # 11 notes over 4 pages: 4 system notes are dropped, and 2 by the project's stale bot.
    assert len(ctx.comments) == 5
    assert ctx.dropped == (("bot comment", 2),)
    assert all(c.author not in ("gitlab-bot", "kubevirt-bot") for c in ctx.comments)
    # GitLab's notes API says nothing of roles: the reporter is known, everyone else participates.
    assert not ctx.roles_known and {c.role for c in ctx.comments} == {"participant"}
    assert ctx.comments[0].url == "https://gitlab.com/kubevirt/kubevirt/-/issues/9565#note_7000"
    assert ctx.reference == "kubevirt/kubevirt#9565"


@pytest.mark.vcr
def test_merge_request() -> None:
    ctx = load_source("https://gitlab.com/pandas-dev/pandas/-/merge_requests/51463", make_settings())
    assert ctx.kind == "pull_request"
    assert ctx.state == "merged"
    assert ctx.reference == "pandas-dev/pandas!51463"


@pytest.mark.vcr
def test_private_project_needs_token() -> None:
    with pytest.raises(SourceError) as info:
        load_source("https://gitlab.com/acme/private/-/issues/664", make_settings())
    assert "GitLab issue acme/private#664 not found or no access" in str(info.value)
    assert "GITLAB_TOKEN" in str(info.value)


@pytest.mark.vcr
def test_private_project_with_token() -> None:
    settings = make_settings(gitlab_token=FAKE_GITLAB_TOKEN)
    ctx = load_source("https://gitlab.com/acme/private/-/issues/664", settings)
    assert ctx.title == "Null PoolEntry connection causes NPE"


@pytest.mark.vcr
def test_bad_token() -> None:
    with pytest.raises(SourceError, match="refused the credentials"):
        load_source(
            "https://gitlab.com/kubevirt/kubevirt/-/issues/9565", make_settings(gitlab_token="glpat-BAD")
        )


@pytest.mark.vcr
def test_rate_limited_then_ok(recorder: Recorder) -> None:
    ctx = load_source("https://gitlab.com/acme/throttled/-/issues/10235", make_settings(recorder))
    assert ctx.title.startswith("Option to limit")
    assert recorder.sleeps == [2.0]
