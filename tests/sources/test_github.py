"""GitHub adapter against recorded cassettes (happy path, pagination, PRs, errors, rate limits)."""

from __future__ import annotations

import json

import pytest

from drafter.errors import SourceError
from drafter.sources import load_source

from .conftest import FAKE_GITHUB_TOKEN, Recorder, make_settings

HIKARI = "https://github.com/brettwooldridge/HikariCP/issues/664"


@pytest.mark.vcr
def test_issue_with_paginated_comments(recorder: Recorder) -> None:
    ctx = load_source(HIKARI + "#issuecomment-1", make_settings(recorder))
    assert ctx.tracker == "github"
    assert ctx.repo == "brettwooldridge/HikariCP"
    assert ctx.number == "664"
    assert ctx.kind == "issue"
    assert ctx.state == "closed"
    assert ctx.title == "Null PoolEntry connection causes NPE"
    assert len(ctx.comments) == 8  # three pages of three, two, ... from the fixture server
    assert ctx.comments[0].author == "kvoss-dev"
    assert ctx.comments[0].url.startswith(HIKARI + "#issuecomment-")
    assert ctx.omitted_comments == 0
    assert recorder.sleeps == []
    # Roles from author_association, edits from updated_at, and why and when it was closed.
    assert ctx.roles_known
    roles = {c.author: c.role for c in ctx.comments}
    assert roles["jtorrance"] == "maintainer" and roles["kvoss-dev"] == "participant"
    assert [c.edited for c in ctx.comments[:3]] == [False, True, False]
    assert ctx.state_reason == "completed" and ctx.closed_at.startswith("2016-07-13")
    assert any(f.kind == "decision" and f.author == "jtorrance" for f in ctx.facts)


@pytest.mark.vcr
def test_pull_request_kind_and_merged_state() -> None:
    ctx = load_source("https://github.com/elastic/elasticsearch/pull/146917", make_settings())
    assert ctx.kind == "pull_request"
    assert ctx.state == "merged"
    assert len(ctx.comments) == 1


@pytest.mark.vcr
def test_shorthand_and_labels() -> None:
    ctx = load_source("golang/go#36189", make_settings())
    assert ctx.url == "https://github.com/golang/go/issues/36189"
    assert ctx.labels
    assert len(ctx.comments) == 3


@pytest.mark.vcr
def test_private_repo_with_token() -> None:
    ctx = load_source(
        "https://github.com/acme/private/issues/1", make_settings(github_token=FAKE_GITHUB_TOKEN)
    )
    assert ctx.title == "Null PoolEntry connection causes NPE"


@pytest.mark.vcr
def test_private_repo_without_token_is_not_found() -> None:
    with pytest.raises(SourceError) as info:
        load_source("https://github.com/acme/private/issues/1", make_settings())
    text = str(info.value)
    assert "GitHub issue acme/private#1 not found or no access" in text
    assert "GITHUB_TOKEN" in text
    assert info.value.status == 404


@pytest.mark.vcr
def test_bad_token_is_401() -> None:
    settings = make_settings(github_token="ghp_FAKE000000000000000000000000000BAD")
    with pytest.raises(SourceError) as info:
        load_source(HIKARI, settings)
    assert "(401)" in str(info.value) and "GITHUB_TOKEN" in str(info.value)
    assert "ghp_" not in str(info.value)


@pytest.mark.vcr
def test_deleted_issue_is_410() -> None:
    with pytest.raises(SourceError, match="not found or no access \\(deleted\\)"):
        load_source("https://github.com/acme/gone/issues/3", make_settings())


@pytest.mark.vcr
def test_rate_limit_waits_then_fails_past_max_wait(recorder: Recorder) -> None:
    # The clock sits 5 s before x-ratelimit-reset; with --max-wait 0 drafter must not wait.
    with pytest.raises(SourceError) as info:
        load_source("https://github.com/acme/limited/issues/1", make_settings(recorder, max_wait=0))
    assert "rate limit" in str(info.value) and "--max-wait" in str(info.value)
    assert recorder.sleeps == []


@pytest.mark.vcr
def test_rate_limit_reset_longer_than_budget_after_waiting(recorder: Recorder) -> None:
    # Every answer is a primary-limit 403: drafter waits (6 s each) until --max-wait is used up.
    with pytest.raises(SourceError, match="rate limit"):
        load_source("https://github.com/acme/limited/issues/1", make_settings(recorder, max_wait=13))
    assert recorder.sleeps == [6.0, 6.0]
    assert any("waiting 6 s" in m for m in recorder.messages)


@pytest.mark.vcr
def test_secondary_rate_limit_retry_after_then_success(recorder: Recorder) -> None:
    ctx = load_source("https://github.com/acme/throttled/issues/10235", make_settings(recorder))
    assert ctx.title.startswith("Option to limit")
    assert recorder.sleeps == [3.0]
    assert "rate limit" in recorder.messages[0]


@pytest.mark.vcr
def test_server_error_is_retried(recorder: Recorder) -> None:
    ctx = load_source("https://github.com/acme/flaky/issues/36189", make_settings(recorder))
    assert len(ctx.comments) == 3
    assert recorder.sleeps == [1.0]


@pytest.mark.vcr
def test_transferred_issue_follows_same_host_redirect() -> None:
    ctx = load_source("https://github.com/acme/moved/issues/7", make_settings())
    assert ctx.repo == "acme/new-home"
    assert ctx.url == "https://github.com/acme/new-home/issues/7"
    assert len(ctx.comments) == 3


@pytest.mark.vcr
def test_redirect_to_other_host_is_refused() -> None:
    with pytest.raises(SourceError, match="another host \\(evil.example\\)"):
        load_source("https://github.com/acme/escape/issues/1", make_settings())


@pytest.mark.vcr
def test_truncated_json_is_a_clear_error() -> None:
    with pytest.raises(SourceError, match="truncated or invalid JSON"):
        load_source("https://github.com/acme/broken/issues/1", make_settings())


@pytest.mark.vcr
def test_json_output_round_trips(tmp_path: object) -> None:
    from pathlib import Path

    ctx = load_source(HIKARI, make_settings())
    saved = Path(str(tmp_path)) / "ctx.json"
    saved.write_text(json.dumps(ctx.to_dict()), encoding="utf-8")
    again = load_source(str(saved), make_settings())
    assert again == ctx
