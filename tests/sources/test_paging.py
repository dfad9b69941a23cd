"""Comment pages fetched together when the count is known, in order, bounded; Link-following otherwise."""

from __future__ import annotations

import threading
from typing import Any

import httpx2
import pytest

from drafter.errors import SourceError
from drafter.sources import SourceSettings, load_source
from drafter.sources.http import HttpReply, links_of, next_page
from tests.support.fake_github import FakeGitHub

from .conftest import make_settings

URL = "https://github.com/o/r/issues/1"
HANG_GUARD = 60.0  # seconds; only reached if the code under test is broken


def _settings(**overrides: Any) -> SourceSettings:
    values: dict[str, Any] = {"github_api_url": None, "gitlab_api_url": None, "jira_base_url": None}
    values.update(overrides)
    return make_settings(**values)


def _gated(fake: FakeGitHub, width: int) -> httpx2.MockTransport:
    """The fake, but the first numbered comment pages (page 2 on) wait until ``width`` of them are
    in flight at once: the test passes only if they really are requested together (no clock)."""
    inner = fake.transport()
    lock = threading.Lock()
    waiting = [0]
    opened = threading.Event()

    def handle(request: httpx2.Request) -> httpx2.Response:
        if "page" in request.url.params and not opened.is_set():
            with lock:
                waiting[0] += 1
                if waiting[0] >= width:
                    opened.set()
            assert opened.wait(HANG_GUARD), "the comment pages were not requested concurrently"
        return inner.handle_request(request)

    return httpx2.MockTransport(handle)


def test_3000_comments_come_in_order_with_bounded_concurrency() -> None:
    fake = FakeGitHub(issues=1, comments={1: 3000})
    ctx = load_source(URL, _settings(page_concurrency=4, max_context=10_000_000), transport=_gated(fake, 4))
    assert [c.id for c in ctx.comments] == [str(100_001 + i) for i in range(3000)]
    assert fake.requests == 31  # the issue and 30 pages, none twice
    assert fake.most_in_flight <= 4


def test_one_at_a_time_when_asked() -> None:
    fake = FakeGitHub(issues=1, comments={1: 450})
    ctx = load_source(URL, _settings(page_concurrency=1), transport=fake.transport())
    assert len(ctx.comments) == 450
    assert fake.most_in_flight == 1


@pytest.mark.parametrize("stated", [None, 120, 900, 450])
def test_a_missing_or_wrong_count_still_gets_every_comment_once(stated: int | None) -> None:
    fake = FakeGitHub(issues=1, comments={1: 450}, stated={1: stated})
    ctx = load_source(URL, _settings(max_context=10_000_000), transport=fake.transport())
    assert [c.id for c in ctx.comments] == [str(100_001 + i) for i in range(450)]
    pages = fake.paths["/repos/o/r/issues/1/comments"]
    assert pages == (9 if stated == 900 else 5)  # a count too high asks for empty pages, no more


def test_without_a_count_the_last_link_plans_the_rest() -> None:
    fake = FakeGitHub(issues=1, comments={1: 1000}, stated={1: None})
    load_source(URL, _settings(page_concurrency=4, max_context=10_000_000), transport=_gated(fake, 4))
    assert fake.paths["/repos/o/r/issues/1/comments"] == 10


def test_small_server_pages_are_followed_after_the_plan() -> None:
    fake = FakeGitHub(issues=1, comments={1: 250}, page_cap=30)  # per_page=100 is not honoured
    ctx = load_source(URL, _settings(max_context=10_000_000), transport=fake.transport())
    assert [c.id for c in ctx.comments] == [str(100_001 + i) for i in range(250)]
    assert fake.paths["/repos/o/r/issues/1/comments"] == 9


def test_too_many_pages_fails_before_fetching_them() -> None:
    fake = FakeGitHub(issues=1, comments={1: 10}, stated={1: 10_001})
    with pytest.raises(SourceError, match="more than 100 pages"):
        load_source(URL, _settings(), transport=fake.transport())
    assert fake.requests == 1


def test_a_failing_page_is_a_clear_error() -> None:
    fake = FakeGitHub(issues=1, comments={1: 800})
    inner = fake.transport()

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.url.params.get("page") == "5":
            return httpx2.Response(404, json={"message": "Not Found"})
        return inner.handle_request(request)

    with pytest.raises(SourceError, match="not found"):
        load_source(URL, _settings(), transport=httpx2.MockTransport(handle))


def test_gitlab_plans_from_the_user_note_count_then_x_total_pages() -> None:
    notes = [
        {"id": i, "body": f"note {i}", "author": {"username": "u"}, "system": i % 2 == 0}
        for i in range(1, 501)
    ]
    asked: list[str] = []
    lock = threading.Lock()

    def handle(request: httpx2.Request) -> httpx2.Response:
        with lock:
            asked.append(str(request.url))
        if not request.url.path.endswith("/notes"):
            item = {"iid": 4, "title": "T", "web_url": "https://gitlab.com/g/p/-/issues/4"}
            return httpx2.Response(200, json={**item, "user_notes_count": 250})
        page = int(request.url.params.get("page", "1"))
        chunk = notes[(page - 1) * 100 : page * 100]
        headers = {"x-total-pages": "5", "x-total": "500"}
        if page < 5:
            headers["x-next-page"] = str(page + 1)
        return httpx2.Response(200, json=chunk, headers=headers)

    ctx = load_source(
        "https://gitlab.com/g/p/-/issues/4",
        _settings(max_context=10_000_000),
        transport=httpx2.MockTransport(handle),
    )
    assert [c.id for c in ctx.comments] == [str(i) for i in range(1, 501, 2)]
    assert len(asked) == 6  # the issue and 5 pages, none twice


@pytest.mark.parametrize("short_at", [None, 100])
def test_jira_pages_after_the_first_come_together(short_at: int | None) -> None:
    comments = [{"id": str(i), "body": f"c{i}", "author": {"displayName": "x"}} for i in range(260)]
    asked: list[int] = []
    lock = threading.Lock()

    def handle(request: httpx2.Request) -> httpx2.Response:
        if not request.url.path.endswith("/comment"):
            fields = {"summary": "S", "description": "D", "status": {"name": "Open"}}
            return httpx2.Response(200, json={"key": "AB-1", "fields": fields})
        start = int(request.url.params["startAt"])
        with lock:
            asked.append(start)
        # The server's own page size is below maxResults, and one page may come back shorter.
        page = comments[start : start + (30 if start == short_at else 50)]
        return httpx2.Response(200, json={"startAt": start, "total": len(comments), "comments": page})

    ctx = load_source(
        "https://acme.atlassian.net/browse/AB-1",
        _settings(max_context=10_000_000),
        transport=httpx2.MockTransport(handle),
    )
    assert [c.id for c in ctx.comments] == [str(i) for i in range(260)]
    assert asked[0] == 0
    if short_at is None:
        assert sorted(asked) == [0, 50, 100, 150, 200, 250]


def test_link_relations_come_from_httpx2() -> None:
    def reply(link: str) -> HttpReply:
        response = httpx2.Response(200, headers={"link": link})
        return HttpReply("https://api.github.com/x?page=1", 200, response.headers, [], links_of(response))

    assert next_page(reply('</x?page=2>; rel="next", </x?page=9>; rel="last"'))[0] == (
        "https://api.github.com/x?page=2"
    )
    assert next_page(reply('<>; rel="next"'))[0] is None  # an empty target is not a next page
    assert next_page(reply("garbage"))[0] is None
    gitlab = HttpReply("https://g/x?page=1", 200, httpx2.Headers({"x-next-page": "2"}), [])
    assert next_page(gitlab)[0] == "https://g/x?page=2"


def test_page_concurrency_must_be_positive() -> None:
    from drafter.errors import ConfigError

    with pytest.raises(ConfigError, match="page_concurrency"):
        SourceSettings(page_concurrency=0)
