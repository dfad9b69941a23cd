"""IssueContext: everything drafter knows about one issue, whatever tracker it came from.

Every source (GitHub, GitLab, Jira, a local file, stdin) produces this one shape, and everything
downstream (prompts, the offline drafter, provenance, drift checks) reads only this shape. It is a
plain frozen dataclass so that importing it costs nothing on the ``validate`` path, and it
round-trips through JSON (``drafter fetch --format json`` output is a valid input file).

A context is *distilled* (:mod:`drafter.sources.distill`) before anything drafts from it: noise
such as bot comments is dropped and counted, every comment carries its author's role and its date,
and :class:`Fact` records what the thread establishes (errors, decisions, workarounds, ...) with
the id of the comment that says it. A model can only weigh "a maintainer declined this" if it is
told who the maintainers are and what was decided, so these travel with the thread.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

Kind = Literal["issue", "pull_request"]
CONTEXT_SCHEMA = "drafter.issue-context/2"
# Files saved by earlier versions read the same way: every field added since has a default.
READABLE_SCHEMAS = ("drafter.issue-context/1", CONTEXT_SCHEMA)

REPORTER = "reporter"
MAINTAINER = "maintainer"
PARTICIPANT = "participant"


@dataclass(frozen=True)
class Comment:
    """One comment of the thread, with a stable id used in provenance and drift checks.

    ``association`` is the tracker's own word for the author's relation to the project (GitHub's
    ``author_association``: ``OWNER``, ``MEMBER``, ``CONTRIBUTOR``, ...), empty when the tracker
    gives none. ``role`` is drafter's reading of it: ``reporter``, ``maintainer`` or
    ``participant``. ``bot`` is set when the tracker marks the account as automated.
    """

    id: str
    author: str
    body: str
    url: str = ""
    created_at: str = ""
    updated_at: str = ""
    role: str = ""
    association: str = ""
    bot: bool = False
    edited: bool = False

    @property
    def date(self) -> str:
        """The day it was written, ``YYYY-MM-DD`` (trackers give full timestamps)."""
        return self.created_at[:10]


def was_edited(created_at: str, updated_at: str) -> bool:
    """Whether a comment changed after it was posted: its update time is later than its creation.

    Trackers give ISO 8601 times, in any zone (GitHub ``Z``, Jira ``+0200``); they are compared as
    times, and as text only if they do not parse.
    """
    if not (created_at and updated_at):
        return False
    try:
        return _instant(updated_at) > _instant(created_at)
    except ValueError:
        return updated_at > created_at


def _instant(value: str) -> datetime:
    moment = datetime.fromisoformat(re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", value.replace("Z", "+00:00")))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Note:
    """The team's own words given with ``--notes``/``--notes-file``; trusted more than the thread."""

    text: str
    source: str = "cli"


FactKind = Literal[
    "error",
    "repro",
    "expected",
    "actual",
    "proposal",
    "decision",
    "workaround",
    "link",
    "figure",
    "identifier",
]
FACT_KINDS: tuple[str, ...] = (
    "decision",
    "workaround",
    "proposal",
    "error",
    "repro",
    "expected",
    "actual",
    "figure",
    "link",
    "identifier",
)


@dataclass(frozen=True)
class Fact:
    """One thing the thread establishes, typed, with the input id that says it.

    ``status`` qualifies decisions: ``agreed``, ``declined``, ``deferred`` or ``closed``.
    ``text`` is short: a sentence, a folded stack trace, a URL, a figure or an identifier.
    """

    kind: str
    text: str
    source: str
    author: str = ""
    role: str = ""
    date: str = ""
    status: str = ""


@dataclass(frozen=True)
class Gap:
    """Comments the ``--max-context`` budget left out, and where: before ``comments[at]``."""

    at: int
    comments: int
    chars: int


_T = TypeVar("_T")


def _plain(value: Any) -> Any:
    """``value`` as ``dataclasses.asdict`` gives it to ``json.dumps``, without copying leaves."""
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if hasattr(value, "__dataclass_fields__"):
        return _plain_fields(value)
    return value


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _plain_fields(record: Any) -> dict[str, Any]:
    names = _FIELD_NAMES.get(type(record))
    if names is None:
        names = _FIELD_NAMES[type(record)] = tuple(f.name for f in fields(record))
    return {name: _plain(getattr(record, name)) for name in names}


def _list(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"'{name}' must be a list")
    return value


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"'{name}' must be a string, not {type(value).__name__}")
    return value


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"'{name}' must be a whole number of at least 0")
    return value


def _record(cls: type[_T], value: Any, name: str) -> _T:
    """``cls(**value)`` after checking each field against its annotation (str, int, bool)."""
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be an object")
    checked: dict[str, Any] = {}
    known = {f.name: str(f.type) for f in fields(cls)}  # type: ignore[arg-type]
    for key, item in value.items():
        kind = known.get(key)
        if kind is None:
            raise TypeError(f"{name or 'the context'} has an unknown field {key!r}")
        where = f"{name}.{key}" if name else key
        if kind == "str":
            checked[key] = _text(item, where)
        elif kind == "int":
            checked[key] = _count(item, where)
        elif kind == "bool":
            if not isinstance(item, bool):
                raise TypeError(f"'{where}' must be true or false")
            checked[key] = item
        else:
            checked[key] = item  # collections: checked by the caller
    return cls(**checked)


def _records(cls: type[_T], value: Any, name: str) -> tuple[_T, ...]:
    return tuple(_record(cls, item, f"{name}[{i}]") for i, item in enumerate(_list(value, name)))


@dataclass(frozen=True)
class IssueContext:
    """One issue or pull request, normalised across trackers.

    ``gaps`` say where the ``--max-context`` budget dropped comments and how much
    (``omitted_comments`` is their total); renderers print a marker at each gap instead of a
    silent hole. ``dropped`` counts the noise distilling removed (bot comments, "+1"s, template
    comments), by kind. ``state_reason`` says why a closed issue was closed (``completed``,
    ``not planned``, ``duplicate``) when the tracker says.
    """

    title: str
    body: str
    tracker: str = "local"
    url: str = ""
    kind: Kind = "issue"
    number: str = ""
    repo: str = ""
    state: str = ""
    state_reason: str = ""
    closed_at: str = ""
    author: str = ""
    author_association: str = ""
    created_at: str = ""
    labels: tuple[str, ...] = ()
    comments: tuple[Comment, ...] = ()
    links: tuple[str, ...] = ()
    notes: tuple[Note, ...] = ()
    facts: tuple[Fact, ...] = ()
    dropped: tuple[tuple[str, int], ...] = ()
    omitted_comments: int = 0
    gaps: tuple[Gap, ...] = ()

    def with_notes(self, notes: tuple[Note, ...]) -> IssueContext:
        """Return a copy with ``notes`` appended to the existing ones."""
        return replace(self, notes=self.notes + notes)

    @property
    def roles_known(self) -> bool:
        """Whether the tracker said how commenters relate to the project (maintainer or not)."""
        return bool(self.author_association) or any(c.association for c in self.comments)

    def to_dict(self) -> dict[str, Any]:
        """Serialise to JSON-ready data, tagged with the schema name for :meth:`from_dict`."""
        data = asdict(self)
        data["labels"] = list(self.labels)
        data["links"] = list(self.links)
        data["dropped"] = dict(self.dropped)
        return {"schema": CONTEXT_SCHEMA, **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IssueContext:
        """Build from :meth:`to_dict` output; raises ``KeyError``/``TypeError``/``ValueError`` that
        name the bad field when the shape is wrong (a hand-edited file, say)."""
        body = {k: v for k, v in data.items() if k != "schema"}
        comments = _records(Comment, body.pop("comments", []), "comments")
        notes = _records(Note, body.pop("notes", []), "notes")
        facts = _records(Fact, body.pop("facts", []), "facts")
        gaps = _records(Gap, body.pop("gaps", []), "gaps")
        labels = tuple(_text(x, "labels") for x in _list(body.pop("labels", []), "labels"))
        links = tuple(_text(x, "links") for x in _list(body.pop("links", []), "links"))
        raw_dropped = body.pop("dropped", {})
        if not isinstance(raw_dropped, dict):
            raise TypeError("'dropped' must be an object of counts")
        dropped = tuple((str(k), _count(v, f"dropped[{k!r}]")) for k, v in raw_dropped.items())
        omitted_at = body.pop("omitted_at", None)  # schema 1: one gap, at this index
        if not gaps and body.get("omitted_comments") and isinstance(omitted_at, int):
            gaps = (
                Gap(
                    at=max(omitted_at, 0),
                    comments=_count(body["omitted_comments"], "omitted_comments"),
                    chars=0,
                ),
            )
        made = _record(cls, body, "")
        if made.kind not in ("issue", "pull_request"):
            raise ValueError('\'kind\' must be "issue" or "pull_request"')
        return replace(
            made,
            comments=comments,
            notes=notes,
            facts=facts,
            labels=labels,
            links=links,
            dropped=dropped,
            gaps=gaps,
        )

    def content_hash(self) -> str:
        """A stable hash of everything a draft depends on (used to skip unchanged inputs).

        Computed once per context (it is frozen): a batch asks for it before drafting and again
        for the draft's provenance. The payload is :meth:`to_dict`'s, built without
        ``dataclasses.asdict`` (which deep-copies every value) but serialised identically.
        """
        cached = self.__dict__.get("_content_hash")
        if cached is None:
            data = {"schema": CONTEXT_SCHEMA, **_plain_fields(self)}
            data["dropped"] = dict(self.dropped)
            payload = json.dumps(data, sort_keys=True, ensure_ascii=False)
            cached = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]
            object.__setattr__(self, "_content_hash", cached)  # a cache, not a field
        return cached

    @property
    def reference(self) -> str:
        """A short human reference such as ``owner/repo#12`` or the title for local files."""
        if self.repo and self.number:
            sep = "!" if self.tracker == "gitlab" and self.kind == "pull_request" else "#"
            return f"{self.repo}{sep}{self.number}"
        if self.number:
            return self.number
        return self.title
