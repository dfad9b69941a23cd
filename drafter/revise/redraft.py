"""``drafter redraft``: regenerate one section of a draft and leave every other byte as it was.

Usage::

    result = redraft(Path("docs/design/x.md"), RedraftOptions(section="2.1", model=choice), load)

The issue is re-fetched (``load`` gets the SOURCE recorded in the draft's provenance), the target
section is drafted again (offline, or by the one chain that owns it), and only the lines of that
section's body are replaced. A section whose body is only sub-headings (``--section 4``) stands
for its subsections (:func:`sections_for`): each chain that owns some of them runs once, and each
is spliced and merged on its own, as if named one by one. When the human edited the section since drafter wrote it (its hash
no longer matches the state file's), the new text is merged three ways with :mod:`drafter.document.merge`:
base is the body drafter generated, kept in the draft's state file. Overlapping changes get
conflict markers and ``status == "conflict"``; ``keep_edits`` leaves an edited section alone.

Without its state file (not committed, deleted) a draft still redrafts, visibly degraded: drafter
cannot tell which lines of the section are the human's, so it merges two ways (every differing
line becomes a conflict for the human to settle) and says so in ``warnings``. The draft and its
state file are written atomically, the draft with a backup beside it until the write succeeded;
a draft from before the state file gets a marker and a state file on this write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from drafter.document.content import SectionContent, drafted_sections, section_id
from drafter.document.merge import Conflict, has_markers, merge3
from drafter.document.provenance import (
    Provenance,
    digest,
    read_draft,
    record_source,
    recorded_source,
    state_path,
    state_problem,
    was_edited,
)
from drafter.document.regions import Located, Region, bare, locate
from drafter.document.render import section_body, source_excerpts, used_sources
from drafter.drafting.compose import issue_fingerprint
from drafter.drafting.offline import draft_offline
from drafter.errors import InputError, ProviderError
from drafter.model.choice import OFFLINE, ModelChoice
from drafter.model.meter import empty_usage
from drafter.revise.results import RedraftResult, RedraftRun, Status, combined
from drafter.revise.splice import finish, line_end, read_text, replace_sources, splice, write_with_backup
from drafter.sources.context import IssueContext, Note
from drafter.template.outline import Outline, Section, default_chain, load_outline
from drafter.template.prompts import Prompts

if TYPE_CHECKING:
    from drafter.model.handle import ModelHandle

Loader = Callable[[str], IssueContext]
# The result types live in drafter.revise.results; they stay importable from here.
__all__ = [
    "Loader",
    "RedraftOptions",
    "RedraftResult",
    "RedraftRun",
    "Status",
    "failed_sections",
    "find_section",
    "redraft",
    "redraft_sections",
    "sections_for",
    "with_recorded_notes",
]


@dataclass
class RedraftOptions:
    """Which section, which model (or a ready handle, for tests), and how to treat human edits."""

    section: str
    model: ModelChoice
    handle: ModelHandle | None = None
    keep_edits: bool = False
    source: str | None = None
    template: str | None = None
    prompts_dir: Path | None = None
    # The template itself, when the caller has it (a batch drafting with a template file).
    outline: Outline | None = None


def _named(outline: Outline, name: str) -> Section:
    """The template section named by heading title, number (``2.1``) or id."""
    wanted = name.strip()
    section = next((s for s in outline.walk() if section_id(s) == wanted), None) or outline.find(wanted)
    if section is None:
        names = ", ".join(s.heading for s in drafted_sections(outline))
        raise InputError(f"no section '{name}' in template {outline.name}", hint=f"use one of: {names}")
    return section


def sections_for(outline: Outline, name: str) -> list[Section]:
    """The drafted sections that redrafting ``name`` regenerates, in document order.

    A section with a body of its own is redrafted alone (its subsections, if any, stay as they
    are: they are named on their own). A section whose body is only sub-headings (section 4 of
    ``technical-design``) stands for every drafted section under it, because that is what a
    reader sees as "section 4"; refusing it made people redraft 4.1, 4.2 and 4.3 one by one,
    paying the owning chain once per subsection.
    """
    section = _named(outline, name)
    drafted = {section_id(s) for s in drafted_sections(outline)}
    if section_id(section) in drafted:
        return [section]
    return [s for s in section.walk() if section_id(s) in drafted]


def find_section(outline: Outline, name: str) -> Section:
    """The one section named by ``name``, which must have a body (see :func:`sections_for` for a
    parent section)."""
    found = sections_for(outline, name)
    section = _named(outline, name)
    if not (len(found) == 1 and found[0] is section):
        subs = ", ".join(s.heading for s in found)
        raise InputError(
            f"section '{section.heading}' has no body of its own", hint=f"redraft one of: {subs}"
        )
    return section


def _recorded_template(name: str) -> str | None:
    """The template a draft's marker names, if the project knows it (never a path from a document)."""
    if not name:
        return None
    from drafter.template.documents import configured_template
    from drafter.template.resources import marker_template

    return marker_template(name, configured=configured_template())


def with_recorded_notes(ctx: IssueContext, provenance: Provenance) -> IssueContext:
    """The notes the draft was made with, then any new ``--notes``: a redraft keeps the team's words."""
    given = {note.text for note in ctx.notes}
    recorded = tuple(Note(text, "provenance") for text in provenance.notes if text not in given)
    return replace(ctx, notes=recorded + ctx.notes) if recorded else ctx


def _previous(located: Located, names: set[str], fresh: dict[str, str] | None = None) -> str:
    """The current text of the sections of ``names`` chains, as context for a chain: the human's,
    or what this redraft just generated (``fresh``, by section id)."""
    fresh = fresh or {}
    parts = [
        f"[{r.section.heading}]\n{fresh.get(r.sid, r.text)}"
        for r in located.regions.values()
        if _chain_name(r.section) in names
    ]
    return "\n\n".join(parts)


def _owned_text(located: Located, region: Region) -> str:
    """The lines from the section's heading to the next template section's heading.

    Wider than the core on purpose: a conflict block ends in a line of ``=======``, which
    markdown reads as a setext heading underline, so a left conflict can cut the core short and
    hide its own markers from a check on the core alone.
    """
    after = [r.heading for r in located.regions.values() if r.heading > region.heading]
    end = min(after, default=located.body_end)
    return "\n".join(bare(line) for line in located.lines[region.heading + 1 : end])


def _chain_name(section: Section) -> str:
    top = section.top
    return top.chain or default_chain(top.title)


async def _generate(
    outline: Outline,
    ctx: IssueContext,
    sections: list[Section],
    options: RedraftOptions,
    located: Located,
) -> tuple[dict[str, SectionContent | None], dict[str, int]]:
    """New content for each of ``sections`` (None where the model's answer stayed unusable).

    Each chain that owns one of them runs once, in dependency order; a later chain sees the
    sections an earlier one just redrafted, and the human's current text of the rest.
    """
    wanted = {section_id(s) for s in sections}
    if options.handle is None and options.model.provider == OFFLINE:
        offline = draft_offline(outline, ctx)
        return {sid: offline[sid] for sid in wanted}, empty_usage()
    from drafter.drafting.chains import ChainRunner
    from drafter.model.handle import Usage

    if options.handle is None:
        from drafter.model.openai import build_handle

        options.handle = build_handle(options.model)
    assert options.handle is not None
    runner = ChainRunner(outline, ctx, options.handle, Prompts(extra=options.prompts_dir))
    usage = Usage()
    out: dict[str, SectionContent | None] = {}
    fresh: dict[str, str] = {}
    for spec in runner.specs:
        owned = {section_id(s): s for s in spec.sections.values()}
        if not wanted & owned.keys():
            continue
        result = await runner.run_chain(spec, _previous(located, set(spec.depends_on), fresh))
        usage.add(result.usage)
        for sid in wanted & owned.keys():
            content = result.contents.get(sid)
            usable = content is not None and not content.fallback
            out[sid] = content if usable else None
            if content is not None and usable:
                fresh[sid] = section_body(owned[sid], content)
    return out, usage.to_dict()


def redraft(path: Path, options: RedraftOptions, load: Loader) -> RedraftResult:
    """Regenerate the section ``options.section`` of the draft at ``path``; see the module docstring.

    A section whose answer stays unusable raises :class:`ProviderError`, and nothing is written.
    """
    from drafter.model.loop import run_sync

    run = run_sync(redraft_sections(path, [options.section], options, load), lambda: [options.handle])
    [(heading, headings)] = run.asked.items()
    if headings == [heading]:
        result = run.results[0]
    else:  # a parent section: one result holding each of its subsections'
        result = combined(path, heading, run.results)
    result.usage = run.usage
    return result


def failed_sections(path: Path) -> list[str]:
    """The ids of the sections the draft's state records as failed (a partial draft)."""
    record = read_draft(read_text(path), path)
    if record.provenance is None:
        raise InputError(
            f"{path} has no drafter marker, so drafter did not write it (or the marker was removed)",
            hint="redraft only works on drafts made by 'drafter from-issue'",
        )
    if record.state not in ("file", "inline"):
        raise InputError(
            f"the state file {state_path(path).name} {state_problem(record.state)}, so drafter cannot "
            "tell which sections of the draft failed",
            hint="redraft them one at a time with --section NAME",
        )
    return list(record.provenance.failed)


async def redraft_sections(
    path: Path,
    names: list[str],
    options: RedraftOptions,
    load: Loader,
    *,
    lenient: bool = False,
) -> RedraftRun:
    """Regenerate the sections ``names`` of the draft at ``path`` in one write.

    Each chain involved runs once. ``lenient``: a section whose answer stays unusable is left
    as it was and stays recorded as failed (status ``failed``), while the others are written;
    otherwise it raises :class:`ProviderError` before anything is written. A failed section a
    human has since filled in counts as done: it is kept, and no longer recorded as failed.
    """
    original = read_text(path)
    record = read_draft(original, path)
    provenance = record.provenance
    if provenance is None:
        raise InputError(
            f"{path} has no drafter marker, so drafter did not write it (or the marker was removed)",
            hint="redraft only works on drafts made by 'drafter from-issue'",
        )
    outline = options.outline or load_outline(options.template or _recorded_template(provenance.template))
    order = {section_id(s): n for n, s in enumerate(outline.walk())}
    if lenient:  # sections the template no longer has (it was edited since) are not looked for
        known = {section_id(s) for s in outline.walk()}
        names = [name for name in names if name in known]
    picked: dict[str, Section] = {}
    asked: dict[str, list[str]] = {}
    parts: set[str] = set()  # sections picked because their parent was named
    for name in names:
        found = sections_for(outline, name)
        asked[_named(outline, name).heading] = [s.heading for s in found]
        picked.update((section_id(s), s) for s in found)
        if not (len(found) == 1 and found[0] is _named(outline, name)):
            parts.update(section_id(s) for s in found)
    warnings: list[str] = []
    untouched = was_edited(original) is False  # nobody changed any line since drafter wrote it
    complete = record.state in ("file", "inline")
    if not complete:
        what = state_problem(record.state)
        warnings.append(
            f"the state file {state_path(path).name} {what}: "
            + (
                "it is rebuilt with only "
                + ("this section's record" if len(picked) == 1 else "the redrafted sections' records")
                if untouched
                else "drafter cannot tell your lines from its own, so every line that differs from "
                "the new draft is left as a conflict to resolve"
            )
        )
    located = locate(original, outline)
    results: dict[str, RedraftResult] = {}
    todo: list[tuple[Section, bool]] = []
    failed = [sid for sid in provenance.failed if sid in order]
    for sid, section in sorted(picked.items(), key=lambda item: order[item[0]]):
        region = located.regions.get(sid)
        if region is None and lenient and sid in failed:
            # The human removed the section that had failed (an optional one, say): that is
            # their call, not a reason to stop the others; it is no longer missing.
            results[sid] = RedraftResult(path, section.heading, "removed", True, warnings=warnings)
            failed = [f for f in failed if f != sid]
            continue
        if region is None and sid in parts and not section.required:
            # An optional subsection the human removed: redrafting its parent does not bring it back.
            warnings.append(f"optional section '{section.heading}' is not in {path.name}; left out")
            continue
        if region is None:
            raise InputError(
                f"section '{section.heading}' is not in {path}",
                hint="restore its heading, or redraft another section",
            )
        if has_markers(_owned_text(located, region)):
            raise InputError(
                f"section '{section.heading}' in {path} still has conflict markers",
                hint="resolve the <<<<<<< / >>>>>>> blocks first",
            )
        edited = not untouched and region.edited(provenance) is not False
        if edited and (options.keep_edits or (lenient and sid in failed)):
            results[sid] = RedraftResult(path, section.heading, "kept", True, warnings=warnings)
            failed = [f for f in failed if f != sid]  # the human wrote it: it is no longer missing
        else:
            todo.append((section, edited))
    if not results and not todo:
        raise InputError(
            f"none of the sections under '{', '.join(asked)}' is in {path}",
            hint="restore a heading, or redraft another section",
        )
    usage: dict[str, int] = empty_usage()
    new_prov = replace(provenance, failed=failed)
    lines = located.lines
    ctx: IssueContext | None = None
    if todo:
        spec = options.source or provenance.source_spec
        if not spec:
            raise InputError(
                f"{path} does not record the SOURCE it was drafted from (its state file is missing, it was "
                "read from stdin, or it is an older draft)",
                hint="pass --source with the issue URL or file",
            )
        ctx = with_recorded_notes(load(spec), provenance)
        # Recorded from the repository root (or by bare name), whatever form it was given or kept in.
        source_spec = record_source(spec if options.source else recorded_source(spec, path), path)
        sections = [section for section, _ in todo]
        generated, usage = await _generate(outline, ctx, sections, options, located)
        unusable = [s for s in sections if generated.get(section_id(s)) is None]
        if unusable and not lenient:
            assert options.handle is not None
            raise ProviderError(
                f"model '{options.handle.name}' gave no usable text for '{unusable[0].heading}'; "
                "the draft is unchanged",
                hint="retry, or use another --model",
            )
        new_prov = replace(
            new_prov,
            comments={c.id: digest(c.body) for c in ctx.comments},
            issue_hash=issue_fingerprint(ctx),
            source_spec=source_spec,
            notes=[note.text for note in ctx.notes],
            partial=provenance.partial or not complete,
            # What the draft has cost so far: its drafting and every redraft since.
            usage={k: provenance.usage.get(k, 0) + usage.get(k, 0) for k in {*provenance.usage, *usage}},
        )
        lines = _apply(path, outline, lines, todo, generated, new_prov, results, warnings)
    final = locate("".join(lines), outline)
    body_end = final.body_end
    if (
        ctx is not None
        and final.sources_line is not None
        and set(used_sources(new_prov.section_sources)) != set(used_sources(provenance.section_sources))
    ):
        lines, body_end = replace_sources(lines, final, ctx, new_prov.section_sources)
    if ctx is not None:
        # Quotes of what the sections cite now, as the thread is now (the review page shows them).
        new_prov.excerpts = source_excerpts(ctx, new_prov.section_sources)
    keep_generated = any(edited for _, edited in todo) or was_edited(original) is not False
    text = finish(lines, body_end, new_prov, keep_generated, line_end(located.lines))
    ordered = [results[sid] for sid in sorted(results, key=order.__getitem__)]
    run = RedraftRun(path, ordered, usage, warnings, asked)
    if text == original and record.state == "file":
        for result in ordered:
            if result.status == "regenerated":
                result.status = "unchanged"
        return run
    write_with_backup(path, original, text, new_prov.state_json())
    return run


def _apply(
    path: Path,
    outline: Outline,
    lines: list[str],
    todo: list[tuple[Section, bool]],
    generated: dict[str, SectionContent | None],
    prov: Provenance,
    results: dict[str, RedraftResult],
    warnings: list[str],
) -> list[str]:
    """Splice each new section into ``lines``, top down, merging with a human's edits; updates
    ``prov`` (hashes, bases, sources, failed) and ``results`` in place."""
    eol = line_end(lines)
    for section, edited in todo:
        sid = section_id(section)
        content = generated.get(sid)
        if content is None:
            results[sid] = RedraftResult(path, section.heading, "failed", edited, warnings=warnings)
            if sid not in prov.failed:
                prov.failed.append(sid)
            continue
        # Located again on the text as spliced so far: sections below an earlier splice moved.
        region = locate("".join(lines), outline).regions[sid]
        new_body = section_body(section, content)
        conflicts: list[Conflict] = []
        status: Status
        if not edited:
            replacement, status = new_body, "unchanged" if new_body == region.text else "regenerated"
        else:
            base = prov.bases.get(sid, "")
            if digest(base) != prov.sections.get(sid):
                base = ""  # no usable base: every differing line is the human's, kept in conflicts
            merged = merge3(base, region.text, new_body)
            replacement, status = merged.text, "merged" if merged.clean else "conflict"
            offset = region.start if region.start < region.end else region.heading + 2
            # Later splices are below this one (top down), so these line numbers stay true.
            conflicts = [Conflict(c.start + offset, c.end + offset) for c in merged.conflicts]
        lines = splice(lines, region, replacement, eol)
        prov.sections = {**prov.sections, sid: digest(new_body)}
        prov.bases = {**prov.bases, sid: new_body}
        prov.section_sources = {k: v for k, v in prov.section_sources.items() if k != sid}
        if content.sources:
            prov.section_sources[sid] = content.sources
        prov.failed = [f for f in prov.failed if f != sid]
        results[sid] = RedraftResult(path, section.heading, status, edited, conflicts, {}, warnings)
    return lines
