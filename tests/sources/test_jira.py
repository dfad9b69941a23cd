"""Jira adapter against recorded cassettes: Cloud v3 (ADF) and Server v2, comment paging, errors."""

from __future__ import annotations

import pytest

from drafter.errors import SourceError
from drafter.sources import load_source

from .conftest import make_settings


@pytest.mark.vcr
def test_cloud_v3_adf_and_paged_comments() -> None:
    settings = make_settings(jira_email="me@example.com", jira_api_token="fake-jira-token")
    ctx = load_source("https://acme.atlassian.net/browse/VITE-109", settings)
    assert ctx.tracker == "jira"
    assert ctx.number == "VITE-109"
    assert ctx.url == "https://acme.atlassian.net/browse/VITE-109"
    assert ctx.title.startswith("HMR fails")
    assert "### Describe the bug" in ctx.body
    assert "```" in ctx.body  # code blocks survive the ADF conversion
    assert len(ctx.comments) == 7  # three pages of up to three
    assert ctx.comments[0].url.endswith("?focusedCommentId=10000")
    assert "https://acme.atlassian.net/browse/VITE-110" in ctx.links


@pytest.mark.vcr
def test_server_v2_wiki_text_with_pat() -> None:
    settings = make_settings(jira_pat="fake-pat")
    ctx = load_source("https://jira.example.org/browse/HIKARI-664", settings)
    assert ctx.state == "Done"
    assert ctx.body.startswith("We're on Hikari 2.4.5")
    assert len(ctx.comments) == 8


@pytest.mark.vcr
def test_missing_issue() -> None:
    with pytest.raises(SourceError, match="Jira issue NOPE-1 not found or no access"):
        load_source("https://acme.atlassian.net/browse/NOPE-1", make_settings())


@pytest.mark.vcr
def test_bad_credentials() -> None:
    settings = make_settings(jira_email="me@example.com", jira_api_token="BAD")
    with pytest.raises(SourceError, match="refused the credentials.*JIRA_EMAIL"):
        load_source("https://acme.atlassian.net/browse/VITE-109", settings)
