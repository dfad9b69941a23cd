"""``from-issue`` as a library call: context -> chains (or offline) -> render -> validate -> write.

Usage::

    ctx = load_source("examples/issue-hikaricp-664.json", SourceSettings())
    result = draft(ctx, load_outline(), DraftOptions(model=resolve_model("offline", {})))
    path = write_result(result, Path("docs/design"))

``batch``, ``redraft`` and ``review`` reuse these pieces; none re-implements fetching, rendering
or validating.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from drafter.document.content import SectionContent, section_id
from drafter.document.provenance import Provenance, attach, digest
from drafter.document.render import Meta, render_document, render_sources, section_body, today
from drafter.document.writer import WriteStatus, draft_filename, write_draft
from drafter.drafting.offline import draft_offline
from drafter.model.openai import OFFLINE, ModelChoice
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
    usage: dict[str, int] = field(
        default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0, "calls": 0}
    )
    fallbacks: list[str] = field(default_factory=list)
    # Section ids whose answer stayed unusable after the retry: the draft is partial.
    failed: list[str] = field(default_factory=list)
    replaced_refs: list[str] = field(default_factory=list)
    inputs_hash: str = ""
    seconds: float = 0.0
    # The full record of how the draft was made: its state file (the text carries the marker).
    provenance: Provenance | None = None


def git_author() -> str | None:
    """``git config user.name``, if git is installed and it is set."""
    if shutil.which("git") is None:
        return None
    try:
        out = subprocess.run(
            ["git", "config", "user.name"], capture_output=True, text=True, timeout=3, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


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
    usage = usage if usage is not None else {"prompt_tokens": 0, "completion_tokens": 0, "calls": 0}
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


_T = TypeVar("_T")


def run_sync(work: Coroutine[Any, Any, _T], handles: Callable[[], Iterable[ModelHandle | None]]) -> _T:
    """``asyncio.run(work)``, closing the handles' connections on that loop before it ends.

    ``handles`` is read after ``work`` finishes, since a handle may be built during it. A pooled
    connection left open would outlive its loop (a ResourceWarning, or "Event loop is closed"
    when a later loop reuses the handle).
    """

    async def main() -> _T:
        try:
            return await work
        finally:
            for handle in handles():
                if handle is not None:
                    await handle.aclose()

    return asyncio.run(main())


def repository_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that holds ``.git`` (a folder, or a worktree's file)."""
    folder = start.resolve()
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def record_source(source: str, draft: Path) -> str:
    """SOURCE as a draft's state records it: never an absolute path, never one that climbs out.

    A URL stays as it is; a local file is recorded relative to the root of the repository that
    holds the draft, or as its bare file name when it lies outside that repository (or the draft
    is in none); standard input is recorded as "". ``redraft``, ``review`` and ``status`` re-read
    the issue from it, so it resolves wherever the repository is checked out.
    """
    spec = source.strip()
    if spec == "-":
        return ""
    local = Path(spec)
    if "://" in spec or not local.is_file():
        return spec
    root = _draft_root(draft)
    resolved = local.resolve()
    if root is not None and resolved.is_relative_to(root):
        return resolved.relative_to(root).as_posix()
    return local.name


def _draft_root(draft: Path) -> Path | None:
    folder = draft.parent
    while not folder.exists() and folder != folder.parent:  # a draft not written yet
        folder = folder.parent
    return repository_root(folder)


def recorded_source(spec: str, draft: Path) -> str:
    """The inverse of :func:`record_source`: a SOURCE usable from the current directory.

    A relative path is looked up from the draft's repository root, then (bare names, and drafts
    written before the state file) from the draft's folder; never from the working directory,
    where a file of the same name may be another issue. Not found, it is the path beside the
    draft, and reading it fails with a message that names it (pass ``--source`` then).
    """
    if not spec or "://" in spec or Path(spec).is_absolute() or _is_tracker_ref(spec):
        return spec
    for base in (_draft_root(draft), draft.parent):
        if base is not None and (base / spec).is_file():
            return str(base / spec)
    return str(draft.parent / spec)


def _is_tracker_ref(spec: str) -> bool:
    """``OWNER/REPO#N``: a tracker reference, not a file path."""
    import re

    return re.fullmatch(r"[\w.-]+/[\w.-]+#\d+", spec) is not None


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
