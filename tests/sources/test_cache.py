"""The conditional-request cache of tracker GETs: 304s served from disk, keys, privacy, bad entries."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import httpx2
import pytest

from drafter.sources import SourceSettings, load_source
from drafter.sources.cache import HttpCache, identity
from tests.support.fake_github import FakeGitHub

from .conftest import Recorder, make_settings

TOKEN = "ghp_FAKE_cache_token_0000000000000000"
URL = "https://github.com/o/r/issues/1"


def _settings(cache: Path | None, recorder: Recorder | None = None, **overrides: Any) -> SourceSettings:
    values: dict[str, Any] = {"github_api_url": None, "gitlab_api_url": None, "jira_base_url": None}
    values.update(overrides)
    return make_settings(recorder, cache_dir=cache, **values)


def _entries(folder: Path) -> list[Path]:
    return sorted((folder / "http").glob("*.json"))


def test_second_run_is_all_304s_with_the_same_result(tmp_path: Path) -> None:
    fake = FakeGitHub(issues=1, comments={1: 250})
    settings = _settings(tmp_path)
    first = load_source(URL, settings, transport=fake.transport())
    assert (fake.requests, fake.not_modified) == (4, 0)  # the issue and 3 pages of comments
    assert len(_entries(tmp_path)) == 4
    second = load_source(URL, settings, transport=fake.transport())
    assert (fake.requests, fake.not_modified) == (8, 4)
    assert second == first
    assert [c.id for c in second.comments] == [str(100_001 + i) for i in range(250)]
    assert all("if-none-match" in seen and "if-modified-since" in seen for seen in fake.seen[4:])


def test_a_changed_issue_is_fetched_and_its_entry_replaced(tmp_path: Path) -> None:
    fake = FakeGitHub(issues=1)
    settings = _settings(tmp_path)
    load_source(URL, settings, transport=fake.transport())
    fake.touch(1)
    changed = load_source(URL, settings, transport=fake.transport())
    assert changed.title == "Issue 1 (version 1)"
    assert fake.not_modified == 0
    again = load_source(URL, settings, transport=fake.transport())
    assert again.title == "Issue 1 (version 1)"
    assert fake.not_modified == 1


def test_cache_off_sends_no_validators_and_writes_nothing(tmp_path: Path) -> None:
    fake = FakeGitHub(issues=1)
    for _ in range(2):
        load_source(URL, _settings(None), transport=fake.transport())
    assert fake.not_modified == 0
    assert all("if-none-match" not in seen for seen in fake.seen)
    assert list(tmp_path.iterdir()) == []


def test_no_token_on_disk_and_each_identity_has_its_own_entries(tmp_path: Path) -> None:
    fake = FakeGitHub(issues=1)
    with_token = _settings(tmp_path, github_token=TOKEN)
    load_source(URL, with_token, transport=fake.transport())
    assert fake.seen[0]["authorization"] == f"Bearer {TOKEN}"
    for path in _entries(tmp_path):
        text = path.read_text(encoding="utf-8")
        assert TOKEN not in text and TOKEN not in path.name
        assert "authorization" not in text.lower() and "x-ratelimit" not in text.lower()
        assert set(json.loads(text)) == {"format", "url", "status", "headers", "body"}
    # The same URL without the token is another entry: no validator from the token's answer.
    load_source(URL, _settings(tmp_path), transport=fake.transport())
    assert "if-none-match" not in fake.seen[1]
    assert len(_entries(tmp_path)) == 2
    load_source(URL, with_token, transport=fake.transport())
    assert "if-none-match" in fake.seen[2]


def test_identity_is_a_hash_or_anon() -> None:
    assert identity({}) == "anon"
    who = identity({"Authorization": f"Bearer {TOKEN}"})
    assert len(who) == 64 and TOKEN not in who
    assert who != identity({"Authorization": "Bearer other"})


def test_files_are_private(tmp_path: Path) -> None:
    load_source(URL, _settings(tmp_path / "cache"), transport=FakeGitHub().transport())
    folder = tmp_path / "cache" / "http"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "cache").stat().st_mode) == 0o700
    for path in _entries(tmp_path / "cache"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(folder.glob(".tmp-*"))  # nothing left half-written


@pytest.mark.parametrize(
    "damage",
    [
        lambda entry: b"\x00\xffnot json",
        lambda entry: b'{"format": 1, "url": "',
        lambda entry: json.dumps([entry]).encode(),
        lambda entry: json.dumps({**entry, "format": 99}).encode(),
        lambda entry: json.dumps({**entry, "url": "https://api.github.com/elsewhere"}).encode(),
        lambda entry: json.dumps({**entry, "body": "{broken"}).encode(),
        lambda entry: json.dumps({**entry, "headers": {"etag": '"x"\r\nX-Evil: 1'}}).encode(),
        lambda entry: json.dumps({**entry, "headers": {"etag": 5}}).encode(),
        lambda entry: json.dumps({**entry, "status": 404}).encode(),
    ],
    ids=["binary", "torn", "list", "format", "url", "body", "header-injection", "header-type", "status"],
)
def test_a_corrupt_entry_is_a_miss_and_is_rewritten(tmp_path: Path, damage: Any) -> None:
    fake = FakeGitHub(issues=1)
    settings = _settings(tmp_path)
    first = load_source(URL, settings, transport=fake.transport())
    [path] = _entries(tmp_path)
    path.write_bytes(damage(json.loads(path.read_bytes())))
    again = load_source(URL, settings, transport=fake.transport())
    assert again == first
    assert "if-none-match" not in fake.seen[1]
    assert json.loads(path.read_bytes())["format"] == 1  # replaced by the fresh answer
    load_source(URL, settings, transport=fake.transport())
    assert fake.not_modified == 1


def test_an_unreadable_entry_is_a_miss(tmp_path: Path) -> None:
    fake = FakeGitHub(issues=1)
    settings = _settings(tmp_path)
    load_source(URL, settings, transport=fake.transport())
    [path] = _entries(tmp_path)
    path.unlink()
    path.mkdir()  # reading it raises IsADirectoryError whoever runs the tests, root included
    load_source(URL, settings, transport=fake.transport())
    assert "if-none-match" not in fake.seen[1]


def test_an_unwritable_folder_warns_once_and_fetches_anyway(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    recorder = Recorder()
    settings = _settings(blocker / "cache", recorder)
    fake = FakeGitHub(issues=1, comments={1: 3})
    first = load_source(URL, settings, transport=fake.transport())
    second = load_source(URL, settings, transport=fake.transport())
    assert first == second and first.comments
    assert len(recorder.messages) == 1
    assert recorder.messages[0].startswith("HTTP cache off for this run: cannot write to ")
    assert "\n" not in recorder.messages[0]


def test_answers_without_validators_or_marked_no_store_are_not_kept(tmp_path: Path) -> None:
    load_source(URL, _settings(tmp_path), transport=FakeGitHub(etags=False).transport())
    assert _entries(tmp_path) == []

    def no_store(request: httpx2.Request) -> httpx2.Response:
        issue = FakeGitHub().issue("o", "r", 1)
        headers = {"ETag": '"1"', "Cache-Control": "private, no-store"}
        return httpx2.Response(200, json=issue, headers=headers)

    load_source(URL, _settings(tmp_path), transport=httpx2.MockTransport(no_store))
    assert _entries(tmp_path) == []


def test_a_304_with_a_new_etag_renews_the_entry(tmp_path: Path) -> None:
    cache = HttpCache(tmp_path)
    key = cache.key("https://x/1", {"Accept": "a"}, "anon")
    cache.store(key, "https://x/1", {"etag": '"old"', "x-ratelimit-remaining": "1"}, b'{"title": "T"}')
    served: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        served.append(request.headers.get("if-none-match", ""))
        return httpx2.Response(304, headers={"ETag": '"new"'})

    from drafter.sources.http import Target, TrackerHttp

    with httpx2.Client(transport=httpx2.MockTransport(handler)) as client:
        http = TrackerHttp(
            client,
            _settings(tmp_path),
            api_base="https://x",
            target=Target("GitHub", "issue o/r#1", "GITHUB_TOKEN"),
            headers={"Accept": "a"},
        )
        reply = http.get_json("https://x/1")
        assert (reply.status, reply.data, reply.cached) == (200, {"title": "T"}, True)
        http.get_json("https://x/1")
    assert served == ['"old"', '"new"']


def test_gitlab_pages_come_back_from_the_cache_with_their_x_next_page(tmp_path: Path) -> None:
    notes = [{"id": i, "body": f"note {i}", "author": {"username": "u"}} for i in range(1, 251)]
    statuses: list[int] = []

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/notes"):
            page = int(request.url.params.get("page", "1"))
            payload: Any = notes[(page - 1) * 100 : page * 100]
            headers = {"ETag": f'"notes-{page}"'}
            if page < 3:
                headers["x-next-page"] = str(page + 1)  # no Link: GitLab's own header only
        else:
            payload = {"iid": 4, "title": "T", "web_url": "https://gitlab.com/g/p/-/issues/4"}
            headers = {"ETag": '"issue"'}
        status = 304 if request.headers.get("if-none-match") == headers["ETag"] else 200
        statuses.append(status)
        return httpx2.Response(status, json=None if status == 304 else payload, headers=headers)

    settings = _settings(tmp_path, page_concurrency=1)
    transport = httpx2.MockTransport(handle)
    first = load_source("https://gitlab.com/g/p/-/issues/4", settings, transport=transport)
    second = load_source("https://gitlab.com/g/p/-/issues/4", settings, transport=transport)
    assert second == first and len(first.comments) == 250
    assert statuses == [200] * 4 + [304] * 4
