"""One connection pool and per-host request limit shared by every fetch of a batch.

:func:`~drafter.sources.load_source` builds (and closes) a client per issue; handing each of those
clients the same :class:`SharedTransport` makes them share keep-alive connections, and its
per-host semaphore keeps a batch from opening more than ``per_host`` requests at once to one
tracker, whatever ``--concurrency`` is. The policy checks of ``TrackerHttp`` still run per request.
"""

from __future__ import annotations

import threading
from types import TracebackType

import httpx

DEFAULT_PER_HOST = 8


class SharedTransport(httpx.BaseTransport):
    """An ``httpx.HTTPTransport`` that outlives the clients using it, with a per-host limit.

    Clients close their transport on exit; this one ignores that and is closed by its owner with
    :meth:`shutdown` (or by leaving its ``with`` block).
    """

    def __init__(self, per_host: int = DEFAULT_PER_HOST, inner: httpx.BaseTransport | None = None) -> None:
        self.per_host = max(1, per_host)
        self._inner = inner if inner is not None else httpx.HTTPTransport(retries=0)
        self._gates: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    def _gate(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            gate = self._gates.get(host)
            if gate is None:
                gate = self._gates[host] = threading.BoundedSemaphore(self.per_host)
            return gate

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        gate = self._gate(request.url.host.lower())
        with gate:
            response = self._inner.handle_request(request)
            # Read the body while holding the slot, so the limit counts whole requests.
            response.read()
        return response

    def close(self) -> None:
        """Called by each client on exit; the shared pool stays open."""

    def shutdown(self) -> None:
        self._inner.close()

    def __enter__(self) -> SharedTransport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        self.shutdown()
