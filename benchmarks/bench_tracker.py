"""Tracker fetching: the conditional-request cache on a re-run, and comment pages in parallel.

Run from the repository root with drafter installed::

    python benchmarks/bench_tracker.py                 # both tables
    python benchmarks/bench_tracker.py --issues 50 --latency 0.05

Both figures fetch through ``drafter.sources.fetch_ref`` (the fetch alone: no distilling) and one
``SharedTransport``, as ``drafter batch`` does (a client of its own would load the trust store,
~50 ms, per issue), from ``tests/support/fake_github.py`` served on 127.0.0.1 (a port the OS
picks), which honours ``If-None-Match`` with ``304`` and counts requests. No other network is used.

1. **Re-run of unchanged issues**: fetch ``--issues`` issues (12 comments each) twice, with the
   cache off and on (a fresh folder); the second pass is the nightly re-run. The fake waits
   ``--latency`` s per request, as a remote tracker would.
2. **A 3,000-comment thread** (30 pages of 100): fetch time at ``page_concurrency`` 1 (pages one
   after another, the old behaviour), 4 (the default) and 8, against ``(1 + pages) × L``.

Figures are the median of ``--runs`` runs. Prints markdown tables.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from drafter.sources import SourceSettings, fetch_ref, parse_source  # noqa: E402
from drafter.sources.pool import SharedTransport  # noqa: E402
from tests.support.fake_github import FakeGitHub  # noqa: E402

COMMENTS_PER_ISSUE = 12
BIG_THREAD = 3000
PER_PAGE = 100


def _settings(api: str) -> SourceSettings:
    # GITHUB_API_URL names the fake, so its loopback address is allowed (as for a configured host).
    return SourceSettings(github_api_url=api, max_context=10_000_000)


def rerun(issues: int, latency: float, runs: int) -> list[str]:
    rows = []
    for cache_on in (False, True):
        first_s: list[float] = []
        second_s: list[float] = []
        counts = (0, 0, 0, 0)
        for _ in range(runs):
            fake = FakeGitHub(issues=issues, comments=dict.fromkeys(range(1, issues + 1), COMMENTS_PER_ISSUE))
            server = fake.serve(latency)
            api = f"http://127.0.0.1:{server.server_address[1]}"
            with tempfile.TemporaryDirectory() as folder:
                settings = replace(_settings(api), cache_dir=Path(folder) if cache_on else None)
                timings = []
                pool = SharedTransport(per_host=8)
                for _pass in range(2):
                    start = time.perf_counter()
                    for number in range(1, issues + 1):
                        fetch_ref(parse_source(f"bench/corpus#{number}"), settings, transport=pool)
                    timings.append(time.perf_counter() - start)
                    if _pass == 0:
                        first = (fake.requests, fake.not_modified)
                pool.shutdown()
            server.shutdown()
            server.server_close()
            first_s.append(timings[0])
            second_s.append(timings[1])
            counts = (*first, fake.requests - first[0], fake.not_modified - first[1])
        label = "on" if cache_on else "off"
        rows.append(
            f"| cache {label} | {counts[0]} | {counts[2]} | {counts[3]} | {counts[2] - counts[3]} | "
            f"{statistics.median(first_s):.2f} s | {statistics.median(second_s):.2f} s |"
        )
    head = [
        f"Re-run of {issues} unchanged issues ({COMMENTS_PER_ISSUE} comments each, one page), "
        f"fake GitHub with {latency * 1000:.0f} ms per request, median of {runs}:",
        "",
        "| | 1st run: requests | re-run: requests | re-run: 304s | re-run: counted against the rate limit "
        "| 1st run | re-run |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    return head + rows


def big_thread(latencies: list[float], runs: int) -> list[str]:
    pages = BIG_THREAD // PER_PAGE
    lines = [
        f"A {BIG_THREAD:,}-comment thread ({pages} pages of {PER_PAGE}) plus the issue, "
        f"median of {runs}; sequential reference = (1 + {pages}) × L:",
        "",
        "| latency L | (1 + pages) × L | page_concurrency 1 | 4 (default) | 8 | requests |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for latency in latencies:
        cells = []
        requests = 0
        for width in (1, 4, 8):
            times = []
            for _ in range(runs):
                fake = FakeGitHub(issues=1, comments={1: BIG_THREAD})
                server = fake.serve(latency)
                api = f"http://127.0.0.1:{server.server_address[1]}"
                settings = replace(_settings(api), page_concurrency=width)
                pool = SharedTransport(per_host=8)
                start = time.perf_counter()
                ctx = fetch_ref(parse_source("bench/corpus#1"), settings, transport=pool)
                times.append(time.perf_counter() - start)
                pool.shutdown()
                server.shutdown()
                server.server_close()
                assert len(ctx.comments) == BIG_THREAD, len(ctx.comments)
                requests = fake.requests
            cells.append(f"{statistics.median(times):.2f} s")
        reference = (1 + pages) * latency
        lines.append(f"| {latency * 1000:.0f} ms | {reference:.2f} s | {' | '.join(cells)} | {requests} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request, re-run table")
    parser.add_argument("--latencies", default="0.02,0.05,0.1", help="seconds per request, thread table")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print("\n".join(rerun(args.issues, args.latency, args.runs)))
    print()
    print("\n".join(big_thread([float(x) for x in args.latencies.split(",")], args.runs)))


if __name__ == "__main__":
    main()
