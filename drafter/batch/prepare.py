"""What a batch does with an issue before any model call: fetch it, and decide what it needs.

An issue whose draft exists is repaired (a partial draft: only its failed sections), skipped (a
human edited it), left as it is (``unchanged``: same inputs, state file present) or drafted;
:func:`decide` is that rule, the one place it is written.

"Same inputs" compares the existing draft's ``inputs`` hash with the one a draft of the issue
would carry now, which needs the finished (distilled) context's hash. On a re-run most issues
are unchanged, and finishing a context costs several times what fetching it does, so the fetch
looks the thread up in :class:`~drafter.sources.memo.ThreadMemo` first: when the memo knows the
hash, and :func:`decide` says ``unchanged`` with it, the issue is settled without distilling it.
Every other issue is finished as before (and the memo learns its hash).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from drafter.document.writer import Existing
from drafter.sources.context import IssueContext, Note
from drafter.sources.memo import ThreadMemo, fingerprint

Decision = Literal["repair", "skipped-edited", "unchanged", "draft"]


def decide(existing: Existing, same: bool, template: str, force: bool) -> Decision:
    """What an issue needs, given what is at its path and whether its inputs are the same."""
    complete = existing.state in ("file", "inline")
    same_template = existing.template == template
    if existing.failed and complete and same_template and (same or (existing.edited and not force)):
        # A partial draft: redraft only what failed, and leave the rest (and any human edit) be.
        return "repair"
    if existing.exists and existing.edited and not force:
        return "skipped-edited"
    # Unchanged only with its state: a draft whose state file is missing or stale is drafted
    # again (it is unedited, so nothing human is lost), which restores the state file.
    if existing.exists and not existing.edited and same and complete:
        return "unchanged"
    return "draft"


@dataclass
class Fetched:
    """An issue as fetched; ``ctx`` is the finished context, or None while only the memo's hash
    (``known``) has been looked at."""

    raw: IssueContext
    ctx: IssueContext | None
    key: str | None
    known: str | None


def finished(raw: IssueContext, max_context: int, notes: tuple[Note, ...]) -> IssueContext:
    """``raw`` finished (distilled, links, budget) with the notes, its hash computed (it travels
    with the context): what :class:`Finisher` runs in line, or a batch's worker process."""
    from drafter.sources import finish_context

    ctx = finish_context(raw, max_context)
    ctx = ctx.with_notes(notes) if notes else ctx
    ctx.content_hash()
    return ctx


class Finisher:
    """Finishes fetched contexts (distil, links, budget, notes), with the memo when there is one."""

    def __init__(self, memo: ThreadMemo | None, max_context: int, notes: tuple[Note, ...]) -> None:
        self.memo = memo
        self.max_context = max_context
        self.notes = notes

    def look_up(self, raw: IssueContext, *, finish: bool) -> Fetched:
        """``raw`` with the memo's hash for it; with ``finish``, finished right away when the memo
        has none (in the fetching thread, saving the batch a hop)."""
        key = fingerprint(raw, self.max_context, self.notes) if self.memo is not None else None
        known = self.memo.get(key) if self.memo is not None and key is not None else None
        fetched = Fetched(raw, None, key, known)
        if known is None and finish:
            self.finish(fetched)
        return fetched

    def finish(self, fetched: Fetched) -> IssueContext:
        """The finished context of ``fetched`` (computed once), recorded in the memo."""
        if fetched.ctx is None:
            self.record(fetched, finished(fetched.raw, self.max_context, self.notes))
        assert fetched.ctx is not None
        return fetched.ctx

    def record(self, fetched: Fetched, ctx: IssueContext) -> None:
        """Keep ``ctx`` as the finished context of ``fetched``, and its hash in the memo."""
        fetched.ctx = ctx
        if self.memo is not None and fetched.key is not None:
            self.memo.put(fetched.key, ctx.content_hash())
