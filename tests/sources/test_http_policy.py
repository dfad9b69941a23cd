"""The guarded HTTP layer with httpx2.MockTransport: host policy, token binding, retries, caps."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from drafter.errors import SourceError
from drafter.sources import SourceSettings, load_source
from drafter.sources.settings import Secret

from .conftest import Recorder, make_settings

ISSUE = {"number": 1, "title": "T", "body": "B", "state": "open", "comments": 0, "user": {"login": "a"}}
Handler = Callable[[httpx2.Request], httpx2.Response]


def _mock(handler: Handler, seen: list[httpx2.Request]) -> httpx2.MockTransport:
    def wrapped(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return handler(request)

    return httpx2.MockTransport(wrapped)


def _public(recorder: Recorder | None = None, **overrides: Any) -> SourceSettings:
    values: dict[str, Any] = {"github_api_url": None, "gitlab_api_url": None, "jira_base_url": None}
    values.update(overrides)
    return make_settings(recorder, **values)


def test_token_goes_only_to_its_host() -> None:
    seen: list[httpx2.Request] = []
    transport = _mock(
        lambda r: httpx2.Response(200, json={**ISSUE, "html_url": "https://ghe.corp/o/r/issues/1"}), seen
    )
    settings = _public(github_token=Secret("ghp_FAKE_secret_value_000000000000"))
    load_source("https://ghe.corp/o/r/issues/1", settings, transport=transport)
    assert str(seen[0].url) == "https://ghe.corp/api/v3/repos/o/r/issues/1"
    assert "authorization" not in seen[0].headers  # the github.com token stays away from other hosts
    seen.clear()
    load_source("https://github.com/o/r/issues/1", settings, transport=transport)
    assert str(seen[0].url) == "https://api.github.com/repos/o/r/issues/1"
    assert seen[0].headers["authorization"] == "Bearer ghp_FAKE_secret_value_000000000000"


def test_gitlab_token_header_and_self_managed_base() -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/notes"):
            return httpx2.Response(200, json=[])
        return httpx2.Response(
            200, json={"iid": 4, "title": "T", "web_url": "https://gitlab.com/g/p/-/issues/4"}
        )

    settings = _public(gitlab_token=Secret("glpat-FAKE0000000"))
    load_source("https://gitlab.com/g/sub/p/-/issues/4", settings, transport=_mock(handler, seen))
    assert seen[0].url.raw_path == b"/api/v4/projects/g%2Fsub%2Fp/issues/4"
    assert seen[0].headers["private-token"] == "glpat-FAKE0000000"
    seen.clear()
    load_source("https://git.example.org/g/p/-/issues/4", settings, transport=_mock(handler, seen))
    assert str(seen[0].url).startswith("https://git.example.org/api/v4/")
    assert "private-token" not in seen[0].headers


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/o/r/issues/1",
        "https://10.1.2.3/g/p/-/issues/1",
        "https://169.254.169.254/browse/AB-1",
        "https://[::1]/o/r/issues/1",
    ],
)
def test_private_hosts_are_refused_unless_configured(url: str) -> None:
    seen: list[httpx2.Request] = []
    transport = _mock(lambda r: httpx2.Response(200, json=ISSUE), seen)
    with pytest.raises(SourceError, match="private or loopback"):
        load_source(url, _public(), transport=transport)
    assert seen == []


def test_hostname_resolving_to_private_address_is_refused() -> None:
    seen: list[httpx2.Request] = []
    settings = _public(resolve=lambda host: ["192.168.1.20"])
    with pytest.raises(SourceError, match="refusing to contact git.internal"):
        load_source(
            "https://git.internal/g/p/-/issues/1",
            settings,
            transport=_mock(lambda r: httpx2.Response(200), seen),
        )
    assert seen == []


def test_configured_private_host_is_allowed() -> None:
    seen: list[httpx2.Request] = []
    settings = _public(github_api_url="http://10.0.0.5:8080/api/v3")
    load_source(
        "https://github.com/o/r/issues/1",
        settings,
        transport=_mock(lambda r: httpx2.Response(200, json=ISSUE), seen),
    )
    assert str(seen[0].url) == "http://10.0.0.5:8080/api/v3/repos/o/r/issues/1"


def test_timeouts_are_retried_then_reported(recorder: Recorder) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ReadTimeout("slow", request=request)

    seen: list[httpx2.Request] = []
    with pytest.raises(SourceError) as info:
        load_source("o/r#1", _public(recorder), transport=_mock(handler, seen))
    assert "timed out after 4 attempts" in str(info.value)
    assert len(seen) == 4
    assert recorder.sleeps == [1.0, 2.0, 4.0]


def test_connection_error_then_success(recorder: Recorder) -> None:
    calls: list[int] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx2.ConnectError("refused", request=request)
        return httpx2.Response(200, json=ISSUE)

    ctx = load_source("o/r#1", _public(recorder), transport=httpx2.MockTransport(handler))
    assert ctx.title == "T" and recorder.sleeps == [1.0]


def test_plain_403_is_not_retried(recorder: Recorder) -> None:
    seen: list[httpx2.Request] = []
    transport = _mock(lambda r: httpx2.Response(403, json={"message": "Resource not accessible"}), seen)
    with pytest.raises(SourceError, match="denied access"):
        load_source("o/r#1", _public(recorder), transport=transport)
    assert len(seen) == 1 and recorder.sleeps == []


def test_retry_after_http_date_and_persistent_429(recorder: Recorder) -> None:
    headers = {
        "Retry-After": "Sat, 18 May 2033 03:33:20 GMT"
    }  # 2,000,000,000 epoch; the clock is 5 s earlier
    transport = httpx2.MockTransport(lambda r: httpx2.Response(429, headers=headers, json={}))
    with pytest.raises(SourceError, match="rate limit"):
        load_source("o/r#1", _public(recorder, max_wait=12), transport=transport)
    assert recorder.sleeps == [5.0, 5.0]


def test_malformed_retry_after_falls_back_to_the_default_wait(recorder: Recorder) -> None:
    # Neither seconds nor an HTTP date: drafter waits its default, then fails with the usual
    # one-line rate-limit error (exit 3), never "unexpected ValueError".
    transport = httpx2.MockTransport(lambda r: httpx2.Response(429, headers={"Retry-After": "soon"}, json={}))
    with pytest.raises(SourceError, match="rate limit"):
        load_source("o/r#1", _public(recorder, max_wait=5), transport=transport)
    assert recorder.sleeps == []  # the 60 s default is over --max-wait 5, so no sleep at all


def test_response_size_cap() -> None:
    transport = httpx2.MockTransport(lambda r: httpx2.Response(200, content=b"[" + b" " * 5000 + b"]"))
    with pytest.raises(SourceError, match="more than 0 MB"):
        load_source("o/r#1", _public(max_response_bytes=1000), transport=transport)


def test_pagination_follows_link_on_same_host_only() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/comments"):
            link = '<https://evil.example/steal?page=2>; rel="next"'
            body = [{"id": 1, "body": "c", "user": {"login": "u"}}]
            return httpx2.Response(200, json=body, headers={"Link": link})
        return httpx2.Response(200, json={**ISSUE, "comments": 2})

    with pytest.raises(SourceError, match="another host \\(evil.example\\)"):
        load_source("o/r#1", _public(), transport=httpx2.MockTransport(handler))


def test_5mb_body_and_2000_comments_over_http() -> None:
    comments = [{"id": i, "body": f"comment {i}", "user": {"login": f"u{i}"}} for i in range(2000)]

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/comments"):
            page = int(request.url.params.get("page", "1"))
            chunk = comments[(page - 1) * 100 : page * 100]
            headers = {}
            if page < 20:
                headers["Link"] = (
                    f'<https://api.github.com/repos/o/r/issues/1/comments?per_page=100&page={page + 1}>; rel="next"'
                )
            return httpx2.Response(200, json=chunk, headers=headers)
        return httpx2.Response(
            200, content=json.dumps({**ISSUE, "body": "x" * 5_000_000, "comments": 2000}).encode()
        )

    ctx = load_source("o/r#1", _public(), transport=httpx2.MockTransport(handler))
    assert len(ctx.body) < 60_000
    assert ctx.comments[0].body == "comment 0" and ctx.comments[-1].body == "comment 1999"
    assert len(ctx.comments) + ctx.omitted_comments == 2000 and ctx.omitted_comments > 0


def test_settings_never_show_tokens() -> None:
    env = {
        "GITHUB_TOKEN": "ghp_FAKE_REPR_CHECK_0000000000",
        "GITLAB_TOKEN": "glpat-FAKE_REPR_CHECK",
        "JIRA_API_TOKEN": "jira-FAKE",
        "JIRA_PAT": "pat-FAKE",
        "JIRA_EMAIL": "me@example.com",
    }
    settings = SourceSettings.from_env(env)
    text = repr(settings) + str(settings) + repr(settings.github_token)
    for value in ("ghp_FAKE", "glpat-FAKE", "jira-FAKE", "pat-FAKE"):
        assert value not in text
    assert settings.github_token is not None and settings.github_token.reveal() == env["GITHUB_TOKEN"]
    assert SourceSettings.from_env({"GH_TOKEN": "x"}).github_token == Secret("x")
