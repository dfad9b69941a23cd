"""One connection pool and per-host request limit shared by every fetch of a batch.

:func:`~drafter.sources.load_source` builds (and closes) a client per issue; handing each of those
clients the same :class:`SharedTransport` makes them share keep-alive connections, and its
per-host semaphore keeps a batch from opening more than ``per_host`` requests at once to one
tracker, whatever ``--concurrency`` is. The policy checks of ``TrackerHttp`` still run per request.

A client handed a transport does not apply the proxy settings itself (httpx2 reads them only
for the transports it builds), so the pool sends through a client of its own that does:
``HTTP(S)_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` (and the system's proxy settings on macOS and
Windows) apply to a batch exactly as to a lone ``drafter fetch``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

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


class SharedTransport(httpx2.BaseTransport):
    """Connection pools that outlive the clients using them, with a per-host request limit.

    Clients close their transport when they are closed (or leave their ``with`` block); this one
    ignores that, and its owner closes the pool with :meth:`shutdown`.
    """

    def __init__(self, per_host: int = DEFAULT_PER_HOST, inner: httpx2.BaseTransport | None = None) -> None:
        """``inner``: send every request through this one transport, with no proxy (tests)."""
        self.per_host = max(1, per_host)
        # Only sends: for each URL it picks a pool, direct or through the proxy the settings
        # name, and owns those pools. It follows no redirects and adds no headers or cookies.
        self._router = httpx2.Client(transport=inner, follow_redirects=False)
        self._gates: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    def _gate(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            gate = self._gates.get(host)
            if gate is None:
                gate = self._gates[host] = threading.BoundedSemaphore(self.per_host)
            return gate

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        gate = self._gate(request.url.host.lower())
        gate.acquire()
        try:
            # After shutdown this raises RuntimeError, which no fetch retries.
            response = self._router.send(request, stream=True)
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
        self._router.close()
