"""``from-issue`` as a library call: fetch -> draft -> render -> validate -> stamp -> write.

Usage::

    settings = resolve_settings({}, os.environ)
    outcome = from_issue(FromIssueRequest("examples/issue-hikaricp-664.json", settings))
    print(outcome.path, outcome.result.report.valid())

:func:`from_issue` owns the whole flow of one issue: the model chosen from the settings, the
template, the issue fetched with the team's notes, the draft (the chains, or the offline drafter),
rendered, validated and stamped with its provenance, then written under the draft's lock after
the target was checked once. ``batch``, ``redraft``, ``review`` and ``eval`` reuse its steps
(:func:`draft_async`, :func:`assemble_draft`, :func:`write_result`); none re-implements
fetching, rendering or validating.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drafter.config import Settings
from drafter.document.content import SectionContent, section_id
from drafter.document.provenance import Provenance, attach, digest, record_source
from drafter.document.render import Meta, render_document, render_sources, section_body, today
from drafter.document.writer import WriteStatus, draft_filename, write_draft
from drafter.drafting.offline import draft_offline
from drafter.errors import InputError
from drafter.model.choice import OFFLINE, ModelChoice
from drafter.model.loop import run_sync
from drafter.model.meter import empty_usage
from drafter.sources.context import IssueContext
from drafter.template.findings import Report
from drafter.template.outline import Outline
from drafter.template.prompts import Prompts
from drafter.template.validate import validate_text

if TYPE_CHECKING:
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
    payload = json.dumps(
        {"ctx": ctx.content_hash(), "template": digest(outline.text), "prompts": prompts, "model": model},
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
    from drafter.drafting.chains import Drafter
    from drafter.model.handle import Usage

    handle = options.ensure_handle()
    assert handle is not None
    drafter = Drafter(outline, ctx, handle, prompts)
    results = await drafter.run(lambda c: previous_markdown(outline, c), options.on_event)
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

    def assemble() -> DraftResult:
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
        )

    draft = assemble()
    if not options.reask:
        return draft
    # Re-ask each chain whose sections fail the structure check, once, with the findings. The
    # check is the finished draft's own validation, so a clean draft is rendered only once.
    by_chain: dict[str, list[str]] = {}
    for finding in draft.report.findings:
        if finding.severity != "error" or not finding.section or finding.section in fallbacks:
            continue
        spec = drafter.chain_of(finding.section)
        if spec is not None:
            by_chain.setdefault(spec.name, []).append(f"{finding.section}: {finding.message}")
    if not by_chain:
        return draft
    specs = [s for s in drafter.specs if s.name in by_chain]

    def reask(spec: ChainSpec) -> Awaitable[ChainResult]:
        own = {section_id(section) for section in spec.sections.values()}
        earlier = {
            section_id(section)
            for dep in drafter.specs
            if dep.name in spec.depends_on
            for section in dep.sections.values()
        }
        return drafter.run_chain(
            spec,
            previous_markdown(outline, contents, earlier),
            by_chain[spec.name],
            own=previous_markdown(outline, contents, own),
            ahead=1,  # a re-ask is the last call of its draft, whichever chain it repeats
        )

    again = await asyncio.gather(*(reask(s) for s in specs))
    for result in again:
        usage.add(result.usage)
        for sid, content in result.contents.items():
            if not content.fallback:
                contents[sid] = content
        replaced.extend(result.replaced_refs)
    return assemble()


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
) -> DraftResult:
    """Render, validate and stamp drafted sections: what :func:`draft_async` does after drafting.

    ``drafter batch --via openai-batch`` drafts the sections through the OpenAI Batch API and
    finishes each draft here, so its files are the same as the direct path's.
    """
    started = time.perf_counter()
    prompt_versions = Prompts(extra=options.prompts_dir).versions(PROMPT_NAMES)
    if meta is None:
        meta = Meta(author=options.author or "TODO(drafter): author", date=today())
    offline = options.model.provider == OFFLINE and options.handle is None
    model_name = draft_model_name(options)
    usage = usage if usage is not None else empty_usage()
    fallbacks = fallbacks if fallbacks is not None else []
    failed = failed if failed is not None else []
    replaced = replaced if replaced is not None else []
    text, bodies = render_document(outline, ctx, contents, meta, notice=OFFLINE_NOTICE if offline else None)
    section_sources = {sid: c.sources for sid, c in contents.items() if c.sources}
    text = text.rstrip("\n") + "\n\n" + render_sources(ctx, section_sources) + "\n"
    report = validate_text(text, outline)
    hashed = inputs_hash(ctx, outline, prompt_versions, model_name)
    provenance = Provenance(
        template=outline.name,
        template_hash=digest(outline.text),
        model=model_name,
        prompts=prompt_versions,
        inputs=hashed,
        source=ctx.url or ctx.title,
        drafter_version=_version(),
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


def issue_fingerprint(ctx: IssueContext) -> str:
    """Hash of the issue's own title and body (comments are fingerprinted one by one)."""
    return digest(ctx.title + "\n" + ctx.body)


def draft(ctx: IssueContext, outline: Outline, options: DraftOptions) -> DraftResult:
    """Synchronous :func:`draft_async`."""
    return run_sync(draft_async(ctx, outline, options), lambda: [options.handle])


def target_path(ctx: IssueContext, out: Path | None, out_dir: Path) -> Path:
    """``--out`` if given, else ``--out-dir`` / the sanitised draft file name."""
    return out if out is not None else out_dir / draft_filename(ctx)


def write_result(result: DraftResult, path: Path, *, force: bool = False) -> WriteStatus:
    """Write a finished draft and its state file atomically, refusing to overwrite human edits
    without ``force``."""
    state = result.provenance.state_json() if result.provenance is not None else None
    return write_draft(path, result.text, state, force=force)


@functools.cache
def _version() -> str:
    """drafter's installed version, recorded in provenance (a metadata lookup costs ~2 ms)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("drafter")
    except PackageNotFoundError:  # pragma: no cover - bare checkout
        return "0"


def result_summary(result: DraftResult, path: Path | None, status: str) -> dict[str, Any]:
    """The ``--format json`` object of ``from-issue``."""
    return {
        "path": str(path) if path else None,
        "status": status,
        "valid": result.report.valid(),
        "findings": [f.to_dict() for f in result.report.findings],
        "model": result.model,
        "usage": result.usage,
        "fallbacks": result.fallbacks,
        "partial": bool(result.failed),
        "failed_sections": result.failed,
        "seconds": round(result.seconds, 3),
    }


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
    if versions is None:
        versions = prompt_versions(options)
    return inputs_hash(ctx, outline, versions, draft_model_name(options))


# -- the whole flow of one issue ---------------------------------------------------------------------
@dataclass
class FromIssueRequest:
    """One ``from-issue`` run: the issue, the resolved settings, and where the draft goes.

    ``out`` is a file, ``Path("-")`` for standard output (no file, no state file), or ``None``
    for ``settings.out_dir`` / the draft's own name. ``handle`` is a ready model handle (tests);
    ``on_handle`` sees the handle built for the run, or None offline (the CLI attaches its tracer).
    ``notify`` gets messages for the user: a rate-limit wait, a lock being waited for, the
    offline default.
    """

    source: str
    settings: Settings
    notes: tuple[str, ...] = ()
    notes_files: tuple[str, ...] = ()
    out: Path | None = None
    force: bool = False
    handle: ModelHandle | None = None
    on_handle: Callable[[ModelHandle | None], None] | None = None
    on_event: Events | None = None
    notify: Callable[[str], None] | None = None

    @property
    def to_stdout(self) -> bool:
        return self.out is not None and str(self.out) == "-"

    def say(self, message: str) -> None:
        if self.notify is not None:
            self.notify(message)


@dataclass
class Prepared:
    """What a run drafts from: the model, the template and the issue with the team's notes."""

    choice: ModelChoice
    outline: Outline
    ctx: IssueContext


@dataclass
class FromIssueOutcome:
    """A finished ``from-issue``: the draft, where it went (``None``: stdout) and its write status."""

    result: DraftResult
    path: Path | None
    status: str
    cost: float | None = None

    @property
    def exit_code(self) -> int:
        """0 for a valid, complete draft; 1 when it has validation errors or is partial."""
        return 0 if self.result.report.valid() and not self.result.failed else 1

    def to_dict(self) -> dict[str, Any]:
        """The ``--format json`` object of ``from-issue``."""
        summary = result_summary(self.result, self.path, self.status)
        summary["estimated_cost_usd"] = round(self.cost, 4) if self.cost is not None else None
        return summary


def prepare(request: FromIssueRequest) -> Prepared:
    """Choose the model, load the template, fetch the issue and attach the notes; no model call."""
    from drafter.document.writer import check_regular
    from drafter.model.choice import choose_model
    from drafter.sources import SourceSettings, load_notes, load_source
    from drafter.template.outline import load_outline

    if request.out is not None and not request.to_stdout:
        if request.out.is_dir():
            raise InputError(
                f"--out {request.out} is a directory", hint="use --out-dir for a folder, or name a file"
            )
        # A FIFO or device (/dev/stdout) is refused before anything is fetched, drafted or opened.
        check_regular(
            request.out, "--out", hint="name a regular file, or pass --out - to print the draft on stdout"
        )
    if request.source.strip() == "-" and "-" in request.notes_files:
        raise InputError(
            "SOURCE and --notes-file cannot both read standard input", hint="save one of them to a file"
        )
    settings = request.settings
    choice = choose_model(settings)
    outline = load_outline(settings.template)
    sources = SourceSettings.from_settings(settings, notify=request.notify)
    notes = load_notes(list(request.notes), list(request.notes_files))
    return Prepared(choice, outline, load_source(request.source, sources).with_notes(notes))


def from_issue(request: FromIssueRequest, prepared: Prepared | None = None) -> FromIssueOutcome:
    """Draft one issue and write it (or print it): the whole ``from-issue``, as a library call."""
    from drafter.config import git_author
    from drafter.document.locks import draft_lock_sync
    from drafter.document.writer import check_target
    from drafter.model.pricing import estimate_cost

    prepared = prepared or prepare(request)
    choice, outline, ctx = prepared.choice, prepared.outline, prepared.ctx
    settings = request.settings
    offline = choice.provider == OFFLINE and request.handle is None
    if choice.defaulted and offline:
        request.say("no model configured (set OPENAI_API_KEY or --model); writing an offline draft")
    handle = request.handle
    if handle is None and not offline:
        from drafter.model.openai import build_handle

        handle = build_handle(choice)
    if request.on_handle is not None:
        request.on_handle(handle)
    options = DraftOptions(
        model=choice, handle=handle, author=settings.author or git_author(), on_event=request.on_event
    )
    path: Path | None = None
    if request.to_stdout:
        result, status = draft(ctx, outline, options), "stdout"
    else:
        if request.out is None and not settings.out_dir.exists():
            try:
                settings.out_dir.mkdir(parents=True)
            except OSError as exc:
                raise InputError(
                    f"cannot create --out-dir {settings.out_dir}: {exc.strerror}",
                    hint="pick a writable folder",
                ) from None
        path = target_path(ctx, request.out, settings.out_dir)
        options.source_spec = record_source(request.source, path)
        waiting = f"{path.name}: waiting for another drafter run (pid {{}}) drafting it"
        # Held from the check to the write, so a concurrent run never drafts the same file too.
        with draft_lock_sync(path, lambda pid: request.say(waiting.format(pid or "?"))):
            check_target(path, force=request.force)  # refused before any model call
            result = draft(ctx, outline, options)
            status = write_result(result, path, force=request.force)
    usage = result.usage
    cost = estimate_cost(
        result.model, usage["prompt_tokens"], usage["completion_tokens"], prices=settings.prices
    )
    return FromIssueOutcome(result, path, status, cost if usage["calls"] else None)
