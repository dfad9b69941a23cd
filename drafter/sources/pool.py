"""One connection pool and per-host request limit shared by every fetch of a batch.

:func:`~drafter.sources.load_source` builds (and closes) a client per issue; handing each of those
clients the same :class:`SharedTransport` makes them share keep-alive connections, and its
per-host semaphore keeps a batch from opening more than ``per_host`` requests at once to one
tracker, whatever ``--concurrency`` is. The policy checks of ``TrackerHttp`` still run per request.

A client handed a transport no longer applies the proxy environment variables itself (httpx2
only does so for the transports it builds), so this transport does: one pool per proxy, chosen
per request from ``HTTP(S)_PROXY``/``ALL_PROXY`` and ``NO_PROXY`` as read when it was made, the
way a lone ``drafter fetch`` goes.
"""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator, Mapping

import httpx2

DEFAULT_PER_HOST = 8


class _Releasing(httpx2.SyncByteStream):
    """A response body that gives its host slot back when it is closed (once)."""

    def __init__(self, stream: httpx2.SyncByteStream, gate: threading.BoundedSemaphore) -> None:
        self._stream = stream
        self._gate: threading.BoundedSemaphore | None = gate

    def __iter__(self) -> Iterator[bytes]:
        yield from self._stream

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            gate, self._gate = self._gate, None
            if gate is not None:
                gate.release()


def _bypassed(host: str, no_proxy: str) -> bool:
    """``NO_PROXY`` semantics: ``*``, or a host equal to an entry or under it (``.corp``,
    ``corp`` and ``*.corp`` all cover ``ghe.corp``); a port in an entry is ignored."""
    host = host.lower().rstrip(".")
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if entry == "*":
            return True
        if entry.count(":") == 1:  # host:port (an IPv6 address has more colons)
            entry = entry.split(":")[0]
        entry = entry.removeprefix("*").lstrip(".")
        if entry and (host == entry or host.endswith("." + entry)):
            return True
    return False


class SharedTransport(httpx2.BaseTransport):
    """An ``httpx2.HTTPTransport`` that outlives the clients using it, with a per-host limit.

    Clients close their transport when they are closed (or leave their ``with`` block); this one
    ignores that, and its owner closes the pool with :meth:`shutdown`.
    """

    def __init__(
        self,
        per_host: int = DEFAULT_PER_HOST,
        inner: httpx2.BaseTransport | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> None:
        """``inner``: one transport for every request (tests); ``proxies``: scheme -> proxy URL
        plus ``"no"`` for the bypass list, as :func:`urllib.request.getproxies_environment`
        gives them (the default)."""
        self.per_host = max(1, per_host)
        self._inner = inner
        self._proxies = dict(urllib.request.getproxies_environment() if proxies is None else proxies)
        self._pools: dict[str | None, httpx2.BaseTransport] = {}
        self._gates: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    def proxy_for(self, url: httpx2.URL) -> str | None:
        """The proxy a request to ``url`` goes through, ``None`` for a direct connection."""
        proxy = self._proxies.get(url.scheme) or self._proxies.get("all")
        if not proxy or _bypassed(url.host, self._proxies.get("no", "")):
            return None
        return proxy

    def _pool(self, url: httpx2.URL) -> httpx2.BaseTransport:
        if self._inner is not None:
            return self._inner
        proxy = self.proxy_for(url)
        with self._lock:
            pool = self._pools.get(proxy)
            if pool is None:
                pool = self._pools[proxy] = httpx2.HTTPTransport(retries=0, proxy=proxy)
            return pool

    def _gate(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            gate = self._gates.get(host)
            if gate is None:
                gate = self._gates[host] = threading.BoundedSemaphore(self.per_host)
            return gate

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        pool = self._pool(request.url)
        gate = self._gate(request.url.host.lower())
        gate.acquire()
        try:
            response = pool.handle_request(request)
        except BaseException:
            gate.release()
            raise
        # The slot is held until the body is read and closed, so the limit counts whole requests
        # while the caller still streams (and size-caps) the body itself.
        assert isinstance(response.stream, httpx2.SyncByteStream)
        return httpx2.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_Releasing(response.stream, gate),
            extensions=response.extensions,
            request=request,
        )

    def close(self) -> None:
        """Called by each client on exit; the shared pool stays open."""

    def shutdown(self) -> None:
        with self._lock:
            pools, self._pools = [*self._pools.values()], {}
        for pool in pools if self._inner is None else [self._inner]:
            pool.close()
