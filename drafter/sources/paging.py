"""Comment pages fetched a few at a time, in order, when the tracker says how many there are.

A 3,000-comment GitHub thread is 30 pages of 100; following ``Link: rel="next"`` one page at a
time costs 30 round trips in a row. When the number of pages is known in advance (the issue's
comment count divided by the page size), or after a page names the last one (``rel="last"``,
GitLab's ``x-total-pages``), the remaining pages are requested together, at most
``SourceSettings.page_concurrency`` at once (and a batch's shared pool still caps each host), and
yielded in page order. Whatever the plan missed (a comment posted meanwhile, GitLab's system
notes, which its count leaves out) is picked up by following ``next`` from the last page, as
without a count. Every request still goes through :class:`TrackerHttp` and its host, token,
retry and cache policy.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx2

from drafter.sources.http import MAX_PAGES, HttpReply, TrackerHttp, next_page

Request = tuple[str, Mapping[str, str] | None]


def fetch_all(http: TrackerHttp, requests: Sequence[Request]) -> Generator[HttpReply, None, None]:
    """GET each ``(url, params)`` with bounded concurrency; replies come back in request order.

    The first failure is raised when its turn comes; requests not started by then are cancelled,
    as they are when the caller closes the generator early.
    """
    workers = min(http.settings.page_concurrency, len(requests))
    if workers <= 1:
        for url, params in requests:
            yield http.get_json(url, params)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="drafter-page")
    try:
        futures: list[Future[HttpReply]] = [pool.submit(http.get_json, url, p) for url, p in requests]
        for future in futures:
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def comment_pages(
    http: TrackerHttp, url: str, params: Mapping[str, str], *, expected: int | None = None
) -> Iterator[list[Any]]:
    """Yield every page of the list at ``url``, in order.

    ``expected``: how many items the tracker says the list has (``None``: unknown). With it and a
    ``per_page`` in ``params`` every page is planned at once; without it the first page comes
    alone and the rest are planned from its ``rel="last"`` or ``x-total-pages``, if it names one.
    """
    per_page = int(params.get("per_page", "0") or 0)
    if expected is not None and per_page > 0 and expected > per_page:
        count = math.ceil(expected / per_page)
        if count > MAX_PAGES:
            raise http.too_many_pages()
        plan: list[Request] = [(url, params)]
        plan += [(url, {**params, "page": str(number)}) for number in range(2, count + 1)]
    else:
        plan = [(url, params)]
    done = 0
    while plan:
        last: HttpReply | None = None
        for reply in fetch_all(http, plan):
            yield http.page_items(reply)
            last = reply
        done += len(plan)
        assert last is not None
        plan = _rest(last, done)
        if plan and done + len(plan) > MAX_PAGES:
            raise http.too_many_pages()
        if not plan:
            following, following_params = next_page(last)
            if following is not None:
                yield from http.pages(following, following_params, max_pages=MAX_PAGES - done)
            return


def _rest(reply: HttpReply, done: int) -> list[Request]:
    """The pages after ``reply`` when it names the last page and numbers its pages; else none."""
    following, _ = next_page(reply)
    if following is None:
        return []
    here = httpx2.URL(following)
    number = here.params.get("page", "")
    total = _last_page(reply)
    if not number.isdigit() or total is None or int(number) != done + 1 or total <= done:
        return []
    return [(str(here.copy_set_param("page", str(n))), None) for n in range(done + 1, total + 1)]


def _last_page(reply: HttpReply) -> int | None:
    if "last" in reply.links:
        number = httpx2.URL(reply.links["last"]).params.get("page", "")
        if number.isdigit():
            return int(number)
    total = reply.headers.get("x-total-pages", "").strip()
    return int(total) if total.isdigit() else None
