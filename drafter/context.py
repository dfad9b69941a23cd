"""IssueContext: everything drafter knows about one issue, whatever tracker it came from.

Every source (GitHub, GitLab, Jira, a local file, stdin) produces this one shape, and everything
downstream (prompts, the offline drafter, provenance, drift checks) reads only this shape. It is a
plain frozen dataclass so that importing it costs nothing on the ``validate`` path, and it
round-trips through JSON (``drafter fetch --format json`` output is a valid input file).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

Kind = Literal["issue", "pull_request"]
CONTEXT_SCHEMA = "drafter.issue-context/1"


@dataclass(frozen=True)
class Comment:
    """One comment of the thread, with a stable id used in provenance and drift checks."""

    id: str
    author: str
    body: str
    url: str = ""
    created_at: str = ""
    updated_at: str = ""


@dataclass(frozen=True)
class Note:
    """The team's own words given with ``--notes``/``--notes-file``; trusted more than the thread."""

    text: str
    source: str = "cli"


@dataclass(frozen=True)
class IssueContext:
    """One issue or pull request, normalised across trackers.

    ``omitted_comments`` counts comments dropped by the ``--max-context`` budget; the dropped ones
    are the middle of the thread, so the first and the most recent comments are always kept.
    ``omitted_at`` is the index in ``comments`` where the dropped ones were (where a renderer puts
    the "[N comments omitted]" marker).
    """

    title: str
    body: str
    tracker: str = "local"
    url: str = ""
    kind: Kind = "issue"
    number: str = ""
    repo: str = ""
    state: str = ""
    author: str = ""
    created_at: str = ""
    labels: tuple[str, ...] = ()
    comments: tuple[Comment, ...] = ()
    links: tuple[str, ...] = ()
    notes: tuple[Note, ...] = ()
    omitted_comments: int = 0
    omitted_at: int = 0

    def with_notes(self, notes: tuple[Note, ...]) -> IssueContext:
        """Return a copy with ``notes`` appended to the existing ones."""
        return replace(self, notes=self.notes + notes)

    def to_dict(self) -> dict[str, Any]:
        """Serialise to JSON-ready data, tagged with the schema name for :meth:`from_dict`."""
        data = asdict(self)
        data["labels"] = list(self.labels)
        data["links"] = list(self.links)
        return {"schema": CONTEXT_SCHEMA, **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IssueContext:
        """Build from :meth:`to_dict` output; raises ``KeyError``/``TypeError`` on a wrong shape."""
        body = {k: v for k, v in data.items() if k != "schema"}
        comments = tuple(Comment(**c) for c in body.pop("comments", []))
        notes = tuple(Note(**n) for n in body.pop("notes", []))
        labels = tuple(str(x) for x in body.pop("labels", []))
        links = tuple(str(x) for x in body.pop("links", []))
        return cls(**body, comments=comments, notes=notes, labels=labels, links=links)

    def content_hash(self) -> str:
        """A stable hash of everything a draft depends on (used to skip unchanged inputs)."""
        payload = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]

    @property
    def reference(self) -> str:
        """A short human reference such as ``owner/repo#12`` or the title for local files."""
        if self.repo and self.number:
            sep = "!" if self.tracker == "gitlab" and self.kind == "pull_request" else "#"
            return f"{self.repo}{sep}{self.number}"
        if self.number:
            return self.number
        return self.title
