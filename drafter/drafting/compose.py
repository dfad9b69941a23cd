"""One issue drafted in memory: the chains (or the offline drafter), then render, validate, stamp.

:func:`draft_async` is the drafting step every flow shares: ``from-issue`` and ``batch`` (through
:func:`drafter.pipeline.draft_to`), ``eval``, and ``batch --via openai-batch``, which drafts the
sections through the Batch API and finishes each draft with :func:`assemble_draft`. Nothing here
fetches an issue or writes a file; :mod:`drafter.pipeline` does both around it.

A re-ask is decided on the sections the chains drafted, checked one by one against the
template's body rules, so a draft is rendered and validated as a whole exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import BrokenExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from drafter.config.about import version
from drafter.document.content import SectionContent, section_id
from drafter.document.provenance import Provenance, attach, digest
from drafter.document.render import (
    Meta,
    render_document,
    render_sources,
    section_body,
    source_excerpts,
    today,
)
from drafter.drafting.offline import draft_offline
from drafter.model.choice import OFFLINE, ModelChoice
from drafter.model.loop import run_sync
from drafter.model.meter import empty_usage, metered
from drafter.sources.context import IssueContext
from drafter.template.findings import Report
from drafter.template.outline import Outline
from drafter.template.prompts import Prompts
from drafter.template.validate import validate_text

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from drafter.drafting.chains import ChainResult, ChainSpec
    from drafter.model.handle import ModelHandle

# One line; "drafter:" keeps the validator from counting its mention of TODO markers as one.
OFFLINE_NOTICE = (
    "Offline draft (drafter: no language model was used): built from the issue text alone. "
    "Every TODO(drafter) marks something a human must write."
)
PROMPT_NAMES = ["system", "evidence", "problem", "solution", "risks", "_sections", "answer"]
Events = Callable[[str, str], None]


@dataclass
class DraftOptions:
    """How to draft: the model (or a ready handle, for tests), author, prompt folder."""

    model: ModelChoice
    handle: ModelHandle | None = None
    author: str | None = None
    prompts_dir: Path | None = None
    reask: bool = True
    on_event: Events | None = None
    source_spec: str = ""
    # Builds the handle on first use: importing the OpenAI stack costs over a second, which a
    # batch re-run that drafts nothing should not pay. Share one memoised factory across copies.
    make_handle: Callable[[], ModelHandle] | None = None
    # --deadline: seconds for the model's part of one draft; what is not answered by then is
    # written as TODOs recorded as failed (a partial draft a re-run finishes).
    deadline: float | None = None
    # A process pool for the CPU-bound, pure steps of a draft (validating the finished document;
    # a batch also distils there): a large batch's second core (drafter.batch.offload). None: in line.
    cpu_pool: Executor | None = None

    def ensure_handle(self) -> ModelHandle | None:
        """The model handle, built now by ``make_handle`` if it was deferred."""
        if self.handle is None and self.make_handle is not None:
            self.handle = self.make_handle()
        return self.handle


@dataclass
class DraftResult:
    """A finished draft in memory."""

    ctx: IssueContext
    outline: Outline
    text: str
    report: Report
    model: str
    usage: dict[str, int] = field(default_factory=empty_usage)
    fallbacks: list[str] = field(default_factory=list)
    # Section ids whose answer stayed unusable after the retry: the draft is partial.
    failed: list[str] = field(default_factory=list)
    replaced_refs: list[str] = field(default_factory=list)
    inputs_hash: str = ""
    seconds: float = 0.0
    # The full record of how the draft was made: its state file (the text carries the marker).
    provenance: Provenance | None = None


def inputs_hash(ctx: IssueContext, outline: Outline, prompts: dict[str, str], model: str) -> str:
    """Hash of everything a draft depends on: issue, comments, notes, template, prompts, model."""
    return inputs_hash_of(ctx.content_hash(), outline, prompts, model)


def inputs_hash_of(content_hash: str, outline: Outline, prompts: dict[str, str], model: str) -> str:
    """:func:`inputs_hash` from the context's :meth:`~IssueContext.content_hash` alone."""
    payload = json.dumps(
        {"ctx": content_hash, "template": digest(outline.text), "prompts": prompts, "model": model},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def previous_markdown(
    outline: Outline, contents: dict[str, SectionContent], only: Iterable[str] | None = None
) -> str:
    """Drafted sections as a later chain sees them: each heading, then its whole body.

    ``only`` limits it to those section ids (a re-ask shows a chain its own sections apart from
    the earlier chains' drafts). Nothing is cut: a chain that builds on a truncated problem
    statement drafts from half of it.
    """
    wanted = set(only) if only is not None else None
    parts = []
    for section in outline.walk():
        sid = section_id(section)
        content = contents.get(sid)
        if content is not None and (wanted is None or sid in wanted):
            parts.append(f"[{section.heading}]\n{section_body(section, content)}")
    return "\n\n".join(parts)


async def _draft_with_model(
    ctx: IssueContext, outline: Outline, options: DraftOptions, prompts: Prompts, meta: Meta
) -> DraftResult:
    from drafter.drafting.chains import ChainRunner
    from drafter.model.handle import Usage

    handle = options.ensure_handle()
    assert handle is not None
    runner = ChainRunner(outline, ctx, handle, prompts)
    started = time.perf_counter()
    with metered() as spent:
        results = await runner.run(
            lambda c: previous_markdown(outline, c), options.on_event, options.deadline
        )
    contents: dict[str, SectionContent] = {}
    usage = Usage()
    fallbacks: list[str] = []
    failed: list[str] = []
    replaced: list[str] = []
    for result in results:
        contents.update(result.contents)
        usage.add(result.usage)
        fallbacks.extend(result.fallbacks)
        failed.extend(result.failed)
        replaced.extend(result.replaced_refs)
    if runner.timed_out:
        # A chain stopped by the deadline has no result, but its calls were made: count them all.
        usage = Usage(**spent)

    async def assemble() -> DraftResult:
        report: Report | None = None
        if options.cpu_pool is not None:
            text, _ = render_draft(ctx, outline, options, contents, meta, bodies)
            loop = asyncio.get_running_loop()
            with contextlib.suppress(BrokenExecutor):  # the worker died: validated in line below
                report = await loop.run_in_executor(options.cpu_pool, validate_text, text, outline)
        return assemble_draft(
            ctx,
            outline,
            options,
            contents,
            usage=usage.to_dict(),
            fallbacks=fallbacks,
            failed=failed,
            replaced=replaced,
            meta=meta,
            rendered=bodies,
            report=report,
        )

    # The draft is rendered and validated once. Only a chain whose sections fail the structure
    # check is asked again (once, with the findings); the document is then put together from the
    # section bodies already rendered, with only the re-asked sections rendered anew, and the
    # finished document validated. (Checking each section apart to save that second validation
    # cost every draft more than the validation costs the few that are re-asked.)
    bodies: dict[str, str] = {}
    draft = await assemble()
    left = None if options.deadline is None else options.deadline - (time.perf_counter() - started)
    if not options.reask or runner.timed_out or (left is not None and left <= 0):
        return draft
    by_chain: dict[str, list[str]] = {}
    for finding in draft.report.findings:
        if finding.severity != "error" or not finding.section or finding.section in fallbacks:
            continue
        spec = runner.chain_of(finding.section)
        if spec is not None:
            by_chain.setdefault(spec.name, []).append(f"{finding.section}: {finding.message}")
    if not by_chain:
        return draft
    specs = [s for s in runner.specs if s.name in by_chain]

    def reask(spec: ChainSpec) -> Awaitable[ChainResult]:
        own = {section_id(section) for section in spec.sections.values()}
        earlier = {
            section_id(section)
            for dep in runner.specs
            if dep.name in spec.depends_on
            for section in dep.sections.values()
        }
        return runner.run_chain(
            spec,
            previous_markdown(outline, contents, earlier),
            by_chain[spec.name],
            own=previous_markdown(outline, contents, own),
            ahead=1,  # a re-ask is the last call of its draft, whichever chain it repeats
        )

    try:
        again = await asyncio.wait_for(asyncio.gather(*(reask(s) for s in specs)), timeout=left)
    except TimeoutError:  # the deadline passed during the re-ask: the first answers stand
        return draft
    for result in again:
        usage.add(result.usage)
        for sid, content in result.contents.items():
            if not content.fallback:
                contents[sid] = content
                bodies.pop(sid, None)  # rendered anew with the rest of the document
        replaced.extend(result.replaced_refs)
    return await assemble()


async def draft_async(ctx: IssueContext, outline: Outline, options: DraftOptions) -> DraftResult:
    """Draft one issue in memory (no file is written)."""
    started = time.perf_counter()
    prompts = Prompts(extra=options.prompts_dir)
    meta = Meta(author=options.author or "TODO(drafter): author", date=today())
    offline = options.model.provider == OFFLINE and options.handle is None
    if offline:
        result = assemble_draft(ctx, outline, options, draft_offline(outline, ctx), meta=meta)
    else:
        result = await _draft_with_model(ctx, outline, options, prompts, meta)
    result.seconds = time.perf_counter() - started
    return result


def assemble_draft(
    ctx: IssueContext,
    outline: Outline,
    options: DraftOptions,
    contents: dict[str, SectionContent],
    *,
    usage: dict[str, int] | None = None,
    fallbacks: list[str] | None = None,
    failed: list[str] | None = None,
    replaced: list[str] | None = None,
    meta: Meta | None = None,
    rendered: dict[str, str] | None = None,
    report: Report | None = None,
) -> DraftResult:
    """Render, validate and stamp drafted sections: what :func:`draft_async` does after drafting.

    ``drafter batch --via openai-batch`` drafts the sections through the OpenAI Batch API and
    finishes each draft here, so its files are the same as the direct path's. ``report``: the
    validation of the same document, made elsewhere (:func:`render_draft`, then ``validate_text``).
    """
    started = time.perf_counter()
    prompt_versions = Prompts(extra=options.prompts_dir).versions(PROMPT_NAMES)
    if meta is None:
        meta = Meta(author=options.author or "TODO(drafter): author", date=today())
    model_name = draft_model_name(options)
    usage = usage if usage is not None else empty_usage()
    fallbacks = fallbacks if fallbacks is not None else []
    failed = failed if failed is not None else []
    replaced = replaced if replaced is not None else []
    section_sources = {sid: c.sources for sid, c in contents.items() if c.sources}
    text, bodies = render_draft(ctx, outline, options, contents, meta, {} if rendered is None else rendered)
    if report is None:
        report = validate_text(text, outline)
    hashed = inputs_hash(ctx, outline, prompt_versions, model_name)
    provenance = Provenance(
        template=outline.name,
        template_hash=digest(outline.text),
        model=model_name,
        prompts=prompt_versions,
        inputs=hashed,
        source=ctx.url or ctx.title,
        drafter_version=version(),
        created=meta.date,
        sections={sid: digest(body) for sid, body in bodies.items()},
        section_sources=section_sources,
        fallbacks=fallbacks,
        failed=failed,
        source_spec=options.source_spec,
        issue_hash=issue_fingerprint(ctx),
        comments={c.id: digest(c.body) for c in ctx.comments},
        bases={sid: body for sid, body in bodies.items() if body},
        notes=[note.text for note in ctx.notes],
        excerpts=source_excerpts(ctx, section_sources),
        usage=dict(usage),
    )
    return DraftResult(
        ctx=ctx,
        outline=outline,
        text=attach(text, provenance),
        provenance=provenance,
        report=report,
        model=model_name,
        usage=usage,
        fallbacks=fallbacks,
        failed=failed,
        replaced_refs=replaced,
        inputs_hash=hashed,
        seconds=time.perf_counter() - started,
    )


def render_draft(
    ctx: IssueContext,
    outline: Outline,
    options: DraftOptions,
    contents: dict[str, SectionContent],
    meta: Meta,
    rendered: dict[str, str],
) -> tuple[str, dict[str, str]]:
    """The document of drafted sections as it is validated (before its marker), and each
    section's body; ``rendered`` keeps the bodies across calls (a re-ask renders only what it
    changed)."""
    offline = options.model.provider == OFFLINE and options.handle is None
    notice = OFFLINE_NOTICE if offline else None
    text, bodies = render_document(outline, ctx, contents, meta, notice=notice, rendered=rendered)
    rendered.update(bodies)
    section_sources = {sid: c.sources for sid, c in contents.items() if c.sources}
    return text.rstrip("\n") + "\n\n" + render_sources(ctx, section_sources) + "\n", bodies


def issue_fingerprint(ctx: IssueContext) -> str:
    """Hash of the issue's own title and body (comments are fingerprinted one by one)."""
    return digest(ctx.title + "\n" + ctx.body)


def draft(ctx: IssueContext, outline: Outline, options: DraftOptions) -> DraftResult:
    """Synchronous :func:`draft_async`."""
    return run_sync(draft_async(ctx, outline, options), lambda: [options.handle])


def draft_model_name(options: DraftOptions) -> str:
    """The model name :func:`draft_async` records for ``options`` (``offline`` or the handle's name)."""
    if options.model.provider == OFFLINE and options.handle is None:
        return OFFLINE
    return options.handle.name if options.handle else options.model.spec


def prompt_versions(options: DraftOptions) -> dict[str, str]:
    """The prompt versions :func:`draft_async` records for ``options``."""
    return Prompts(extra=options.prompts_dir).versions(PROMPT_NAMES)


def expected_inputs_hash(
    ctx: IssueContext, outline: Outline, options: DraftOptions, versions: dict[str, str] | None = None
) -> str:
    """The ``inputs`` hash a draft of ``ctx`` with ``options`` would carry, without drafting it.

    ``batch`` compares it with an existing draft's provenance to skip unchanged issues before
    any model call; pass ``versions`` (from :func:`prompt_versions`) to read the prompts once.
    """
    return expected_inputs_hash_of(ctx.content_hash(), outline, options, versions)


def expected_inputs_hash_of(
    content_hash: str, outline: Outline, options: DraftOptions, versions: dict[str, str] | None = None
) -> str:
    """:func:`expected_inputs_hash` from the context's :meth:`~IssueContext.content_hash` alone."""
    if versions is None:
        versions = prompt_versions(options)
    return inputs_hash_of(content_hash, outline, versions, draft_model_name(options))
