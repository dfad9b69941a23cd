"""Mentioned issues and pull requests: which forms count, canonical URLs, no self-links."""

from __future__ import annotations

from drafter.sources.context import IssueContext
from drafter.sources.links import find_links

GH = IssueContext(
    title="t", body="", tracker="github", url="https://github.com/o/r/issues/5", number="5", repo="o/r"
)


def test_github_forms() -> None:
    text = (
        "Dup of #12, see other/repo#7 and https://github.com/a/b/pull/9/files. "
        "Not #5 (self), not #12 twice, color #fff, https://github.com/o/r/issues/5#issuecomment-1, "
        "https://example.com/page"
    )
    assert find_links(GH, [text]) == (
        "https://github.com/a/b/pull/9",
        "https://github.com/other/repo/issues/7",
        "https://github.com/o/r/issues/12",
    )


def test_gitlab_forms() -> None:
    ctx = IssueContext(
        title="t", body="", tracker="gitlab", url="https://gitlab.com/g/p/-/issues/1", number="1", repo="g/p"
    )
    found = find_links(ctx, ["fixed by !4, blocks #2, see https://gitlab.com/x/y/-/merge_requests/3"])
    assert found == (
        "https://gitlab.com/x/y/-/merge_requests/3",
        "https://gitlab.com/g/p/-/merge_requests/4",
        "https://gitlab.com/g/p/-/issues/2",
    )


def test_jira_keys_only_with_own_prefix() -> None:
    ctx = IssueContext(
        title="t",
        body="",
        tracker="jira",
        url="https://acme.atlassian.net/browse/OBS-1",
        number="OBS-1",
        repo="OBS",
    )
    found = find_links(
        ctx, ["UTF-8 and SHA-256 are not keys; OBS-2 is, OBS-1 is me, https://x.atlassian.net/browse/K-3"]
    )
    assert found == ("https://x.atlassian.net/browse/K-3", "https://acme.atlassian.net/browse/OBS-2")


def test_local_file_without_repo_ignores_bare_numbers() -> None:
    ctx = IssueContext(title="t", body="")
    assert find_links(ctx, ["step #1 then golang/go#36189"]) == ("https://github.com/golang/go/issues/36189",)
