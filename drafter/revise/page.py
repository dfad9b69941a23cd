"""The review page: every draft beside its sources, in one self-contained HTML file.

Usage::

    view = draft_view(path, text, outline, review_report, status_report, prices={})
    html = build_page([view, ...], drift_checked=False)

After a batch of thirty drafts a reviewer wants to look rather than read: an overview table (one
row per draft, sortable), then each draft section by section, with the findings of
``drafter review`` beside the section they are about and the comments the section cites quoted
next to it. The quotes come from the excerpts kept in the draft's state file, so the page needs no
network, and the file opens from disk or from a CI artifact.

Everything on the page from an issue, a model or a file name is untrusted. The page is a jinja2
template with autoescaping on; section bodies go through :mod:`drafter.revise.markup` (no raw
HTML, no images, only ``http``/``https`` links). A Content-Security-Policy meta tag allows only
the page's own inline style and script, by hash, so an injected handler or script cannot run
even if something slipped through, and nothing is loaded from anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from drafter.config.about import version
from drafter.document.content import TODO
from drafter.document.provenance import Provenance, read_draft
from drafter.document.regions import PROVENANCE_START, bare, locate
from drafter.model.pricing import estimate_cost
from drafter.revise.markup import clean, count_markers, inline_html, to_html, web_url
from drafter.revise.review import ReviewFinding, ReviewReport
from drafter.revise.status import NOT_FETCHED, StatusReport
from drafter.template.outline import Outline

_HERE = Path(__file__).resolve().parent
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
STATUS_ORDER = ("findings", "partial", "no state", "stale", "edited", "valid")


@dataclass(frozen=True)
class PageSource:
    """One input a section cites, quoted from the excerpt in the draft's state file."""

    id: str
    kind: str
    author: str
    role: str
    date: str
    url: str | None
    text: str


@dataclass(frozen=True)
class PageFinding:
    severity: str
    line: int
    rule: str
    message: str
    fix: str


@dataclass
class PageSection:
    anchor: str
    heading: str
    heading_html: str
    level: int
    first_line: int
    last_line: int
    html: str
    edited: bool
    verify: int
    todos: int
    findings: list[PageFinding] = field(default_factory=list)
    sources: list[PageSource] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)


@dataclass
class PageDraft:
    """One draft as the page shows it: its overview row and its sections."""

    anchor: str
    path: str
    title: str
    title_html: str
    source_label: str
    source_url: str | None
    template: str
    model: str
    created: str
    statuses: list[str]
    errors: int
    warnings: int
    todos: int
    tokens: int | None
    cost: str
    state_note: str = ""
    findings: list[PageFinding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sections: list[PageSection] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)

    @property
    def rank(self) -> int:
        """Sort key of the status column: what needs a reviewer most comes first."""
        return min(STATUS_ORDER.index(s) for s in self.statuses)


def _finding(f: ReviewFinding) -> PageFinding:
    return PageFinding(f.severity, f.line, f.rule, f.message, f.fix)


def _sources(provenance: Provenance | None, sid: str) -> list[PageSource]:
    if provenance is None:
        return []
    found = []
    for source_id in provenance.section_sources.get(sid, []):
        quote = provenance.excerpts.get(source_id, {})
        kind = quote.get("kind") or source_id.split(":", 1)[0]
        found.append(
            PageSource(
                source_id,
                kind,
                quote.get("author", ""),
                quote.get("role", ""),
                quote.get("date", ""),
                web_url(quote.get("url", "")),
                quote.get("text", ""),
            )
        )
    return found


def _title(lines: Sequence[str], path: str) -> str:
    """The draft's level-1 heading as markdown, else its file name (escaped to stay literal)."""
    for line in lines:
        match = _HEADING.match(bare(line))
        if match and len(match.group(1)) == 1:
            return match.group(2)
    return re.sub(r"([\\`*_\[\]<>&#])", r"\\\1", Path(path).name)


def _state_problem(state: str, marked: bool) -> str:
    """Why the page cannot use a draft's record, said as what it means for the reviewer."""
    if not marked:
        return "drafter's marker is missing: drafter did not write this file, or the marker was removed"
    return {
        "missing": "its state file is missing: commit NAME.md.drafter.json beside the draft",
        "stale": "its state file belongs to another version of the draft (edited by hand or out of date), "
        "so it is ignored",
        "invalid": "its state file cannot be read",
    }.get(state, "its state cannot be used")


def _label(url: str | None, provenance: Provenance | None) -> str:
    """What the source column shows: the issue's address without the scheme, else the SOURCE."""
    if url:
        return url.split("://", 1)[1]
    return (provenance.source_spec or provenance.source) if provenance is not None else ""


def _todos(lines: Sequence[str], sections: Sequence[PageSection]) -> int:
    """TODO markers a human must resolve: in the sections and the header block. A line that says
    ``drafter:`` is drafter speaking (an offline draft's banner), as the validator's todo-left
    rule reads it."""
    first = min((s.first_line for s in sections), default=len(lines) + 1) - 1
    header = sum(bare(line).count(TODO) for line in lines[:first] if "drafter:" not in line)
    return header + sum(s.todos + s.verify for s in sections)


def _cost(provenance: Provenance | None, prices: Mapping[str, tuple[float, float]]) -> tuple[int | None, str]:
    usage = provenance.usage if provenance is not None else {}
    if not usage.get("calls"):
        return None, ""
    prompt, completion = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
    cost = estimate_cost(provenance.model if provenance else "", prompt, completion, prices=prices)
    return prompt + completion, "" if cost is None else f"${cost:.4f}"


def draft_view(
    index: int,
    path: str,
    text: str,
    outline: Outline,
    review: ReviewReport,
    status: StatusReport | None,
    *,
    prices: Mapping[str, tuple[float, float]] | None = None,
) -> PageDraft:
    """Everything the page shows of one draft, from its text, state file, review and status."""
    record = read_draft(text, Path(path))
    provenance = record.provenance if record.state in ("file", "inline") else None
    state_note = "" if provenance is not None else _state_problem(record.state, record.provenance is not None)
    located = locate(text, outline)
    anchor = f"draft-{index}"
    edited = {heading for heading, _ in status.edited_sections} if status is not None else set()
    drift_by_heading: dict[str, list[str]] = {}
    drift: list[str] = []
    if status is not None and status.drifted:
        if status.issue_edited:
            drift.append("the issue's title or description was edited since the draft")
        for change in status.comments:
            who = f" by @{change.author}" if change.author else ""
            line = f"comment {change.id}{who} {change.kind}"
            drift.append(line + (f" (affects {', '.join(change.sections)})" if change.sections else ""))
            for heading in change.sections:
                drift_by_heading.setdefault(heading, []).append(line)
    sections: list[PageSection] = []
    by_sid: dict[str, PageSection] = {}
    for number, (sid, region) in enumerate(located.regions.items(), start=1):
        match = _HEADING.match(bare(located.lines[region.heading]))
        verify, todos = count_markers(region.text)
        heading_html, heading = inline_html(match.group(2) if match else region.section.heading)
        section = PageSection(
            anchor=f"{anchor}-s{number}",
            heading=heading,
            heading_html=heading_html,
            level=len(match.group(1)) if match else region.section.level,
            first_line=region.heading + 1,
            last_line=max(region.end, region.heading + 1),
            html=to_html(region.text),
            edited=region.section.heading in edited,
            verify=verify,
            todos=todos,
            sources=_sources(provenance, sid),
            drift=drift_by_heading.get(region.section.heading, []),
        )
        sections.append(section)
        by_sid[sid] = section
    general: list[PageFinding] = []
    for finding in review.findings:
        at = located.at_line(finding.line)
        target = by_sid.get(at.sid) if at is not None and finding.line <= at.end else None
        (target.findings if target is not None else general).append(_finding(finding))
    errors = sum(f.severity == "error" for f in review.findings)
    statuses = ["findings" if errors else "valid"]
    if provenance is not None and provenance.failed:
        statuses.append("partial")
    if state_note:
        statuses.append("no state")
    if edited:
        statuses.append("edited")
    if status is not None and status.drifted:
        statuses.append("stale")
    tokens, cost = _cost(provenance, prices or {})
    source_url = web_url(provenance.source) if provenance is not None else None
    if provenance is not None and source_url is None:
        source_url = web_url(provenance.excerpts.get("issue", {}).get("url", ""))
    # The page's header says once that the threads were not fetched.
    notes = list(review.notes) + [n for n in (status.notes if status is not None else []) if n != NOT_FETCHED]
    title_html, title = inline_html(_title(located.lines[: located.body_end], path))
    return PageDraft(
        anchor=anchor,
        path=path,
        title=title,
        title_html=title_html,
        source_label=_label(source_url, provenance),
        state_note=state_note,
        source_url=source_url,
        template=review.template,
        model=provenance.model if provenance is not None else "",
        created=provenance.created if provenance is not None else "",
        statuses=[s for s in STATUS_ORDER if s in statuses],
        errors=errors,
        warnings=len(review.findings) - errors,
        todos=_todos(located.lines, sections),
        tokens=tokens,
        cost=cost,
        findings=general,
        notes=list(dict.fromkeys(notes)),
        sections=sections,
        drift=drift,
    )


def expand_drafts(paths: Sequence[Path]) -> list[Path]:
    """``paths`` with each folder replaced by the drafts in it (and its subfolders), sorted.

    A draft is a ``.md`` file that drafter wrote: one that ends with drafter's marker or has a
    state file beside it. Other markdown in the folder (a README, an index) is left out.
    """
    from drafter.document.provenance import state_path
    from drafter.errors import InputError

    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            found.append(path)
            continue
        inside = [
            md
            for md in sorted(path.rglob("*.md"))
            if md.is_file() and (state_path(md).is_file() or _has_marker(md))
        ]
        if not inside:
            raise InputError(
                f"{path} holds no drafts (no .md file with a drafter marker or state file)",
                hint="name the draft files, or the folder 'drafter from-issue' wrote to",
            )
        found.extend(inside)
    return list(dict.fromkeys(found))


def _has_marker(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            handle.seek(max(0, handle.tell() - 4096))
            tail = handle.read()
    except OSError:
        return False
    return any(start.encode() in tail for start in PROVENANCE_START)


def offline_page(
    paths: Sequence[str],
    outline: Outline,
    prices: Mapping[str, tuple[float, float]],
    notes: Sequence[str] = (),
) -> str:
    """The page for drafts just written by a batch: the deterministic review of each, no network."""
    from drafter.revise.review import review_text
    from drafter.revise.status import draft_status
    from drafter.template.documents import read_text_file

    views = []
    for index, path in enumerate(paths, start=1):
        text = read_text_file(Path(path), "draft")
        report = review_text(text, outline, path=path)
        status = draft_status(text, outline, None, path=path)
        views.append(draft_view(index, path, text, outline, report, status, prices=prices))
    return build_page(views, notes=notes, drift_hint=False)


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def build_page(
    drafts: Sequence[PageDraft],
    *,
    drift_checked: bool = False,
    generated: str | None = None,
    notes: Sequence[str] = (),
    drift_hint: bool = True,
) -> str:
    """The whole page: overview table, then one foldable view per draft.

    ``notes`` go on top (a batch's failed issues, say); ``drift_hint`` says how to get drift
    marked when it was not checked (``drafter review --drift``; a batch has no such option).
    """
    from jinja2 import Environment, FileSystemLoader, StrictUndefined
    from markupsafe import Markup

    style = (_HERE / "page.css").read_text(encoding="utf-8")
    script = (_HERE / "page.js").read_text(encoding="utf-8")
    csp = (
        "default-src 'none'; "
        f"style-src {_csp_hash(style)}; script-src {_csp_hash(script)}; "
        "img-src 'none'; base-uri 'none'; form-action 'none'"
    )
    env = Environment(
        loader=FileSystemLoader(_HERE),
        autoescape=True,
        # Every value from a draft, issue or file name: secrets out, bidi controls out; then escaped.
        finalize=lambda value: (
            clean(value) if isinstance(value, str) and not isinstance(value, Markup) else value
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # A note every draft carries (an offline review, threads not fetched) is said once, on top.
    common = [n for n in drafts[0].notes if all(n in d.notes for d in drafts[1:])] if drafts else []
    for d in drafts:
        d.notes = [n for n in d.notes if n not in common]
    totals = {
        "errors": sum(d.errors for d in drafts),
        "warnings": sum(d.warnings for d in drafts),
        "todos": sum(d.todos for d in drafts),
        "tokens": sum(d.tokens or 0 for d in drafts),
    }
    return env.get_template("page.html.j2").render(
        drafts=drafts,
        totals=totals,
        common=[*notes, *common],
        drift_hint=drift_hint,
        drift_checked=drift_checked,
        csp=csp,
        style=style,
        script=script,
        version=version(),
        generated=generated or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
