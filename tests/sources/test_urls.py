"""Parsing SOURCE strings: supported forms, tolerated extras and refused URLs."""

from __future__ import annotations

import pytest

from drafter.errors import SourceError
from drafter.sources.urls import GitHubRef, GitLabRef, JiraRef, LocalRef, parse_source


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("https://github.com/o/r/issues/12", GitHubRef("github.com", "o", "r", "12", "issue")),
        ("https://github.com/o/r/pull/3", GitHubRef("github.com", "o", "r", "3", "pull_request")),
        ("https://github.com/o/r/pull/3/files", GitHubRef("github.com", "o", "r", "3", "pull_request")),
        (
            "https://github.com/o/r/issues/12#issuecomment-123",
            GitHubRef("github.com", "o", "r", "12", "issue"),
        ),
        ("http://www.github.com/o/r/issues/12?x=1", GitHubRef("github.com", "o", "r", "12", "issue")),
        ("github.com/o/r/issues/12", GitHubRef("github.com", "o", "r", "12", "issue")),
        ("o/r#12", GitHubRef("github.com", "o", "r", "12", "issue")),
        ("https://ghe.corp:8443/o/r/issues/5", GitHubRef("ghe.corp:8443", "o", "r", "5", "issue")),
        ("https://gitlab.com/g/s/p/-/issues/4", GitLabRef("gitlab.com", None, "g/s/p", "4", "issue")),
        (
            "https://gitlab.com/g/p/-/merge_requests/9",
            GitLabRef("gitlab.com", None, "g/p", "9", "pull_request"),
        ),
        ("https://git.corp/g/p/-/issues/4#note_1", GitLabRef("git.corp", None, "g/p", "4", "issue")),
        ("https://gitlab.com/g/p/issues/4", GitLabRef("gitlab.com", None, "g/p", "4", "issue")),
        (
            "https://acme.atlassian.net/browse/AB-12",
            JiraRef("https://acme.atlassian.net", "acme.atlassian.net", "AB-12"),
        ),
        (
            "https://corp.example/jira/browse/AB-1",
            JiraRef("https://corp.example/jira", "corp.example", "AB-1"),
        ),
        ("-", LocalRef("-")),
        ("notes/issue.md", LocalRef("notes/issue.md")),
    ],
)
def test_supported_forms(spec: str, expected: object) -> None:
    assert parse_source(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("https://user:secretpw@github.com/o/r/issues/1", "embeds credentials"),
        ("https://token@github.com/o/r/issues/1", "embeds credentials"),
        ("ftp://github.com/o/r/issues/1", "only http\\(s\\)"),
        ("file:///etc/passwd", "only http\\(s\\)"),
        ("https://github.com/o/r/issues/abc", "unsupported source"),
        ("https://github.com/o/r", "unsupported source"),
        ("https://gitlab.com/g/p/-/boards/1", "not a GitLab issue"),
        ("https://acme.atlassian.net/browse/lower-1", "KEY-123"),
        ("https://github.com:99999/o/r/issues/1", "malformed URL"),
    ],
)
def test_refused_forms(spec: str, message: str) -> None:
    with pytest.raises(SourceError, match=message) as info:
        parse_source(spec)
    assert "secretpw" not in str(info.value)
    assert "\n" not in str(info.value)
    if "credentials" not in message:
        assert "github.com/OWNER/REPO" in str(info.value)
