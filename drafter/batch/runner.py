"""``drafter batch`` as a library call: many issues, one event loop, one status per issue.

Usage::

    sources = select_shard(dedupe(read_sources_file(Path("issues.txt"))), (1, 4))
    run = run_batch(sources, load_outline(), BatchOptions(out_dir=Path("docs/design"),
                    draft=DraftOptions(model=resolve_model("offline", {}))))
    print(run.totals())

Each source is fetched in a worker thread (``asyncio.to_thread``) and drafted with
:func:`drafter.pipeline.draft_to`, the step ``from-issue`` uses too. ``concurrency`` is the number of model calls in flight; up
to twice as many issues are in progress, so that while a draft waits on its own previous answer
(problem -> solution -> risks) another issue's call takes the free slot (under a token or cost
budget, ``concurrency`` issues). All drafts share the model handle (one HTTP client for the model
server) and one tracker connection pool (:class:`~drafter.sources.pool.SharedTransport`, at most
``max(concurrency, 4)`` fetches per host). A failing issue becomes a ``failed`` item and never
stops the others.

Before any model call the draft's input hash (issue, comments, notes, template, prompts, model)
is compared with the ``inputs`` recorded in the existing draft's provenance: an unchanged, unedited
draft is reported ``unchanged`` and not rewritten, so a re-run (or the rest of a killed run) spends
model calls only on what is new. A draft a human edited is ``skipped-edited`` unless ``force``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import BrokenExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from drafter.batch.items import OK_STATUSES, STATUSES, BatchItem, BatchRun, Status
from drafter.batch.prepare import Fetched, Finisher, decide, finished
from drafter.batch.sources import dedupe, parse_shard, read_sources_file, select_shard, shard_of, source_key
from drafter.document.locks import draft_lock
from drafter.document.writer import WriteStatus, draft_filename, inspect_target
from drafter.errors import DrafterError, InputError
from drafter.model.meter import metered
from drafter.model.pricing import estimate_cost
from drafter.pipeline import (
    DraftOptions,
    DraftResult,
    draft_model_name,
    draft_to,
    expected_inputs_hash,
    expected_inputs_hash_of,
    prompt_versions,
    write_result,
)
from drafter.sources.context import IssueContext, Note
from drafter.sources.memo import ThreadMemo
from drafter.sources.settings import SourceSettings
from drafter.template.outline import Outline
from drafter.template.resources import DEFAULT_TEMPLATE

if TYPE_CHECKING:
    import httpx2

DEFAULT_CONCURRENCY = 4
# The items and source helpers live in drafter.batch.items and drafter.batch.sources; they stay
# importable from here.
__all__ = [
    "OK_STATUSES",
    "STATUSES",
    "BatchItem",
    "BatchOptions",
    "BatchRun",
    "Status",
    "dedupe",
    "parse_shard",
    "read_sources_file",
    "run_batch",
    "run_batch_async",
    "select_shard",
    "shard_of",
    "source_key",
]


ItemHook = Callable[[BatchItem, int, int], None]


@dataclass
class BatchOptions:
    """How to run a batch; ``draft`` carries the model (or a ready handle), author and prompts."""

    out_dir: Path
    draft: DraftOptions
    settings: SourceSettings = field(default_factory=SourceSettings)
    notes: tuple[Note, ...] = ()
    concurrency: int = DEFAULT_CONCURRENCY
    force: bool = False
    max_total_tokens: int | None = None
    # --max-cost: start no new draft once the estimated USD cost (drafter.model.pricing) reaches it.
    max_cost: float | None = None
    prices: Mapping[str, tuple[float, float]] | None = None
    on_item: ItemHook | None = None
    transport: httpx2.BaseTransport | None = None
    # The run's default template (Settings.default_template): drafts from another one carry its
    # name in their file names (drafter.document.writer.draft_filename).
    default_template: str = DEFAULT_TEMPLATE
    # Validate finished drafts in a worker process (drafter.batch.offload); None: for a batch of
    # 64 issues or more on two cores or more.
    offload: bool | None = None

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise InputError(f"--concurrency must be 1 or more, got {self.concurrency}")
        if self.max_total_tokens is not None and self.max_total_tokens < 1:
            raise InputError(f"--max-total-tokens must be 1 or more, got {self.max_total_tokens}")
        if self.max_cost is not None and not self.max_cost > 0:
            raise InputError(f"--max-cost must be more than 0 USD, got {self.max_cost}")


# -- running ---------------------------------------------------------------------------------------
def issues_in_progress(options: BatchOptions) -> int:
    """Issues a batch works on at once: two per model-call slot (see the module docstring).

    Under a token or cost budget, one per slot: a budget is checked when a draft starts, so the
    drafts in progress are what a run can spend beyond it, and that stays ``concurrency``.
    """
    budgeted = options.max_total_tokens is not None or options.max_cost is not None
    return options.concurrency if budgeted else 2 * options.concurrency


def failure_reason(exc: BaseException) -> str:
    if isinstance(exc, DrafterError):
        return str(exc)
    text = " ".join(str(exc).split())[:300]
    return f"unexpected {type(exc).__name__}: {text}" if text else f"unexpected {type(exc).__name__}"


class Runner:
    def __init__(self, sources: Sequence[str], outline: Outline, options: BatchOptions) -> None:
        self.sources = list(sources)
        self.outline = outline
        self.options = options
        self.versions = prompt_versions(options.draft)
        settings = options.settings
        memo = ThreadMemo(settings.cache_dir) if settings.cache_dir is not None else None
        self.finisher = Finisher(memo, settings.max_context, options.notes)
        self.tokens = 0
        self.cost = 0.0
        self.done = 0
        # Output path -> the item drafting to it; of two sources that draft to one file, the one
        # listed first wins whatever order their fetches finish in (see _claim).
        self.claimed: dict[Path, BatchItem] = {}
        self.order: dict[int, int] = {}
        self.superseded: dict[int, str] = {}
        self.settled: set[int] = set()
        # Items whose existing draft is partial: only its failed sections are drafted (see _prepare).
        self.repairs: dict[int, list[str]] = {}
        # Each item's draft lock is held from _prepare until it is settled (see drafter.document.locks).
        self.stacks: dict[int, contextlib.AsyncExitStack] = {}
        self.interrupted: str | None = None

    def _budget_left(self) -> bool:
        limit, max_cost = self.options.max_total_tokens, self.options.max_cost
        return (limit is None or self.tokens < limit) and (max_cost is None or self.cost < max_cost)

    def _budget_reason(self) -> str:
        limit = self.options.max_total_tokens
        if limit is not None and self.tokens >= limit:
            return f"--max-total-tokens {limit} reached before it started"
        return f"--max-cost ${self.options.max_cost:g} reached (~${self.cost:.4f}) before it started"

    def _load(self, spec: str) -> IssueContext:
        """The issue as fetched (not yet distilled): see :mod:`drafter.batch.prepare`."""
        from drafter.sources import fetch_source

        if spec.strip() == "-":
            raise InputError("batch cannot read an issue from standard input", hint="save it to a file")
        return fetch_source(spec, self.options.settings, transport=self.options.transport)

    def _fetch(self, spec: str) -> Fetched:
        return self.finisher.look_up(self._load(spec), finish=self.options.draft.cpu_pool is None)

    async def _finish_fetched(self, fetched: Fetched) -> IssueContext:
        """The finished context: in the batch's worker process if it has one, else in a thread."""
        pool, finisher = self.options.draft.cpu_pool, self.finisher
        if pool is None:
            return await asyncio.to_thread(finisher.finish, fetched)
        loop = asyncio.get_running_loop()
        try:
            ctx = await loop.run_in_executor(
                pool, finished, fetched.raw, finisher.max_context, finisher.notes
            )
        except BrokenExecutor:  # the worker died (killed, out of memory): finish here instead
            return await asyncio.to_thread(finisher.finish, fetched)
        finisher.record(fetched, ctx)
        return ctx

    async def _process(self, item: BatchItem) -> None:
        ctx = await self._prepare(item)
        if ctx is None:
            return
        options = self.options
        if not self._budget_left():
            item.status = "skipped-budget"
            item.reason = self._budget_reason()
            return
        assert item.path is not None
        self._check_claim(item)
        handle = options.draft.ensure_handle()
        if handle is not None and handle.max_in_flight != options.concurrency:
            handle.limit(options.concurrency)
        if id(item) in self.repairs:
            await self._repair(item, ctx, self.repairs[id(item)])
            return
        result, status = await draft_to(
            ctx,
            self.outline,
            options.draft,
            Path(item.path),
            source=item.source,
            force=options.force,
            before_write=lambda: self._check_claim(item),
        )
        self._record(item, result, status)

    async def _prepare(self, item: BatchItem) -> IssueContext | None:
        """Fetch the issue and decide whether it needs drafting; ``None`` once ``item`` is settled."""
        options = self.options
        fetched = await asyncio.to_thread(self._fetch, item.source)
        path = options.out_dir / draft_filename(fetched.raw, self.outline.name, options.default_template)
        item.path = str(path)
        self._claim(item, path.resolve())
        stack = self.stacks.get(id(item))
        if stack is not None:  # another drafter run drafting this file: wait, then see what it wrote
            notify = options.settings.notify
            waiting = (
                (lambda pid: notify(f"{path.name}: waiting for drafter (pid {pid or '?'})"))
                if notify
                else None
            )
            await stack.enter_async_context(draft_lock(path, waiting))
        existing = await asyncio.to_thread(inspect_target, path)
        name, force = self.outline.name, options.force
        if fetched.known is not None:
            wanted = expected_inputs_hash_of(fetched.known, self.outline, options.draft, self.versions)
            if decide(existing, existing.inputs_hash == wanted, name, force) == "unchanged":
                item.status = "unchanged"  # the memo's hash: nothing distilled (drafter.batch.prepare)
                return None
        ctx = fetched.ctx or await self._finish_fetched(fetched)
        wanted = expected_inputs_hash(ctx, self.outline, options.draft, self.versions)
        decision = decide(existing, existing.inputs_hash == wanted, name, force)
        if decision == "repair":
            self.repairs[id(item)] = list(existing.failed)
            return ctx
        if decision == "skipped-edited":
            item.status = "skipped-edited"
            item.reason = "edited by a human since drafter wrote it; pass --force to replace it"
            return None
        if decision == "unchanged":
            item.status = "unchanged"
            return None
        return ctx

    def _claim(self, item: BatchItem, path: Path) -> None:
        """Claim ``path`` for ``item``, or fail the one of the two listed later."""
        other = self.claimed.get(path)
        if other is None or other is item:
            self.claimed[path] = item
            return
        mine, theirs = self.order.get(id(item), 0), self.order.get(id(other), 0)
        if mine > theirs:
            raise InputError(f"{item.source} drafts to the same file as {other.source}", hint="list it once")
        # ``other`` was fetched first but is listed later: it stops before writing, or, if it
        # already finished, is reported failed (this item's draft replaces its file).
        self.claimed[path] = item
        reason = f"{other.source} drafts to the same file as {item.source}"
        self.superseded[id(other)] = reason
        if id(other) in self.settled and other.status != "failed":
            other.status, other.reason = "failed", reason + " (list it once)"

    def _check_claim(self, item: BatchItem) -> None:
        reason = self.superseded.get(id(item))
        if reason is not None:
            raise InputError(reason, hint="list it once")

    async def _write(self, item: BatchItem, result: DraftResult) -> None:
        """Write a draft finished elsewhere (``--via openai-batch``) and settle ``item``."""
        assert item.path is not None
        status = await asyncio.to_thread(write_result, result, Path(item.path), force=self.options.force)
        self._record(item, result, status)

    def _record(self, item: BatchItem, result: DraftResult, status: WriteStatus) -> None:
        """Count a written draft's usage and give ``item`` its status (written, partial, invalid...)."""
        item.usage = dict(result.usage)
        self._spend(result.model, result.usage)
        item.findings = [finding.to_dict() for finding in result.report.findings]
        if result.failed:
            item.status = "partial"
            item.reason = (
                f"{len(result.failed)} section(s) unusable after retries ({', '.join(result.failed)}); "
                "a re-run redrafts only those"
            )
        elif not result.report.valid():
            item.status = "invalid"
            errors = sum(1 for f in result.report.findings if f.severity == "error")
            item.reason = f"written with {errors} validation error{'s' if errors != 1 else ''}"
        else:
            item.status = status

    def _spend(self, model: str, usage: Mapping[str, int]) -> None:
        """Count ``usage`` against --max-total-tokens and --max-cost."""
        prompt, completion = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
        self.tokens += prompt + completion
        self.cost += estimate_cost(model, prompt, completion, prices=self.options.prices) or 0.0

    async def _repair(self, item: BatchItem, ctx: IssueContext, failed: list[str]) -> None:
        """Redraft the failed sections of a partial draft (see :mod:`drafter.revise.repair`)."""
        from drafter.revise.repair import repair_partial

        assert item.path is not None
        done = await repair_partial(Path(item.path), ctx, self.outline, failed, self.options.draft)
        item.usage = dict(done.run.usage)
        self._spend(draft_model_name(self.options.draft), done.run.usage)
        item.findings = [finding.to_dict() for finding in done.report.findings]
        item.reason = done.reason()
        item.status = "partial" if done.still_failed else "written" if done.report.valid() else "invalid"

    async def _one(self, item: BatchItem, gate: asyncio.Semaphore) -> None:
        async with gate:
            started = time.perf_counter()
            with metered() as spent:
                try:
                    async with contextlib.AsyncExitStack() as stack:
                        self.stacks[id(item)] = stack
                        await self._process(item)
                except Exception as exc:
                    item.status = "failed"
                    item.reason = failure_reason(exc)
                    # What the item spent before it failed still counts, in the report and the budget.
                    item.usage = dict(spent)
                    self._spend(draft_model_name(self.options.draft), spent)
                except asyncio.CancelledError:
                    item.usage = dict(spent)  # stopped by a signal: its calls were still made
                    raise
            self.stacks.pop(id(item), None)
            item.seconds = time.perf_counter() - started
            self.settled.add(id(item))
            self.done += 1
            if self.options.on_item is not None:
                self.options.on_item(item, self.done, len(self.sources))

    async def run(self) -> BatchRun:
        started = time.perf_counter()
        options = self.options
        try:
            options.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(
                f"cannot create --out-dir {options.out_dir}: {exc.strerror or exc}",
                hint="pick a writable folder",
            ) from None
        items = [BatchItem(source=spec, key=source_key(spec, options.settings)) for spec in self.sources]
        self.order = {id(item): index for index, item in enumerate(items)}
        limited = self.options.draft.handle
        previous = limited.max_in_flight if limited is not None else None
        try:
            await self._draft_items(items)
        except asyncio.CancelledError:
            if self.interrupted is None:
                raise
            for item in items:
                if id(item) not in self.settled:
                    item.status, item.reason = (
                        "not-run",
                        f"{self.interrupted} stopped the batch before it finished",
                    )
        finally:
            # The batch limits the caller's handle while it runs (see _process); give it back.
            handle = self.options.draft.handle
            if handle is not None:
                handle.limit(previous if handle is limited else None)
        return BatchRun(items, time.perf_counter() - started, self.interrupted)

    async def _draft_items(self, items: list[BatchItem]) -> None:
        """Settle every item; :mod:`drafter.batch.openai_batch` overrides this with its staged run."""
        gate = asyncio.Semaphore(issues_in_progress(self.options))
        await asyncio.gather(*(self._one(item, gate) for item in items))


async def run_batch_async(sources: Sequence[str], outline: Outline, options: BatchOptions) -> BatchRun:
    """Draft every source (already deduplicated and sharded) under ``options``; never raises per item."""
    return await _run_async(Runner(sources, outline, options))


async def _run_async(runner: Runner) -> BatchRun:
    from drafter.batch import offload

    draft = runner.options.draft
    if draft.cpu_pool is not None or not offload.wanted(len(runner.sources), runner.options.offload):
        return await _run_shared(runner)
    pool = offload.validation_pool()
    draft.cpu_pool = pool
    try:
        return await _run_shared(runner)
    finally:
        draft.cpu_pool = None
        # Interrupted: leave a validation in flight to the worker's exit, not to the report's wait.
        pool.shutdown(wait=runner.interrupted is None, cancel_futures=True)


async def _run_shared(runner: Runner) -> BatchRun:
    options = runner.options
    if options.transport is None:
        from drafter.sources.pool import SharedTransport

        transport = SharedTransport(per_host=max(options.concurrency, 4))
        options.transport = transport
        try:
            return await runner.run()
        finally:
            options.transport = None
            transport.shutdown()
    return await runner.run()


def run_batch(sources: Sequence[str], outline: Outline, options: BatchOptions) -> BatchRun:
    """Synchronous :func:`run_batch_async` (runs its own event loop)."""
    return run_runner(Runner(sources, outline, options))


def run_runner(runner: Runner) -> BatchRun:
    options = runner.options
    try:
        out_dir_ok = not options.out_dir.exists() or options.out_dir.is_dir()
    except OSError:
        out_dir_ok = False
    if not out_dir_ok:
        raise InputError(f"--out-dir {options.out_dir} is not a folder", hint="pick a folder for the drafts")
    from drafter.model.loop import run_sync

    return run_sync(_owned_loop(runner), lambda: [options.draft.handle])


async def _owned_loop(runner: Runner) -> BatchRun:
    options = runner.options
    # Fetches run in threads (asyncio.to_thread); give them one per slot, since the default pool
    # has cpu_count + 4 threads, which would cap a --concurrency 16 batch on a 2-core runner.
    # asyncio.run shuts this executor down when the loop closes.
    workers = max(issues_in_progress(options) + 1, 4)
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="drafter-batch")
    asyncio.get_running_loop().set_default_executor(executor)
    from drafter.batch.interrupt import cancel_on_signals

    def stop(name: str) -> None:
        runner.interrupted = runner.interrupted or name

    with cancel_on_signals(stop):
        run = await _run_async(runner)
    if run.interrupted:
        # A fetch thread blocked on a slow tracker would hold the loop's close (and so the
        # report) until its request timed out: leave those threads behind, and let the caller
        # write the report now. They end with their requests.
        executor.shutdown(wait=False, cancel_futures=True)
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=1))
    return run
