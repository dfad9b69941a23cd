"""``drafter status``: what changed since a draft was generated, in the draft and in the issue.

Usage::

    report = draft_status(text, outline, ctx)   # ctx: the issue re-fetched now
    report.drifted                              # the issue changed since: exit 1 in CI

Human-edited sections are those whose body no longer hashes to what provenance recorded. Drift is
the issue's side: its title/body changed, or comments were added, edited or removed since the draft
was generated (provenance fingerprints the issue and every comment). Each changed comment is
mapped to the sections it most likely affects: the sections that cited it, else those whose text
shares the most words with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from drafter.document.content import drafted_sections, section_id
from drafter.document.provenance import Provenance, digest, read_draft, state_path, state_problem
from drafter.document.regions import Located, locate
from drafter.drafting.compose import issue_fingerprint
from drafter.sources.context import Comment, IssueContext
from drafter.template.outline import Outline

ChangeKind = Literal["new", "edited", "removed"]
_WORD = re.compile(r"[a-z][a-z0-9_]{3,}")
_STOP = frozenset(
    "this that with from have will would should could there their they them then than what when which "
    "where about into also just like been were does dont more some only other very much because".split()
)
MAX_AFFECTED = 2
NOT_FETCHED = "the issue was not fetched: drift not checked"


@dataclass(frozen=True)
class CommentChange:
    """A comment added, edited or removed since the draft was generated."""

    id: str
    kind: ChangeKind
    author: str = ""
    url: str = ""
    sections: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "author": self.author,
            "url": self.url,
            "sections": list(self.sections),
        }


@dataclass
class StatusReport:
    """Human edits and issue drift of one draft."""

    path: str
    edited_sections: list[tuple[str, int]] = field(default_factory=list)
    issue_edited: bool = False
    comments: list[CommentChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def drifted(self) -> bool:
        return self.issue_edited or bool(self.comments)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "drifted": self.drifted,
            "edited_sections": [{"section": s, "line": line} for s, line in self.edited_sections],
            "issue_edited": self.issue_edited,
            "comments": [c.to_dict() for c in self.comments],
            "notes": self.notes,
        }

    def lines(self) -> list[str]:
        out = [f"{self.path}:{line}: edited by a human: {s}" for s, line in self.edited_sections]
        if self.issue_edited:
            out.append(
                f"{self.path}: drift: the issue's title or description changed since the draft was generated"
            )
        for change in self.comments:
            who = f" by @{change.author}" if change.author else ""
            where = f" ({change.url})" if change.url else ""
            affects = ", ".join(change.sections) or "no section in particular"
            out.append(
                f"{self.path}: drift: {change.kind} comment {change.id}{who}{where}; likely affects: {affects}"
            )
        out.extend(f"{self.path}: note: {note}" for note in self.notes)
        if not out:
            out.append(f"{self.path}: up to date (no human edits, no new or edited comments)")
        return out


def _terms(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def _affected(
    comment_id: str, body: str, provenance: Provenance, located: Located, outline: Outline
) -> tuple[str, ...]:
    drafted = {section_id(s) for s in drafted_sections(outline)}
    regions = {sid: r for sid, r in located.regions.items() if sid in drafted}
    cited = [
        regions[sid].section.heading
        for sid, ids in provenance.section_sources.items()
        if f"comment:{comment_id}" in ids and sid in regions
    ]
    if cited:
        return tuple(cited[:MAX_AFFECTED])
    words = _terms(body)
    scored = []
    for order, region in enumerate(regions.values()):
        section = region.section
        topic = _terms(" ".join([section.title, *section.guidance]))
        score = len(words & _terms(region.text)) + 3 * len(words & topic)
        if score:
            scored.append((-score, order, section.heading))
    return tuple(heading for _, _, heading in sorted(scored)[:MAX_AFFECTED])


def _change(
    kind: ChangeKind, comment: Comment, provenance: Provenance, located: Located, outline: Outline
) -> CommentChange:
    sections = _affected(comment.id, comment.body, provenance, located, outline)
    return CommentChange(comment.id, kind, comment.author, comment.url, sections)


def draft_status(
    text: str,
    outline: Outline,
    ctx: IssueContext | None,
    *,
    path: str = "<text>",
    provenance: Provenance | None = None,
) -> StatusReport:
    """Compare a draft with its record and with the issue as it is now (``ctx``).

    The record is read from the draft's state file beside ``path``, unless ``provenance`` (a
    :class:`~drafter.drafting.compose.DraftResult`'s, say) is given.
    """
    report = StatusReport(path)
    file = Path(path) if path != "<text>" else None
    record = read_draft(text, file)
    if provenance is not None:
        record = replace(record, provenance=provenance, state="file")
    provenance = record.provenance
    if provenance is None:
        report.notes.append("no drafter marker: drafter did not write it, so edits and drift cannot be told")
        return report
    if record.state not in ("file", "inline"):
        name = state_path(file).name if file is not None else "its state file"
        report.notes.append(
            f"no state: {name} {state_problem(record.state)}, so edited sections and drift cannot be "
            "told; commit the state file beside the draft"
        )
        return report
    if provenance.partial:
        report.notes.append(
            "the state was rebuilt by a redraft without the original: edits are told only for the "
            "sections redrafted since"
        )
    located = locate(text, outline)
    for region in located.regions.values():
        if region.edited(provenance):
            report.edited_sections.append((region.section.heading, region.heading + 1))
    if ctx is None:
        report.notes.append(NOT_FETCHED)
        return report
    if provenance.issue_hash:
        report.issue_edited = issue_fingerprint(ctx) != provenance.issue_hash
    else:
        report.notes.append("older draft: no fingerprint of the issue body, only new comments are checked")
    known = provenance.comments
    current = {c.id: c for c in ctx.comments}
    for comment in ctx.comments:
        if comment.id in known:
            if digest(comment.body) != known[comment.id]:
                report.comments.append(_change("edited", comment, provenance, located, outline))
        elif not known and provenance.created and comment.created_at[:10] < provenance.created:
            continue  # older draft without a comment record: older comments were there already
        elif (
            known
            and comment.created_at
            and provenance.created
            and comment.created_at[:10] < provenance.created
        ):
            continue  # older than the draft but not used: left out by the --max-context budget
        else:
            report.comments.append(_change("new", comment, provenance, located, outline))
    for comment_id in known:
        if comment_id not in current and ctx.omitted_comments == 0:
            gone = Comment(comment_id, "", "")
            report.comments.append(_change("removed", gone, provenance, located, outline))
    return report
