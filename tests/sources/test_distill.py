"""Distilling a thread: noise dropped and counted, template comments stripped, roles, idempotence."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from drafter.sources import distill, load_source
from drafter.sources.context import Comment, IssueContext
from drafter.sources.distill import BOTS, NOISE, TEMPLATE, TOOLS, is_bot, strip_html_comments
from drafter.sources.github import comment_from, to_context
from drafter.sources.local import from_json
from drafter.sources.roles import role_label

from .conftest import make_settings

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "corpus"


def _thread(*comments: Comment, **kw: object) -> IssueContext:
    return IssueContext(title="t", body="b", repo="acme/widgets", author="reporter1", comments=comments, **kw)  # type: ignore[arg-type]


def _c(cid: str, author: str, body: str, **kw: object) -> Comment:
    return Comment(id=cid, author=author, body=body, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "comment",
    [
        _c("1", "renovate", "Update dependency x", bot=True),  # GitHub: user.type == "Bot"
        _c("2", "dependabot[bot]", "Bumps x from 1 to 2"),
        _c("3", "k8s-triage-robot", "The Kubernetes project currently lacks enough contributors"),
        _c("4", "kubevirt-bot", "Issues go stale after 90d of inactivity."),
        _c("5", "github-actions", "This issue is stale because it has been open 30 days"),
    ],
)
def test_bots_are_dropped_and_counted(comment: Comment) -> None:
    out = distill(_thread(comment, _c("h", "human", "A real point about the pool.")))
    assert [c.id for c in out.comments] == ["h"]
    assert out.dropped == ((BOTS, 1),)


def test_a_login_that_merely_ends_in_bot_is_a_person() -> None:
    assert not is_bot(_c("1", "talbot", "I can reproduce this on 2.4.6."))
    assert not is_bot(_c("1", "abbott", "Same stack here."))


@pytest.mark.parametrize(
    "body", ["+1", "👍", "+1!", "Me too", "same here.", "  ", "bump", "Any news?", "🎉🎉"]
)
def test_votes_nudges_and_empty_comments_are_noise(body: str) -> None:
    out = distill(_thread(_c("1", "u", body), _c("2", "v", "+1, and here is the trace: NPE at line 4")))
    assert [c.id for c in out.comments] == ["2"]
    assert out.dropped == ((NOISE, 1),)


def test_tool_output_under_a_person_is_dropped() -> None:
    graphite = '* **#83763** <a href="https://app.graphite.dev/github/pr/vercel/next.js/83763">Open</a>'
    out = distill(_thread(_c("1", "dev", graphite), _c("2", "dev", "Rebased on canary.")))
    assert [c.id for c in out.comments] == ["2"] and out.dropped == ((TOOLS, 1),)


def test_template_html_comments_go_but_code_and_details_stay() -> None:
    body = (
        "<!-- Thanks for contributing!\nFill in the sections below. -->\n\n"
        "### Why?\n\nThe default changes.\n\n"
        "```html\n<!-- this comment is code and stays -->\n```\n\n"
        "<details><summary>Logs</summary>\n\nline 1\n\n</details>\n"
    )
    text, removed = strip_html_comments(body)
    assert removed == 1
    assert "Thanks for contributing" not in text
    assert "<!-- this comment is code and stays -->" in text
    assert "<details><summary>Logs</summary>" in text and "line 1" in text
    out = distill(IssueContext(title="t", body=body))
    assert out.body == text and out.dropped == ((TEMPLATE, 1),)


def test_corpus_pr_template_comment_is_stripped() -> None:
    ctx = load_source(str(CORPUS / "vercel__next.js__83763.json"), make_settings())
    assert "Thanks for contributing to Next.js" not in ctx.body
    assert "### Why?" in ctx.body
    assert dict(ctx.dropped) == {TEMPLATE: 1, TOOLS: 1}


def test_roles_from_author_association_and_repository_owner() -> None:
    thread = _thread(
        _c("1", "lead", "We will take option 1.", association="MEMBER"),
        _c("2", "helper", "Works for me.", association="COLLABORATOR"),
        _c("3", "boss", "Ship it.", association="OWNER"),
        _c("4", "acme", "Owner account, no association given."),
        _c("5", "reporter1", "Thanks!", association="NONE"),
        _c("6", "passerby", "Same problem on 2.1.", association="CONTRIBUTOR"),
    )
    roles = [c.role for c in distill(thread).comments]
    assert roles == ["maintainer", "maintainer", "maintainer", "maintainer", "reporter", "participant"]


def test_a_maintainer_who_reported_is_labelled_both() -> None:
    ctx = distill(_thread(_c("1", "reporter1", "Adding detail.", association="MEMBER")))
    assert ctx.comments[0].role == "maintainer"
    assert role_label(ctx.comments[0], ctx) == "maintainer, reporter"


def test_github_fields_map_to_roles_bots_edits_and_close_reasons() -> None:
    comments = [
        comment_from(
            {
                "id": 1,
                "user": {"login": "ci", "type": "Bot"},
                "body": "Coverage 91%",
                "created_at": "2024-01-01T10:00:00Z",
                "updated_at": "2024-01-01T10:00:00Z",
            },
            0,
        ),
        comment_from(
            {
                "id": 2,
                "user": {"login": "lead", "type": "User"},
                "author_association": "MEMBER",
                "body": "Closing as not planned: we won't add the flag.",
                "created_at": "2024-01-02T10:00:00Z",
                "updated_at": "2024-01-03T09:00:00Z",
            },
            1,
        ),
    ]
    issue = {
        "title": "Add a flag",
        "body": "Please add --fast.",
        "state": "closed",
        "state_reason": "not_planned",
        "closed_at": "2024-01-02T10:05:00Z",
        "user": {"login": "asker"},
        "author_association": "NONE",
        "html_url": "https://github.com/acme/widgets/issues/9",
    }
    ctx = distill(to_context(issue, comments, None))
    assert comments[0].bot and not comments[1].bot
    assert [c.author for c in ctx.comments] == ["lead"] and ctx.comments[0].edited
    assert ctx.state_reason == "not planned" and ctx.closed_at.startswith("2024-01-02")
    assert ctx.roles_known and ctx.comments[0].role == "maintainer"
    decisions = [f for f in ctx.facts if f.kind == "decision"]
    assert [f.status for f in decisions] == ["closed", "closed"]
    assert decisions[-1].text == "The issue was closed as not planned on 2024-01-02."


def test_distilling_twice_changes_nothing_and_keeps_the_counts() -> None:
    ctx = load_source(str(CORPUS / "kubevirt__kubevirt__9565.json"), make_settings())
    assert ctx.dropped == ((BOTS, 2),)
    assert distill(ctx) == ctx


def test_fetch_json_round_trips_through_a_file() -> None:
    ctx = load_source(str(CORPUS / "brettwooldridge__HikariCP__664.json"), make_settings())
    again = from_json(json.dumps(ctx.to_dict()), label="saved")
    assert again == ctx


def test_a_context_saved_by_an_earlier_version_still_reads() -> None:
    old = {
        "schema": "drafter.issue-context/1",
        "title": "Old",
        "body": "Saved before roles existed.",
        "comments": [
            {"id": "1", "author": "a", "body": "kept", "url": "", "created_at": "", "updated_at": ""}
        ],
        "omitted_comments": 4,
        "omitted_at": 1,
    }
    ctx = from_json(json.dumps(old), label="old.json")
    assert ctx.comments[0].role == "" and ctx.gaps[0].at == 1 and ctx.gaps[0].comments == 4
    assert replace(ctx, gaps=()).omitted_comments == 4


def test_people_who_link_to_tools_are_kept_and_a_vote_against_is_kept() -> None:
    comments = (
        _c(
            "1",
            "lead",
            "We won't merge this: coverage drops, see https://codecov.io/gh/o/r/pull/5",
            association="OWNER",
        ),
        _c("2", "dev", "I propose we split it; the stack is at https://app.graphite.dev/github/pr/o/r/5"),
        _c("3", "dev2", "-1"),
    )
    out = distill(_thread(*comments))
    assert [c.id for c in out.comments] == ["1", "2", "3"] and out.dropped == ()


def test_html_comments_in_inline_code_stay() -> None:
    text, removed = strip_html_comments(
        "Use `<!-- x -->` to hide text.<!-- template --> Then a <<!-- a -->!-- b --> c"
    )
    assert text == "Use `<!-- x -->` to hide text. Then a  c" and removed == 3


def test_a_saved_trimmed_context_keeps_the_facts_of_the_comments_it_left_out() -> None:
    from drafter.sources.context import Gap

    comments = (
        _c("1", "u1", "It breaks on 2.1."),
        _c("2", "lead", "We won't add the --fast flag.", association="MEMBER"),
        _c("3", "u3", "Thanks."),
    )
    full = distill(_thread(*comments))
    # As --max-context leaves it when the middle comment does not fit: the facts stay.
    trimmed = replace(
        full, comments=(full.comments[0], full.comments[2]), omitted_comments=1, gaps=(Gap(1, 1, 29),)
    )
    saved = from_json(json.dumps(trimmed.to_dict()), label="saved")
    assert any(f.source == "comment:2" and f.status == "declined" for f in saved.facts)
    assert saved == trimmed
