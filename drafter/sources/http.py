"""The one way the sources layer talks HTTP: a guarded httpx2 client for one tracker origin.

Issue URLs come from users and from batch files in CI, with tokens attached, so every request goes
through :class:`TrackerHttp`, which enforces the policy in one place:

* only the origin (scheme, host, port) of the tracker's API is contacted; pagination links and
  redirects are re-checked against it, and redirects are never followed by httpx2 itself;
* a host that resolves to a private, loopback or link-local address is refused unless the user
  configured it (``GITHUB_API_URL``, ``GITLAB_API_URL``, ``JIRA_BASE_URL``);
* a token is attached only to requests for the origin it was configured for;
* timeouts and connection errors are retried with backoff; ``Retry-After``/``x-ratelimit-reset``
  waits are honoured up to ``max_wait``; responses are capped in size and must be whole JSON;
* with ``SourceSettings.cache_dir`` set, every GET is conditional on the stored entry
  (:mod:`drafter.sources.cache`), so an unchanged page costs a ``304`` and no rate limit.

The retry loop is ours rather than stamina's or tenacity's: its waits come from the response
(``Retry-After``, the reset time, a budget shared across waits), not from a backoff formula, and
tests drive it through ``SourceSettings.sleep``; see docs/architecture.md.
"""

from __future__ import annotations

import datetime
import email.utils
import ipaddress
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx2

from drafter.errors import SourceError, TrackerUnavailableError
from drafter.sources.cache import CachedReply, HttpCache, identity
from drafter.sources.settings import SourceSettings
from drafter.sources.transport import plain_http_host


def user_agent() -> str:
    """``design-drafter/VERSION``: names the tool for a tracker's logs (the project has no public home)."""
    from drafter.config.about import user_agent as about_user_agent

    return about_user_agent()


MAX_REDIRECTS = 3
MAX_PAGES = 100
_RETRY_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class Target:
    """What is being fetched, for error messages: ``GitHub`` / ``issue owner/repo#12`` / token env."""

    tracker: str
    what: str
    token_env: str


@dataclass(frozen=True)
class HttpReply:
    """A finished, size-checked response with its JSON already parsed.

    ``links`` maps each ``Link`` relation (``next``, ``last``) to its URL, as httpx2 parses them;
    ``cached`` says the body came from the cache after a ``304``.
    """

    url: str
    status: int
    headers: httpx2.Headers
    data: Any
    links: dict[str, str] = field(default_factory=dict)
    cached: bool = False


def links_of(response: httpx2.Response) -> dict[str, str]:
    """``rel -> URL`` from a response's ``Link`` header (httpx2's ``Response.links``)."""
    return {
        rel: link["url"]
        for rel, link in response.links.items()
        if isinstance(rel, str) and link.get("url") and link.get("rel")
    }


def make_client(settings: SourceSettings, transport: httpx2.BaseTransport | None = None) -> httpx2.Client:
    """Build the shared client: no redirects followed, timeouts set, drafter's User-Agent."""
    return httpx2.Client(
        transport=transport,
        follow_redirects=False,
        timeout=httpx2.Timeout(settings.timeout, connect=min(settings.timeout, 10.0)),
        # gzip only: it keeps recorded cassettes readable (vcrpy cannot decode zstd) and scrubbable.
        headers={"User-Agent": user_agent(), "Accept-Encoding": "gzip, deflate"},
    )


def origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lower-cased, the unit of host policy and token binding."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    suffix = f":{port}" if port is not None and port != default else ""
    return f"{parts.scheme.lower()}://{host}{suffix}"


def _is_internal(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def _seconds(text: str) -> str:
    value = int(text)
    if value >= 120:
        return f"{value // 60} min"
    return f"{value} s"


class TrackerHttp:
    """GET JSON from one tracker API origin under drafter's host, token and retry policy.

    ``auth`` maps an origin to the headers carrying its token; they are added only to requests
    for that exact origin. ``api_base`` fixes the one origin this instance may contact.
    """

    def __init__(
        self,
        client: httpx2.Client,
        settings: SourceSettings,
        *,
        api_base: str,
        target: Target,
        headers: Mapping[str, str] | None = None,
        auth: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.api_base = api_base.rstrip("/")
        self.origin = origin(api_base)
        self.target = target
        self.headers = dict(headers or {})
        self.auth = {key: dict(value) for key, value in (auth or {}).items()}
        self._host_checked = False
        self.cache = HttpCache(settings.cache_dir, settings.notify) if settings.cache_dir else None

    @property
    def token_sent(self) -> bool:
        return self.origin in self.auth

    def url(self, path: str) -> str:
        return f"{self.api_base}/{path.lstrip('/')}"

    # -- policy -----------------------------------------------------------------------------

    def _check_host(self, url: str) -> None:
        parts = urlsplit(url)
        if origin(url) != self.origin or parts.scheme.lower() not in ("http", "https"):
            shown = parts.hostname or "?"
            raise SourceError(
                f"{self.target.tracker} pointed {self.target.what} at another host ({shown}); "
                f"drafter only contacts {self.origin}",
                hint="fetch the new location directly if you trust it",
            )
        if self._host_checked:
            return
        insecure = plain_http_host(url) if self.token_sent else None
        if insecure:
            raise SourceError(
                f"refusing to send the {self.target.tracker} credentials to {insecure} over plain http",
                hint=f"use https:// in {_config_var(self.target.tracker)} or the issue URL; "
                "credentials go over plain http only to localhost",
            )
        host = (parts.hostname or "").lower()
        if host not in self.settings.configured_hosts():
            try:
                addresses = [host] if _is_literal(host) else list(self.settings.resolve(host))
            except OSError:
                addresses = []  # let the request report the DNS failure with retries
            if any(_is_internal(a) for a in addresses):
                raise SourceError(
                    f"refusing to contact {host}: it is a private or loopback address",
                    hint=f"set {_config_var(self.target.tracker)} to this server's URL if you really mean it",
                )
        self._host_checked = True

    # -- requests ---------------------------------------------------------------------------

    def get_json(self, url: str, params: Mapping[str, str] | None = None) -> HttpReply:
        """GET ``url`` and return parsed JSON, following same-origin redirects only."""
        for _ in range(MAX_REDIRECTS + 1):
            reply = self._send(url, params)
            if reply.status in (301, 302, 303, 307, 308):
                location = reply.headers.get("location")
                if not location:
                    break
                url = urljoin(reply.url, location)
                params = None  # the Location carries its own query
                continue
            self._raise_for_status(reply)
            return reply
        raise SourceError(
            f"{self.target.tracker} redirected {self.target.what} too many times",
            hint="open the URL in a browser and fetch the final address",
        )

    def pages(
        self, url: str, params: Mapping[str, str] | None = None, *, max_pages: int = MAX_PAGES
    ) -> Iterator[list[Any]]:
        """Yield each page (a JSON list) following ``Link: rel="next"`` or ``x-next-page``."""
        next_url: str | None = url
        next_params = params
        for _ in range(max_pages):
            if next_url is None:
                return
            reply = self.get_json(next_url, next_params)
            yield self.page_items(reply)
            next_url, next_params = next_page(reply)
        if next_url is not None:
            raise self.too_many_pages()

    def page_items(self, reply: HttpReply) -> list[Any]:
        """The JSON list a page holds, or a clear error when the tracker sent something else."""
        if not isinstance(reply.data, list):
            raise SourceError(
                f"{self.target.tracker} returned an unexpected shape for the comments of "
                f"{self.target.what} (expected a JSON list)",
                hint="check that the API URL points at the right kind of tracker",
            )
        return reply.data

    def too_many_pages(self) -> SourceError:
        return SourceError(
            f"{self.target.what} has more than {MAX_PAGES} pages of comments; drafter stops there",
            hint="save a trimmed copy with 'drafter fetch --format json' and edit it",
        )

    def _send(self, url: str, params: Mapping[str, str] | None) -> HttpReply:
        self._check_host(url)
        request_headers = {**self.headers, **self.auth.get(origin(url), {})}
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            try:
                reply = self._once(url, params, request_headers)
            except httpx2.TransportError as exc:
                if attempt > self.settings.retries:
                    kind = "timed out" if isinstance(exc, httpx2.TimeoutException) else "connection failed"
                    raise TrackerUnavailableError(
                        f"could not reach {self.origin} for {self.target.what}: {kind} after {attempt} attempts",
                        hint="check your network or proxy and that the tracker is up, then retry",
                    ) from None
                self.settings.sleep(min(2.0 ** (attempt - 1), 8.0))
                continue
            if reply.status in _RETRY_STATUSES and attempt <= self.settings.retries:
                self.settings.sleep(min(2.0 ** (attempt - 1), 8.0))
                continue
            wait = self._rate_limit_wait(reply)
            if wait is None:
                return reply
            if waited + wait > self.settings.max_wait:
                raise TrackerUnavailableError(
                    f"{self.target.tracker} rate limit reached while fetching {self.target.what} "
                    f"(resets in {_seconds(str(int(wait)))}, more than --max-wait {self.settings.max_wait:g} s)",
                    hint=f"retry later, raise --max-wait, or set {self.target.token_env} for a higher limit",
                )
            self.settings.say(
                f"{self.target.tracker} rate limit reached; waiting {wait:.0f} s before retrying "
                f"(--max-wait {self.settings.max_wait:g} s)"
            )
            self.settings.sleep(wait)
            waited += wait
            attempt = 0

    def _once(self, url: str, params: Mapping[str, str] | None, headers: Mapping[str, str]) -> HttpReply:
        cap = self.settings.max_response_bytes
        request = self.client.build_request("GET", url, params=params, headers=headers)
        cache_key, entry = "", None
        if self.cache is not None:
            who = identity(self.auth.get(origin(url), {}))
            cache_key = self.cache.key(str(request.url), self.headers, who)
            entry = self.cache.load(cache_key, str(request.url))
            if entry is not None:
                request.headers.update(entry.validators())
        response = self.client.send(request, stream=True)
        try:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > cap:
                    raise SourceError(
                        f"{self.target.tracker} sent more than {cap // (1024 * 1024)} MB for {self.target.what}",
                        hint="the response is too large to be an issue; check the URL",
                    )
                chunks.append(chunk)
            raw = b"".join(chunks)
            status, final_url, response_headers = response.status_code, str(response.url), response.headers
        finally:
            response.close()
        if status == 304 and entry is not None:
            return self._from_cache(entry, response_headers, cache_key)
        data: Any = None
        if 200 <= status < 300:
            data = self._parse(raw)
            if status == 200 and self.cache is not None:
                self.cache.store(cache_key, str(request.url), response_headers, raw)
        elif raw:
            try:
                data = json.loads(raw)
            except ValueError:
                data = None
        return HttpReply(final_url, status, response_headers, data, links_of(response))

    def _from_cache(self, entry: CachedReply, fresh: httpx2.Headers, cache_key: str) -> HttpReply:
        """A 304: the stored body, with any new validators the tracker sent kept for next time."""
        assert self.cache is not None
        headers = dict(entry.headers)
        renewed = {name: fresh[name] for name in ("etag", "last-modified") if name in fresh}
        if any(headers.get(name) != value for name, value in renewed.items()):
            headers.update(renewed)
            self.cache.store(cache_key, entry.url, headers, entry.body)
        merged = httpx2.Headers(headers)
        links = links_of(httpx2.Response(200, headers=merged))
        return HttpReply(entry.url, 200, merged, entry.data, links, cached=True)

    def _parse(self, raw: bytes) -> Any:
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise SourceError(
                f"{self.target.tracker} returned truncated or invalid JSON for {self.target.what}",
                hint="retry; if it keeps happening, check the API URL or your proxy",
            ) from None

    def _rate_limit_wait(self, reply: HttpReply) -> float | None:
        headers = reply.headers
        limited = reply.status == 429 or (
            reply.status == 403 and (headers.get("x-ratelimit-remaining") == "0" or "retry-after" in headers)
        )
        if not limited:
            return None
        retry_after = headers.get("retry-after")
        if retry_after:
            if retry_after.strip().isdigit():
                return max(float(retry_after), 1.0)
            try:
                when = email.utils.parsedate_to_datetime(retry_after)
            except (TypeError, ValueError):  # not a date either: use the default wait below
                when = None
            if when is not None:
                if when.tzinfo is None:  # HTTP dates are GMT
                    when = when.replace(tzinfo=datetime.UTC)
                return max(when.timestamp() - self.settings.clock(), 1.0)
        reset = headers.get("x-ratelimit-reset") or headers.get("ratelimit-reset")
        if reset and reset.strip().isdigit():
            return max(float(reset) - self.settings.clock() + 1.0, 1.0)
        return 60.0

    def _raise_for_status(self, reply: HttpReply) -> None:
        status = reply.status
        if 200 <= status < 300:
            return
        tracker, what, env = self.target.tracker, self.target.what, self.target.token_env
        if status in (404, 410):
            gone = " (deleted)" if status == 410 else ""
            hint = (
                f"check the URL; the token in {env} may lack access to it"
                if self.token_sent
                else f"check the URL; for a private project set {env} with access to it"
            )
            raise SourceError(f"{tracker} {what} not found or no access{gone}", hint=hint, status=status)
        if status == 401:
            hint = (
                f"check {env}: it may be expired, revoked or mistyped"
                if self.token_sent
                else f"set {env} to a token with read access"
            )
            raise SourceError(f"{tracker} refused the credentials for {what} (401)", hint=hint, status=status)
        if status == 403:
            raise SourceError(
                f"{tracker} denied access to {what} (403)",
                hint=f"use a token in {env} that can read it, or check SSO authorisation",
                status=status,
            )
        if status >= 500:
            raise TrackerUnavailableError(
                f"{tracker} failed with HTTP {status} for {what} after {self.settings.retries + 1} attempts",
                hint="the tracker is having trouble; try again later",
                status=status,
            )
        raise SourceError(
            f"{tracker} answered HTTP {status} for {what}",
            hint="check the URL and the API base setting",
            status=status,
        )


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _config_var(tracker: str) -> str:
    return {"GitHub": "GITHUB_API_URL", "GitLab": "GITLAB_API_URL", "Jira": "JIRA_BASE_URL"}.get(
        tracker, "the tracker's API URL variable"
    )


def next_page(reply: HttpReply) -> tuple[str | None, Mapping[str, str] | None]:
    """The page after ``reply``: its ``Link: rel="next"``, else GitLab's ``x-next-page``."""
    if "next" in reply.links:
        return urljoin(reply.url, reply.links["next"]), None
    number = reply.headers.get("x-next-page", "").strip()
    if number.isdigit():
        return str(httpx2.URL(reply.url).copy_set_param("page", number)), None
    return None, None
