"""Every benchmark figure of drafter in one run on one machine, printed as one markdown table.

Run from the repository root with drafter installed (``pip install -e .``)::

    python benchmarks/run.py                      # all figures, 5 runs each
    python benchmarks/run.py --only draft,batch   # a subset: cold, validate, draft, batch, tokens

The model is ``stub_openai`` and the tracker ``stub_github`` (both in this folder), started here
on 127.0.0.1 ports picked by the OS and stopped before the script exits; no other network is used.
Every figure is a fresh ``drafter`` process; each is the median of ``--runs`` runs with min and
max, and its reference is measured in the same run. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drafter.model.pricing import PRICES, estimate_cost

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_validate  # noqa: E402
import stub_github  # noqa: E402
import stub_openai  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTE = "Keep the public API unchanged; the fix must ship in a patch release."
# drafter's defaults, spelled out so that every figure uses the same context budget.
BUDGET = ["--max-context", "60000", "--max-wait", "60"]
LLM_VENV = Path("/tmp/llm-venv/bin/llm")  # PyPI llm in a throwaway venv: see README
CHAIN_STEPS = 3  # problem -> solution -> risks: the dependent steps of one draft
FIGURES = ("cold", "validate", "draft", "batch", "tokens", "scale")


# -- measuring -------------------------------------------------------------------------------------
@dataclass
class Run:
    """One finished process: wall time, peak RSS, exit code and what it printed."""

    seconds: float
    max_rss_mib: float
    returncode: int
    stdout: str
    stderr: str


def run_process(argv: list[str], env: dict[str, str], cwd: Path, timeout: float = 600.0) -> Run:
    """Spawn ``argv`` and wait for it; ``os.wait4`` gives this child's own peak RSS."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.002)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(
            seconds,
            usage.ru_maxrss / 1024,  # KiB on Linux
            proc.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
        )


def checked(run: Run, what: str, ok: tuple[int, ...] = (0,)) -> Run:
    if run.returncode not in ok:
        raise SystemExit(f"{what} exited {run.returncode}:\n{run.stderr[-1500:]}")
    return run


@dataclass
class Row:
    """One line of the table. ``samples`` are in ``unit``; ``ratio`` is median / reference."""

    figure: str
    samples: list[float]
    unit: str
    reference: str = "—"
    ratio: str = "—"
    target: str = "—"
    met: bool | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


def fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "MiB":
        return f"{value:.0f} MiB"
    if unit == "x":
        return f"{value:.2f}×"
    if unit == "USD":
        return f"${value:.5f}"
    if unit == "tokens":
        return f"{value:,.0f} tokens"
    return f"{value:g}{(' ' + unit) if unit else ''}"


def table(rows: list[Row]) -> str:
    lines = [
        "| figure | median | min | max | reference (same run) | ratio | target | met? |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | :---: |",
    ]
    for row in rows:
        met = "—" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(
            f"| {row.figure} | {fmt(row.median, row.unit)} | {fmt(min(row.samples), row.unit)} "
            f"| {fmt(max(row.samples), row.unit)} | {row.reference} | {row.ratio} | {row.target} | {met} |"
        )
    return "\n".join(lines)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{dt.datetime.now().strftime('%Y-%m-%d %H:%M')}; nproc {os.cpu_count()}; {cpu}; "
        f"Python {platform.python_version()} ({platform.system()} {platform.machine()}); "
        f"load average at start {load}"
    )


def other_cpu_users() -> list[str]:
    """Busy processes that are not ours (e.g. a llama.cpp server), from ``ps``; empty if none."""
    try:
        out = subprocess.run(
            ["ps", "-eo", "pid,pcpu,args", "--sort=-pcpu"], capture_output=True, text=True, check=False
        ).stdout
    except OSError:
        return []
    busy = []
    for line in out.splitlines()[1:6]:
        pid, pcpu, args = line.split(None, 2)
        if int(pid) != os.getpid() and float(pcpu) >= 20:
            busy.append(f"pid {pid} at {pcpu}% CPU: {args[:80]}")
    return busy


# -- servers ---------------------------------------------------------------------------------------
@dataclass
class Stubs:
    openai_url: str
    github_url: str
    stats: stub_openai.Stats

    def reset(self) -> None:
        request = urllib.request.Request(self.openai_url.removesuffix("/v1") + "/reset", data=b"{}")
        with urllib.request.urlopen(request, timeout=5) as reply:
            reply.read()


@contextmanager
def stubs(latency: float, count: int) -> Iterator[Stubs]:
    """Both stub servers on 127.0.0.1, stopped on exit whatever happens."""
    model, stats = stub_openai.serve(0, latency)
    tracker = stub_github.serve(0, count)
    try:
        yield Stubs(
            f"http://127.0.0.1:{model.server_address[1]}/v1",
            f"http://127.0.0.1:{tracker.server_address[1]}",
            stats,
        )
    finally:
        for server in (model, tracker):
            server.shutdown()
            server.server_close()


def drafter_env(s: Stubs) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DRAFTER_", "OPENAI_", "GITHUB_", "GH_", "GITLAB_", "JIRA_"))
    }
    env.update(
        OPENAI_BASE_URL=s.openai_url,
        OPENAI_API_KEY="stub-key",
        GITHUB_API_URL=s.github_url,
        DRAFTER_MAX_RETRIES="0",  # a stub failure should show, not hide behind retries
    )
    return env


# -- figures ---------------------------------------------------------------------------------------
def cold_figures(
    drafter: list[str], runs: int, files: int, work: Path, llm: str | None, which: set[str]
) -> list[Row]:
    one = work / "one.md"
    shutil.copyfile(bench_validate.FIXTURE, one)
    rows: list[Row] = []
    py = bench_validate.time_command([sys.executable, "-c", "pass"], runs, work)
    rows.append(Row("`python -c pass` (reference)", py, "s"))
    base = statistics.median(py)
    llm_median = None
    if llm:
        times = bench_validate.time_command([llm, "--help"], runs, work)
        rows.append(Row("`llm --help`, PyPI `llm` (reference)", times, "s"))
        llm_median = statistics.median(times)

    def cold(name: str, argv: list[str]) -> Row:
        times = bench_validate.time_command(argv, runs, work)
        med = statistics.median(times)
        ref = f"`python -c pass` {base:.3f} s" + (f"; `llm --help` {llm_median:.3f} s" if llm_median else "")
        ratio = f"{med / base:.1f}×" + (f"; {med / llm_median:.2f}×" if llm_median else "")
        target = bench_validate.COLD_START_TARGET
        return Row(name, times, "s", ref, ratio, f"≤ {target:.2f} s", med <= target)

    if "cold" in which:
        rows.append(cold("`drafter --help` cold start", [*drafter, "--help"]))
        rows.append(cold("`drafter validate one.md` cold start", [*drafter, "validate", str(one)]))
    if "validate" in which:
        folder = work / "drafts"
        folder.mkdir(exist_ok=True)
        paths = []
        for i in range(files):
            path = folder / f"design-{i:04d}.md"
            shutil.copyfile(bench_validate.FIXTURE, path)
            paths.append(str(path))
        for name, extra in (
            (f"validate {files:,} drafts, one call", []),
            ("… with `--jobs 1`", ["--jobs", "1"]),
        ):
            times = bench_validate.time_command([*drafter, "validate", *extra, *paths], runs, work)
            med = statistics.median(times)
            target = bench_validate.BATCH_TARGET
            rows.append(Row(name, times, "s", "—", "—", f"≤ {target:.2f} s", med <= target))
    return rows


def one_draft_figures(drafter: list[str], runs: int, latency: float, work: Path) -> list[Row]:
    critical = CHAIN_STEPS * latency
    target = 1.1 * critical + 0.3
    walls: list[float] = []
    inside: list[float] = []
    calls: list[float] = []
    with stubs(latency, 25) as s:
        env = drafter_env(s)
        for i in range(runs + 1):  # the first run warms caches and is dropped
            out = work / f"one-draft-{i}"
            argv = [*drafter, "from-issue", "bench/corpus#3", "--model", "openai:stub", "--format", "json"]
            argv += ["--out-dir", str(out), "--author", "Bench", "--notes", NOTE, *BUDGET]
            s.reset()
            run = checked(run_process(argv, env, work), "drafter from-issue")
            summary = json.loads(run.stdout)
            if i == 0:
                continue
            walls.append(run.seconds)
            inside.append(float(summary["seconds"]))
            calls.append(float(summary["usage"]["calls"]))
    ref = f"{CHAIN_STEPS} × L = {critical:.2f} s"
    limit = f"≤ {target:.2f} s"
    return [
        Row(
            f"one draft, L = {latency:g} s: in-process draft time",
            inside,
            "s",
            ref,
            f"{statistics.median(inside) / critical:.2f}×",
            limit,
            statistics.median(inside) <= target,
        ),
        Row(
            "… whole `from-issue` process (start-up, imports, fetch, draft, write)",
            walls,
            "s",
            ref,
            f"{statistics.median(walls) / critical:.2f}×",
            f"({limit}, see notes)",
            statistics.median(walls) <= target,
        ),
        Row(
            "… model calls per draft", calls, "", "3 chains", "—", "3 (no re-ask)", max(calls) == CHAIN_STEPS
        ),
    ]


def batch_figures(
    drafter: list[str],
    runs: int,
    latency: float,
    count: int,
    concurrency: int,
    work: Path,
    *,
    in_process_target: bool = False,
) -> list[Row]:
    sources = work / "sources.txt"
    sources.write_text("".join(f"bench/corpus#{n}\n" for n in range(1, count + 1)), encoding="utf-8")
    walls: list[float] = []
    inside: list[float] = []
    ratios: list[float] = []
    rss: list[float] = []
    per_draft: list[float] = []
    rerun_walls: list[float] = []
    rerun_calls: list[float] = []
    ideals: list[float] = []
    with stubs(latency, count) as s:
        env = drafter_env(s)
        for i in range(runs):
            out = work / f"batch-{i}"
            report = work / f"batch-{i}.json"
            argv = [*drafter, "batch", "--from-file", str(sources), "--concurrency", str(concurrency)]
            argv += ["--model", "openai:stub", "--out-dir", str(out), "--author", "Bench", "--notes", NOTE]
            argv += BUDGET
            s.reset()
            run = checked(run_process([*argv, "--report", str(report)], env, work), "drafter batch")
            calls = s.stats.snapshot()["calls"]
            totals = json.loads(report.read_text(encoding="utf-8"))["totals"]
            if totals["written"] != count:
                raise SystemExit(f"batch wrote {totals['written']} of {count}: {totals}")
            ideal = calls * latency / concurrency
            ideals.append(ideal)
            walls.append(run.seconds)
            inside.append(float(totals["seconds"]))
            ratios.append(run.seconds / ideal)
            rss.append(run.max_rss_mib)
            per_draft.append(calls / count)
            # The same batch again over the drafts just written: nothing changed, so no call.
            s.reset()
            again = checked(run_process(argv, env, work), "drafter batch (re-run)")
            rerun_walls.append(again.seconds)
            rerun_calls.append(float(s.stats.snapshot()["calls"]))
    ideal = statistics.median(ideals)
    ref = f"calls × L / {concurrency} = {ideal:.2f} s"
    name = f"batch of {count}, concurrency {concurrency}, L = {latency:g} s"
    return [
        Row(
            f"{name}: whole process",
            walls,
            "s",
            ref,
            f"{statistics.median(ratios):.3f}×",
            "≤ 1.10 × ideal",
            statistics.median(ratios) <= 1.10,
        ),
        Row(
            "… in-process batch time (report `seconds`)",
            inside,
            "s",
            ref,
            f"{statistics.median(inside) / ideal:.3f}×",
            "≤ 1.10 × ideal" if in_process_target else "—",
            statistics.median(inside) / ideal <= 1.10 if in_process_target else None,
        ),
        Row("… model calls per draft", per_draft, "", "3 chains", "—", "3 (no re-ask)", max(per_draft) == 3),
        Row(
            f"re-run of the unchanged batch of {count}",
            rerun_walls,
            "s",
            "—",
            "—",
            "≤ 2.00 s",
            statistics.median(rerun_walls) <= 2.0,
        ),
        Row("… model calls in the re-run", rerun_calls, "", "—", "—", "0", max(rerun_calls) == 0),
        Row(f"peak RSS, batch of {count}", rss, "MiB", "—", "—", "≤ 300 MiB", statistics.median(rss) <= 300),
    ]


# The prompt-token target since issue 16: a ceiling against waste, not a multiple of the inputs.
CEILING_PER_THREAD_TOKEN = 4
CEILING_FIXED = 6000
PRICED_MODELS = ("gpt-4o-mini", "gpt-4.1-nano")  # list prices from drafter.model.pricing
LONG_THREAD_COMMENTS = 100


def ceiling(thread_tokens: int) -> int:
    """The most prompt tokens a draft may use: 4 × thread tokens + 6,000."""
    return CEILING_PER_THREAD_TOKEN * thread_tokens + CEILING_FIXED


def thread_tokens(data: dict[str, Any]) -> int:
    """chars/4 of the issue title, body and every comment body, as given (before any trimming)."""
    return stub_openai.tokens(stub_github.reference_text(data))


_TOPIC = [
    "The client retries a failed upload three times with no backoff, so a flaky proxy turns one "
    "error into a burst of four requests within 50 ms.",
    "On version 1.1.3 the retry loop ignores the Retry-After header and the server answers 429 "
    "until the whole batch fails.",
    "A --retry-budget flag would let us cap the total time spent retrying, for example 30 seconds "
    "per command.",
    "We run the tool in CI on 40 runners at once and the shared proxy drops about 2% of "
    "connections during the nightly build.",
    "I measured the retries with a local mitmproxy: the second attempt starts 3 ms after the first "
    "one failed, the third after 5 ms.",
    "Exponential backoff with jitter is what most HTTP clients do; the standard library has no "
    "helper for it, but it is a few lines.",
    "Our workaround is a wrapper script that re-runs the command after sleeping 10 seconds, which "
    "hides real failures as well.",
    "The config file already has a timeout key; a retries table next to it would keep the command "
    "line short.",
    "Please keep the default behaviour for interactive use: a person at a terminal wants the error "
    "quickly, not after a minute.",
    "The log line only says 'upload failed' without the status code, so it is hard to tell a 429 "
    "from a 502 or a reset connection.",
    "Same here on Windows with a corporate proxy; it started after upgrading from 1.0.9 to 1.1.0.",
    "Would a per-host limit be enough? Most of our failures come from one mirror that is "
    "overloaded in the evening.",
]
_MAINTAINER = {
    9: "Thanks for the measurements. We won't add this flag. A new flag for every knob is how the "
    "CLI got 80 options; retries should just behave.",
    34: "To be clear about the plan: the client will honour Retry-After and back off exponentially "
    "with jitter, capped at 60 seconds in total. We won't add this flag.",
    61: "The status code is now in the log line on the main branch, so the next reports can tell "
    "429 from 502.",
    87: "The backoff change is merged and will ship in 1.2.0; please try the release candidate and "
    "report what you see.",
    99: "Closing: fixed in 1.2. The retries now wait for Retry-After or back off with jitter. Open a "
    "new issue if the proxy case still fails.",
}


def long_thread(count: int = LONG_THREAD_COMMENTS) -> dict[str, Any]:
    """A GitHub-REST-shaped issue with a ~1,500-character body and ``count`` comments of about 200 to
    1,500 characters, a few by maintainers (``MEMBER``); built the same way on every run."""

    def text(seed: int, length: int) -> str:
        parts: list[str] = []
        i = seed
        while sum(len(p) + 1 for p in parts) < length:
            parts.append(_TOPIC[i % len(_TOPIC)])
            i += 5  # coprime with len(_TOPIC): every comment starts and continues differently
        return " ".join(parts)[:length].rsplit(" ", 1)[0] + "."

    comments = []
    for i in range(count):
        length = 200 + (i * 577) % 1301  # 200..1,500 characters, spread over the thread
        if i in _MAINTAINER:
            body = _MAINTAINER[i] + " " + text(i, max(length - len(_MAINTAINER[i]), 0))
            user, association = f"maintainer-{i % 2 + 1}", "MEMBER"
        else:
            body = text(i, length)
            user, association = f"user-{i % 37 + 1}", "NONE"
        day = dt.date(2024, 1, 2) + dt.timedelta(days=i)
        comments.append(
            {
                "user": {"login": user},
                "author_association": association,
                "body": body,
                "created_at": f"{day.isoformat()}T12:00:00Z",
                "updated_at": f"{day.isoformat()}T12:00:00Z",
            }
        )
    return {
        "html_url": "https://github.com/bench/long-thread/issues/1",
        "number": 1,
        "title": "Uploads retry immediately and hammer the proxy; add a retry budget",
        "state": "closed",
        "state_reason": "completed",
        "closed_at": "2024-04-10T12:00:00Z",
        "labels": [{"name": "enhancement"}, {"name": "network"}],
        "user": {"login": "user-1"},
        "author_association": "NONE",
        "created_at": "2024-01-01T12:00:00Z",
        "body": text(0, 1500),
        "comments_list": comments,
    }


@dataclass
class TokenDraft:
    """One draft's token counts as the stub reported them, and its thread's tokens."""

    name: str
    prompt: int
    completion: int
    thread: int

    @property
    def ceiling(self) -> int:
        return ceiling(self.thread)

    @property
    def fraction(self) -> float:
        return self.prompt / self.ceiling


def token_figures(drafter: list[str], work: Path) -> list[Row]:
    """Prompt tokens per draft against the ceiling 4 × thread tokens + 6,000, and what a draft costs.

    One batch over the 25 corpus issues (latency 0), then one ``from-issue`` of a synthetic
    100-comment thread saved as GitHub REST JSON; prompt tokens are what the stub counted.
    """
    corpus = stub_github.load_corpus()
    sources = work / "corpus.txt"
    sources.write_text("".join(f"bench/corpus#{n}\n" for n in range(1, len(corpus) + 1)), encoding="utf-8")
    report = work / "corpus.json"
    thread = long_thread()
    thread_file = work / "long-thread.json"
    thread_file.write_text(json.dumps(thread, indent=1), encoding="utf-8")
    with stubs(0.0, len(corpus)) as s:
        env = drafter_env(s)
        argv = [
            *drafter,
            "batch",
            "--from-file",
            str(sources),
            "--concurrency",
            "8",
            "--model",
            "openai:stub",
        ]
        argv += ["--out-dir", str(work / "corpus"), "--author", "Bench", "--notes", NOTE, *BUDGET]
        argv += ["--report", str(report)]
        s.reset()
        checked(run_process(argv, env, work), "drafter batch (corpus)")
        stats = s.stats.snapshot()
        argv = [*drafter, "from-issue", str(thread_file), "--model", "openai:stub", "--format", "json"]
        argv += ["--out-dir", str(work / "long-thread"), "--author", "Bench", "--notes", NOTE, *BUDGET]
        s.reset()
        long_usage = json.loads(checked(run_process(argv, env, work), "drafter from-issue (long)").stdout)[
            "usage"
        ]
    # What --max-context kept of the long thread: drafter's own distilled, trimmed context.
    fetched = checked(
        run_process([*drafter, "fetch", str(thread_file), "--format", "json", *BUDGET], env, work),
        "drafter fetch (long)",
    )
    kept = len(json.loads(fetched.stdout).get("comments") or [])
    items = json.loads(report.read_text(encoding="utf-8"))["items"]
    if stats["calls"] != 3 * len(items) or long_usage["calls"] != 3:
        raise SystemExit(f"expected 3 calls per draft: {stats['calls']} for {len(items)}; long {long_usage}")
    # Every draft sends the same three schemas (same template, no re-ask), so its share is exact.
    schema_per_draft = round(stats["schema_tokens"] / len(items))
    drafts: list[TokenDraft] = []
    for item in items:
        number = int(item["source"].rsplit("#", 1)[1])
        data = stub_github.fixture_for(corpus, number)
        repo = (data.get("repository") or {}).get("full_name", "?")
        drafts.append(
            TokenDraft(
                f"{repo}#{data.get('number', '?')}",
                int(item["usage"]["prompt_tokens"]),
                int(item["usage"]["completion_tokens"]),
                thread_tokens(data),
            )
        )
    long = TokenDraft(
        f"synthetic {LONG_THREAD_COMMENTS}-comment thread",
        int(long_usage["prompt_tokens"]),
        int(long_usage["completion_tokens"]),
        thread_tokens(thread),
    )
    fractions = [d.fraction for d in drafts]
    worst = max(drafts, key=lambda d: d.fraction)
    biggest = max(drafts, key=lambda d: d.prompt)
    median_prompt = statistics.median(d.prompt for d in drafts)
    median_completion = statistics.median(d.completion for d in drafts)
    target = f"≤ 1.00× ({CEILING_PER_THREAD_TOKEN} × thread + {CEILING_FIXED:,})"
    rows = [
        Row(
            f"prompt tokens per draft / ceiling ({len(drafts)} corpus issues; min/max over issues)",
            fractions,
            "x",
            f"prompt tokens per draft: median {median_prompt:,.0f}; max {biggest.prompt:,} "
            f"({biggest.name}, thread {biggest.thread:,} tokens); ceiling = "
            f"{CEILING_PER_THREAD_TOKEN} × thread tokens (chars/4 of title, body, comments) + {CEILING_FIXED:,}",
            f"median {statistics.median(fractions):.2f}×; worst {worst.fraction:.2f}× ({worst.name}: "
            f"{worst.prompt:,} of {worst.ceiling:,}, thread {worst.thread:,} tokens)",
            target,
            worst.fraction <= 1.0,
        ),
        Row(
            "… of which the JSON schemas of the 3 chains (per draft)",
            [schema_per_draft],
            "tokens",
            f"{schema_per_draft / median_prompt:.0%} of the median draft's prompt tokens",
        ),
        Row(
            f"prompt tokens / ceiling, {long.name} (`--max-context 60000` kept {kept} of "
            f"{LONG_THREAD_COMMENTS} comments)",
            [long.fraction],
            "x",
            f"{long.prompt:,} prompt tokens; thread {long.thread:,} tokens as given, before trimming",
            f"{long.fraction:.2f}× of {long.ceiling:,}",
            target,
            long.fraction <= 1.0,
        ),
    ]
    for model in PRICED_MODELS:
        price_in, price_out = PRICES[model]

        def cost(d: TokenDraft, model: str = model) -> float:
            return estimate_cost(model, d.prompt, d.completion) or 0.0

        rows.append(
            Row(
                f"cost per draft at `{model}` list price (corpus; min/max over issues)",
                [cost(d) for d in drafts],
                "USD",
                f"${price_in:.2f} in, ${price_out:.2f} out per 1M tokens; the stub's prompt tokens and its "
                f"completion tokens (median {median_completion:,.0f} per draft)",
                f"worst draft ({worst.name}) ${cost(worst):.5f}; {long.name} ${cost(long):.5f} "
                f"({long.completion:,} completion tokens)",
            )
        )
    return rows


def find_llm(explicit: str | None) -> str | None:
    if explicit:
        return explicit
    if LLM_VENV.exists():
        return str(LLM_VENV)
    return shutil.which("llm")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure (default 5)")
    parser.add_argument("--files", type=int, default=1000, help="drafts in the validate figure")
    parser.add_argument("--count", type=int, default=200, help="issues in the batch figure")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.5, help="stub model latency L in seconds")
    parser.add_argument(
        "--only",
        default=",".join(f for f in FIGURES if f != "scale"),
        help=f"comma-separated subset of {FIGURES} (scale, 1,000 issues, only when named)",
    )
    parser.add_argument("--llm", help=f"the `llm` command for the reference (default {LLM_VENV} or PATH)")
    args = parser.parse_args()
    which = {w.strip() for w in args.only.split(",") if w.strip()}
    if not which <= set(FIGURES) or args.runs < 1:
        parser.error(f"--only takes {', '.join(FIGURES)}; --runs must be 1 or more")
    drafter = bench_validate.drafter_command()
    llm = find_llm(args.llm)
    header = machine()
    busy = other_cpu_users()
    steps: list[tuple[str, Callable[[Path], list[Row]]]] = [
        ("cold", lambda w: cold_figures(drafter, args.runs, args.files, w, llm, which)),
        ("draft", lambda w: one_draft_figures(drafter, args.runs, args.latency, w)),
        ("batch", lambda w: batch_figures(drafter, args.runs, args.latency, args.count, args.concurrency, w)),
        ("tokens", lambda w: token_figures(drafter, w)),
        # Scale (issue 20): 1,000 issues at 64 calls in flight; the target is on the in-process time.
        (
            "scale",
            lambda w: batch_figures(drafter, args.runs, args.latency, 1000, 64, w, in_process_target=True),
        ),
    ]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="drafter-bench-") as tmp:
        for name, step in steps:
            if name in which or (name == "cold" and "validate" in which):
                print(f"measuring {name} ...", file=sys.stderr, flush=True)
                rows.extend(step(Path(tmp)))
    print(f"{header}; {args.runs} runs per figure; drafter = `{' '.join(drafter)}`")
    if busy:
        print("Other processes using CPU when the run started: " + "; ".join(busy))
    end_load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"Load average at the end {end_load}.\n")
    print(table(rows))
    if not llm:
        print("\n(`llm` not found: pass --llm PATH; the `llm --help` reference row is skipped.)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
