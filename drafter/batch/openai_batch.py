"""``drafter batch --via openai-batch``: the section requests of a backlog through the OpenAI Batch API.

Usage::

    run = run_openai_batch(sources, load_outline(), BatchOptions(out_dir=Path("docs/design"),
                           draft=DraftOptions(model=resolve_model("gpt-4o-mini", os.environ))))

The issues are fetched and the unchanged or human-edited drafts skipped exactly as in
:func:`drafter.batch.runner.run_batch`. The chains of the remaining issues then run in *stages*: every
chain whose dependencies are drafted goes into the same batch, so the default template takes three
(``problem``; ``solution``, which sees the problem drafts; ``risks``, which sees both). Each stage
is one JSONL file of chat-completion requests (the same messages, JSON schema, temperature and
token limit as the direct path), uploaded and submitted as a batch with a 24 h completion window,
then polled every ``poll_interval`` seconds. Answers become sections with the chains' own code
(an answer that does not fit the schema becomes TODO markers; there is no second round to re-ask),
and each draft is rendered, validated and written like a direct one.

The state (batch ids, which request belongs to which issue, the answers received) is saved in
``<out-dir>/.drafter-batch-state.json`` after every step, so running the same command again after
an interruption resumes: batches still running are polled by id, received answers are reused and
nothing is submitted twice. A request is identified by the issue and its inputs hash (issue,
comments, notes, template, prompts, model), so an issue that changed meanwhile is asked afresh.
Requests that failed are submitted again by the next run. The file is removed once nothing in it
is pending.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from drafter.batch.runner import BatchItem, BatchOptions, BatchRun, Runner, failure_reason, run_runner
from drafter.config.redaction import redact
from drafter.document.content import SectionContent
from drafter.document.writer import draft_filename, inspect_target
from drafter.drafting.chains import ChainResult, ChainRunner, ChainSpec, chain_schema, plan
from drafter.errors import InputError
from drafter.model.choice import OFFLINE
from drafter.model.handle import Usage, reply_from_text
from drafter.model.openai import BATCH_ENDPOINT, answer_of, request_body
from drafter.pipeline import assemble_draft, expected_inputs_hash, previous_markdown
from drafter.sources.context import IssueContext
from drafter.template.outline import Outline
from drafter.template.prompts import Prompts

STATE_FILE = ".drafter-batch-state.json"
STATE_SCHEMA = "drafter.openai-batch-state/1"
DEFAULT_POLL_INTERVAL = 30.0
MAX_POLL_INTERVAL = 3600.0
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
# The Batch API's limits per input file: 50,000 requests and 200 MB.
MAX_REQUESTS = 50_000
MAX_BYTES = 190 * 1024 * 1024


class BatchAPI(Protocol):
    """The four Batch API calls used (:class:`drafter.model.openai.OpenAIBatches` in production)."""

    def upload(self, name: str, data: bytes) -> str: ...

    def create(self, file_id: str, metadata: dict[str, str]) -> dict[str, Any]: ...

    def retrieve(self, batch_id: str) -> dict[str, Any]: ...

    def content(self, file_id: str) -> str: ...


@dataclass
class StagedOptions:
    """How to drive the Batch API: poll interval, the sleep to wait with, progress lines, a client."""

    poll_interval: float = DEFAULT_POLL_INTERVAL
    sleep: Callable[[float], None] | None = None  # None: wait, but stop at once when cancelled
    on_event: Callable[[str], None] | None = None
    client: BatchAPI | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.poll_interval <= MAX_POLL_INTERVAL:
            raise InputError(
                f"--poll-interval must be between 0 and {MAX_POLL_INTERVAL:.0f} seconds, got {self.poll_interval:g}"
            )


def stages(specs: Sequence[ChainSpec]) -> list[list[ChainSpec]]:
    """The chains in sequential stages: each chain in the first stage after all it depends on."""
    by_name = {spec.name: spec for spec in specs}
    level: dict[str, int] = {}

    def depth(name: str, seen: frozenset[str]) -> int:
        if name not in level:
            deps = [d for d in by_name[name].depends_on if d in by_name and d not in seen]
            level[name] = 1 + max((depth(d, seen | {name}) for d in deps), default=-1)
        return level[name]

    groups: list[list[ChainSpec]] = []
    for spec in specs:
        number = depth(spec.name, frozenset())
        while len(groups) <= number:
            groups.append([])
        groups[number].append(spec)
    return [group for group in groups if group]


# -- state -----------------------------------------------------------------------------------------
class _State:
    """``.drafter-batch-state.json``: the batches submitted and the answers received, saved atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.batches: list[dict[str, Any]] = []
        self.results: dict[str, dict[str, Any]] = {}
        if not path.exists():
            return
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("schema") != STATE_SCHEMA:
                raise ValueError(f"schema is {data.get('schema')!r}, expected {STATE_SCHEMA}")
            self.batches = [dict(b) for b in data["batches"]]
            self.results = {str(k): dict(v) for k, v in data["results"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(
                f"cannot read the batch state {path}: {' '.join(str(exc).split())[:200]}",
                hint="delete it to start over (batches it lists are then submitted again)",
            ) from None

    def save(self) -> None:
        data = {"schema": STATE_SCHEMA, "batches": self.batches, "results": self.results}
        temp = self.path.with_name(self.path.name + ".tmp")
        temp.write_text(redact(json.dumps(data, indent=1, ensure_ascii=False)) + "\n", encoding="utf-8")
        os.replace(temp, self.path)

    def close(self, finished: set[str]) -> None:
        """Forget answers of drafts now written and batches that ended; remove the file when empty."""
        self.results = {cid: r for cid, r in self.results.items() if cid.split("-", 1)[0] not in finished}
        self.batches = [b for b in self.batches if not b.get("done")]
        if self.results or self.batches:
            self.save()
        else:
            self.path.unlink(missing_ok=True)


# -- stages ----------------------------------------------------------------------------------------
@dataclass
class _Job:
    """One issue to draft through the Batch API."""

    item: BatchItem
    ctx: IssueContext
    drafter: ChainRunner
    tag: str
    started: float
    results: dict[str, ChainResult] = field(default_factory=dict)
    error: str | None = None

    def custom_id(self, spec: ChainSpec) -> str:
        return f"{self.tag}-{spec.name}"[:64]


def _one_line(text: object, limit: int = 300) -> str:
    return " ".join(str(text).split())[:limit]


def _batch_error(batch: dict[str, Any], status: str) -> str:
    errors = (batch.get("errors") or {}).get("data") or []
    if errors:
        first = errors[0]
        where = f" (line {first['line']})" if first.get("line") else ""
        return f"{first.get('code') or 'error'}{where}: {_one_line(first.get('message') or '')}"
    if status == "expired":
        return "it did not finish within the 24 h completion window"
    return "no reason given"


class _Stopped(Exception):
    """The run was cancelled (Ctrl-C) while this thread waited for a batch."""


def _kept(body: dict[str, Any]) -> dict[str, Any]:
    """What the state file keeps of an answer: enough for :func:`~drafter.model.openai.answer_of`
    to judge it as the live path does (finish reason, refusal, tool call, usage)."""
    choices = body.get("choices") or [{}]
    first = choices[0] if isinstance(choices[0], dict) else {}
    message = first.get("message") or {}
    kept = {key: message[key] for key in ("content", "refusal", "tool_calls") if message.get(key)}
    return {
        "choices": [{"message": kept, "finish_reason": first.get("finish_reason")}],
        "usage": body.get("usage") or {},
    }


class _Stages:
    """Submits, polls and collects the stages of one run (blocking; runs in a worker thread)."""

    client: BatchAPI

    def __init__(
        self, jobs: list[_Job], outline: Outline, options: BatchOptions, staged: StagedOptions, state: _State
    ) -> None:
        self.jobs = jobs
        self.outline = outline
        self.choice = options.draft.model
        self.staged = staged
        self.state = state
        self.stop = threading.Event()

    def event(self, message: str) -> None:
        if self.staged.on_event is not None:
            self.staged.on_event(message)

    def run(self, groups: list[list[ChainSpec]]) -> None:
        owned = None
        client = self.staged.client
        if client is None:
            from drafter.model.openai import OpenAIBatches

            client = owned = OpenAIBatches(self.choice)
        self.client = client
        try:
            self._run(groups)
        finally:
            if owned is not None:
                owned.close()

    def _run(self, groups: list[list[ChainSpec]]) -> None:
        for number, group in enumerate(groups, 1):
            live = [job for job in self.jobs if job.error is None]
            if not live:
                return
            label = f"stage {number}/{len(groups)} ({', '.join(s.name for s in group)})"
            wanted = {job.custom_id(spec): (job, spec) for job in live for spec in group}
            missing = [cid for cid in wanted if cid not in self.state.results]
            running = [
                b for b in self.state.batches if not b.get("done") and set(b["custom_ids"]) & set(missing)
            ]
            covered = {cid for batch in running for cid in batch["custom_ids"]}
            for batch in running:
                self.event(f"{label}: resuming OpenAI batch {batch['id']}")
            fresh = [cid for cid in missing if cid not in covered]
            for chunk in self._chunks([(cid, *wanted[cid]) for cid in fresh]):
                running.append(self._submit(label, group[0].name, chunk))
            if not missing:
                self.event(f"{label}: all {len(wanted)} answers already received")
            failures: dict[str, str] = {}
            for batch in running:
                failures.update(self._wait(label, batch))
            for cid, (job, spec) in wanted.items():
                stored = self.state.results.get(cid)
                if stored is None:
                    if job.error is None:
                        job.error = failures.get(cid, f"{spec.name}: no answer came back")
                    continue
                schema = chain_schema(spec)
                if "completion" in stored:
                    reply = answer_of(stored["completion"], schema)
                else:  # a state file written by an earlier drafter kept only the text
                    usage = Usage(
                        int(stored.get("prompt_tokens", 0)), int(stored.get("completion_tokens", 0)), 1
                    )
                    reply = reply_from_text(str(stored.get("text", "")), schema, usage)
                job.results[spec.name] = job.drafter.chain_result(
                    spec, reply, reply.usage, time.perf_counter()
                )

    def _line(self, cid: str, job: _Job, spec: ChainSpec) -> bytes:
        contents: dict[str, SectionContent] = {}
        for name in spec.depends_on:
            if name in job.results:
                contents.update(job.results[name].contents)
        previous = previous_markdown(self.outline, contents) if contents else ""
        body = request_body(self.choice, job.drafter.messages(spec, previous), chain_schema(spec))
        line = {"custom_id": cid, "method": "POST", "url": BATCH_ENDPOINT, "body": body}
        return json.dumps(line, ensure_ascii=False).encode("utf-8") + b"\n"

    def _chunks(self, entries: list[tuple[str, _Job, ChainSpec]]) -> list[list[tuple[str, bytes]]]:
        chunks: list[list[tuple[str, bytes]]] = []
        size = 0
        for cid, job, spec in entries:
            line = self._line(cid, job, spec)
            if not chunks or len(chunks[-1]) >= MAX_REQUESTS or size + len(line) > MAX_BYTES:
                chunks.append([])
                size = 0
            chunks[-1].append((cid, line))
            size += len(line)
        return chunks

    def _submit(self, label: str, stage: str, chunk: list[tuple[str, bytes]]) -> dict[str, Any]:
        data = b"".join(line for _, line in chunk)
        file_id = self.client.upload(f"drafter-{stage}.jsonl", data)
        created = self.client.create(file_id, {"drafter_stage": stage})
        batch = {
            "id": str(created["id"]),
            "stage": stage,
            "input_file_id": file_id,
            "custom_ids": [cid for cid, _ in chunk],
            "submitted": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "done": False,
        }
        self.state.batches.append(batch)
        self.state.save()
        self.event(f"{label}: submitted {len(chunk)} requests as OpenAI batch {batch['id']}")
        return batch

    def _wait(self, label: str, batch: dict[str, Any]) -> dict[str, str]:
        """Poll until the batch ends; store its answers; return the reasons of requests without one."""
        last = None
        while True:
            current = self.client.retrieve(batch["id"])
            status = str(current.get("status"))
            if status in TERMINAL:
                break
            counts = current.get("request_counts") or {}
            progress = (status, counts.get("completed"), counts.get("failed"))
            if progress != last:
                done = f"{counts.get('completed', 0)}/{counts.get('total', len(batch['custom_ids']))}"
                self.event(f"{label}: OpenAI batch {batch['id']} is {status} ({done} done)")
                last = progress
            if self.staged.sleep is not None:
                self.staged.sleep(self.staged.poll_interval)
            elif self.stop.wait(self.staged.poll_interval):
                raise _Stopped
        failures: dict[str, str] = {}
        for key in ("output_file_id", "error_file_id"):
            if current.get(key):
                self._collect(batch["id"], self.client.content(str(current[key])), failures)
        why = f"OpenAI batch {batch['id']} {status}"
        if status != "completed":
            why += f": {_batch_error(current, status)}"
        for cid in batch["custom_ids"]:
            if cid not in self.state.results:
                failures.setdefault(cid, why)
        batch["done"] = True
        batch["status"] = status
        self.state.save()
        self.event(f"{label}: OpenAI batch {batch['id']} {status}")
        return failures

    def _collect(self, batch_id: str, text: str, failures: dict[str, str]) -> None:
        for raw in text.splitlines():
            if not raw.strip():
                continue
            line = json.loads(raw)
            cid = str(line.get("custom_id"))
            response = line.get("response") or {}
            body = response.get("body") or {}
            if response.get("status_code") == 200 and not line.get("error"):
                self.state.results[cid] = {"completion": _kept(body)}
                continue
            error = line.get("error") or body.get("error") or {}
            message = error.get("message") if isinstance(error, dict) else error
            status = f"HTTP {response['status_code']}: " if response.get("status_code") else ""
            failures[cid] = (
                f"request failed in OpenAI batch {batch_id}: {status}{_one_line(message or 'no detail')}"
            )


# -- the runner ------------------------------------------------------------------------------------
class _StagedRunner(Runner):
    """``batch``'s runner with the per-issue drafting replaced by Batch API stages."""

    def __init__(
        self, sources: Sequence[str], outline: Outline, options: BatchOptions, staged: StagedOptions
    ) -> None:
        super().__init__(sources, outline, options)
        self.staged = staged

    def _settle(self, item: BatchItem, started: float) -> None:
        item.seconds = time.perf_counter() - started
        self.settled.add(id(item))
        self.done += 1
        if self.options.on_item is not None:
            self.options.on_item(item, self.done, len(self.sources))

    async def _draft_items(self, items: list[BatchItem]) -> None:
        options = self.options
        prompts = Prompts(extra=options.draft.prompts_dir)
        gate = asyncio.Semaphore(options.concurrency)
        jobs: list[_Job] = []

        async def prepare(item: BatchItem) -> None:
            async with gate:
                started = time.perf_counter()
                try:
                    ctx = await self._prepare(item)
                except Exception as exc:
                    item.status, item.reason, ctx = "failed", failure_reason(exc), None
                if ctx is not None and self.repairs.pop(id(item), None) is not None:
                    # A partial draft: unedited, it is drafted again whole (nothing human is
                    # lost); edited, only the direct path can splice in the failed sections.
                    if inspect_target(Path(item.path or "")).edited:
                        item.status = "partial"  # still unfinished: exit 1 until it is
                        item.reason = (
                            f"partial and edited by a human; finish it: drafter redraft {item.path} --failed"
                        )
                        ctx = None
                if ctx is None:
                    self._settle(item, started)
                    return
                wanted = expected_inputs_hash(ctx, self.outline, options.draft, self.versions)
                # The draft's file name, not the source as given: a custom_id must not depend on
                # where the repository is checked out, or a resumed run would not recognise it.
                tag = hashlib.sha256(f"{draft_filename(ctx)}\n{wanted}".encode()).hexdigest()[:20]
                drafter = ChainRunner(self.outline, ctx, None, prompts)
                jobs.append(_Job(item, ctx, drafter, tag, started))

        await asyncio.gather(*(prepare(item) for item in items))
        for job in [job for job in jobs if id(job.item) in self.superseded]:
            jobs.remove(job)  # fetched first, listed after another source that drafts to its file
            job.item.status, job.item.reason = "failed", self.superseded[id(job.item)] + " (list it once)"
            self._settle(job.item, job.started)
        if not jobs:
            return
        order = {id(item): n for n, item in enumerate(items)}
        jobs.sort(key=lambda job: order[id(job.item)])
        state = await asyncio.to_thread(_State, options.out_dir / STATE_FILE)
        runner = _Stages(jobs, self.outline, options, self.staged, state)
        try:
            await asyncio.to_thread(runner.run, stages(plan(self.outline)))
        except Exception as exc:
            for job in jobs:
                job.error = job.error or failure_reason(exc)
        except BaseException:
            runner.stop.set()  # cancelled (Ctrl-C): end the polling thread; the state is saved
            raise
        finished: set[str] = set()
        for job in jobs:
            await self._finish(job)
            if job.item.status in ("written", "invalid", "unchanged", "partial"):
                finished.add(job.tag)
        await asyncio.to_thread(state.close, finished)

    async def _finish(self, job: _Job) -> None:
        item = job.item
        try:
            if job.error is not None:
                item.status, item.reason = "failed", job.error
            else:
                contents: dict[str, SectionContent] = {}
                usage = Usage()
                fallbacks: list[str] = []
                failed: list[str] = []
                replaced: list[str] = []
                for chain in job.results.values():
                    contents.update(chain.contents)
                    usage.add(chain.usage)
                    fallbacks.extend(chain.fallbacks)
                    failed.extend(chain.failed)
                    replaced.extend(chain.replaced_refs)
                result = assemble_draft(
                    job.ctx,
                    self.outline,
                    self.options.draft,
                    contents,
                    usage=usage.to_dict(),
                    fallbacks=fallbacks,
                    failed=failed,
                    replaced=replaced,
                )
                await self._write(item, result)
        except Exception as exc:
            item.status, item.reason = "failed", failure_reason(exc)
        self._settle(item, job.started)


def run_openai_batch(
    sources: Sequence[str], outline: Outline, options: BatchOptions, staged: StagedOptions | None = None
) -> BatchRun:
    """Draft every source through the OpenAI Batch API, stage by stage; never raises per item.

    Blocks until the last stage's batch ends (up to 24 h per stage); an interrupted run is resumed
    by running it again with the same ``out_dir``.
    """
    if options.draft.model.provider == OFFLINE:
        raise InputError(
            "--via openai-batch needs an OpenAI model, not offline",
            hint="pass --model openai:NAME with OPENAI_API_KEY set, or drop --via",
        )
    if options.max_total_tokens is not None or options.max_cost is not None:
        flag = "--max-total-tokens" if options.max_total_tokens is not None else "--max-cost"
        raise InputError(
            f"{flag} does not apply to --via openai-batch (all requests of a stage are submitted at once)",
            hint="use --shard to split a backlog instead",
        )
    return run_runner(_StagedRunner(sources, outline, options, staged or StagedOptions()))
