"""Cold-start and throughput figures for ``drafter --help`` and ``drafter validate``.

Run from the repository root with drafter installed (``pip install -e .``)::

    python benchmarks/bench_validate.py [--runs 5] [--files 1000]

Every figure is a fresh process timed from spawn to exit, reported as the median of ``--runs``
runs with the min and max. The drafts are copies of ``tests/fixtures/docs/technical-design.md``
(a conforming document) written to a temporary directory. ``llm --help`` (simonw/llm) is timed as
a reference when the ``llm`` command is on PATH, and skipped otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "docs" / "technical-design.md"
COLD_START_TARGET = 0.25
BATCH_TARGET = 2.0


@dataclass
class Figure:
    name: str
    times: list[float]
    target: float | None

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def drafter_command() -> list[str]:
    """The installed console script, found next to this interpreter (pyenv shims add ~50 ms)."""
    script = Path(sys.executable).parent / "drafter"
    if script.exists():
        return [str(script)]
    found = shutil.which("drafter")
    if found:
        return [found]
    return [sys.executable, "-m", "drafter"]


def time_command(argv: list[str], runs: int, cwd: Path, expect: int = 0) -> list[float]:
    times = []
    for _ in range(runs + 1):  # the first run warms the page cache and is dropped
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        elapsed = time.perf_counter() - start
        if proc.returncode != expect:
            raise SystemExit(
                f"{' '.join(argv[:3])} ... exited {proc.returncode}: {proc.stderr.decode()[-500:]}"
            )
        times.append(elapsed)
    return times[1:]


def machine() -> str:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return (
        f"{dt.date.today().isoformat()}, nproc {cpus}, Python {platform.python_version()} "
        f"({platform.machine()}, {platform.system()}), load average before the run {load}"
    )


def table(figures: list[Figure]) -> str:
    base = figures[0].median
    rows = [
        "| figure | median | min | max | target | ratio vs `python -c pass` | met? |",
        "| --- | ---: | ---: | ---: | ---: | ---: | :---: |",
    ]
    for fig in figures:
        target = f"≤ {fig.target:.2f} s" if fig.target else "—"
        met = "—" if fig.target is None else ("yes" if fig.median <= fig.target else "**no**")
        rows.append(
            f"| {fig.name} | {fig.median:.3f} s | {min(fig.times):.3f} s | {max(fig.times):.3f} s "
            f"| {target} | {fig.median / base:.1f}× | {met} |"
        )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure (default 5)")
    parser.add_argument("--files", type=int, default=1000, help="drafts in the batch figure (default 1000)")
    args = parser.parse_args()
    drafter = drafter_command()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="drafter-bench-") as tmp:
        work = Path(tmp)
        one = work / "one.md"
        shutil.copyfile(FIXTURE, one)
        batch = work / "drafts"
        batch.mkdir()
        paths = []
        for i in range(args.files):
            path = batch / f"design-{i:04d}.md"
            shutil.copyfile(FIXTURE, path)
            paths.append(str(path))
        runs = args.runs
        figures.append(
            Figure("`python -c pass`", time_command([sys.executable, "-c", "pass"], runs, work), None)
        )
        figures.append(
            Figure("`drafter --help`", time_command([*drafter, "--help"], runs, work), COLD_START_TARGET)
        )
        figures.append(
            Figure(
                "`drafter validate one.md`",
                time_command([*drafter, "validate", str(one)], runs, work),
                COLD_START_TARGET,
            )
        )
        name = f"`drafter validate` {args.files:,} drafts"
        figures.append(Figure(name, time_command([*drafter, "validate", *paths], runs, work), BATCH_TARGET))
        figures.append(
            Figure(
                f"{name}, `--jobs 1`",
                time_command([*drafter, "validate", "--jobs", "1", *paths], runs, work),
                BATCH_TARGET,
            )
        )
        llm = shutil.which("llm")
        if llm:
            figures.append(
                Figure("`llm --help` (reference)", time_command([llm, "--help"], runs, work), None)
            )
    print(f"{machine()}; {runs} runs each; drafter = {' '.join(drafter)}\n")
    print(table(figures))
    if not llm:
        print("\n(`llm` is not on PATH: the `llm --help` reference row is skipped.)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
