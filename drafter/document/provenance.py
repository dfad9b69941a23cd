"""How a draft was made: a short marker in the draft, and a state file beside it with the rest.

A reviewer opens the draft, so the draft carries only what must travel with its text: one HTML
comment at the end (well under 400 bytes) with the format version, the template, the ``inputs``
hash and the ``generated`` hash::

    <!-- drafter {"v":2,"template":"technical-design","inputs":"…","generated":"…","state":"…"} -->

``generated`` hashes the draft as drafter wrote it (without the marker): a file whose text no
longer hashes to it was edited by a human and is never overwritten without ``--force``. ``inputs``
hashes everything the draft depends on (issue, comments, notes, template, prompts, model), so a
batch re-run can skip unchanged issues without calling the model.

The rest lives in the **state file** beside the draft, ``NAME.md.drafter.json`` for ``NAME.md``: the
model and prompt versions, per-section hashes (which sections a human edited), the generated body
of each section (the base of ``redraft``'s three-way merge), the sources each section cited, the
SOURCE the draft came from, fingerprints of the issue and its comments (``status``'s drift check)
and the team's notes. It is readable JSON, written atomically before the draft, and committed with
it. The marker names the digest of the state file written with it, so a state file of another
version of the draft (an older one, or a newer one whose draft write then failed) is told apart
and ignored, never read as this draft's.

Drafts written before the state file existed carry everything in one inline
``<!-- drafter:provenance ... -->`` block; they are read as before and get a marker and a state
file the next time drafter writes them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from drafter.config.redaction import redact

_LEGACY = re.compile(r"\n*<!-- drafter:provenance\n(.*?)\n-->\n?", re.DOTALL)
_LEGACY_OPENING = "<!-- drafter:provenance\n"
_MARKER = re.compile(r"\n*<!-- drafter (\{[^\n]*?\}) -->[ \t]*(?:\n|$)")
MARKER_VERSION = 2
STATE_SCHEMA = "drafter.state/1"
STATE_SUFFIX = ".drafter.json"
StateStatus = Literal["file", "inline", "missing", "stale", "invalid", "none"]


def digest(text: str) -> str:
    """Short sha256 of ``text`` with normalised line endings."""
    return hashlib.sha256(text.replace("\r\n", "\n").encode("utf-8")).hexdigest()[:16]


@dataclass
class Provenance:
    """What went into a draft: the marker's fields plus the state file's.

    ``bases`` holds each section's body as drafter generated it, as plain text.
    """

    template: str
    template_hash: str
    model: str
    prompts: dict[str, str]
    inputs: str
    generated: str = ""
    source: str = ""
    drafter_version: str = ""
    created: str = ""
    sections: dict[str, str] = field(default_factory=dict)
    section_sources: dict[str, list[str]] = field(default_factory=dict)
    fallbacks: list[str] = field(default_factory=list)
    # Ids of sections whose model answer was unusable after the retry: the draft is partial
    # until a re-run (or ``redraft --failed``) drafts them.
    failed: list[str] = field(default_factory=list)
    source_spec: str = ""
    issue_hash: str = ""
    comments: dict[str, str] = field(default_factory=dict)
    bases: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # A short quote of each cited input (author, role, date, url, text), so that the review page
    # shows what a section cites without fetching the thread again.
    excerpts: dict[str, dict[str, str]] = field(default_factory=dict)
    # The model calls and tokens the draft cost when it was made (zeros for an offline draft).
    usage: dict[str, int] = field(default_factory=dict)
    # Set when redraft rebuilt the record without the original state file: only the sections it
    # redrafted are known, so nothing can be said about edits to the others.
    partial: bool = False
    # The marker's digest of the state file it was written with (not part of the state itself).
    state: str = field(default="", compare=False)
    # The state file's text that digest was taken of: what to write beside the draft.
    stamped: str = field(default="", compare=False, repr=False)

    def marker(self) -> str:
        """The one-line comment that ends the draft, naming the state file's digest; the text
        it hashed is kept in ``stamped``, to be written as is (built and redacted once)."""
        self.stamped = self.state_json()
        self.state = digest(self.stamped)
        data = {
            "v": MARKER_VERSION,
            "template": self.template,
            "inputs": self.inputs,
            "generated": self.generated,
            "state": self.state,
        }
        payload = json.dumps(data, separators=(",", ":"), ensure_ascii=True)
        # "<" and ">" only occur inside JSON strings; escaping them keeps "-->" out of the comment.
        return "<!-- drafter " + payload.replace("<", "\\u003c").replace(">", "\\u003e") + " -->\n"

    def state_json(self) -> str:
        """The state file's text: stable key order, one field per line, for readable diffs."""
        # Every field is a str, bool, list or dict of plain values: json.dumps reads
        # them as they are, so asdict's deep copy of each one would only cost time.
        data = {"schema": STATE_SCHEMA, **{f.name: getattr(self, f.name) for f in fields(self)}}
        del data["state"], data["stamped"]
        # Redacted here, before the marker hashes it: the writer redacts again on the way out,
        # and a state file changed after hashing would read as another draft's.
        return redact(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Provenance:
        """Build from a state file or a legacy block; unknown keys are ignored, bad values dropped."""
        known = {f.name: f for f in fields(cls) if f.name != "stamped"}
        values: dict[str, Any] = {}
        for key, value in data.items():
            spec = known.get(key)
            if spec is None:
                continue
            kept = _typed(str(spec.type), value)
            if kept is not None:
                values[key] = kept
        for key in ("template", "template_hash", "model", "inputs"):
            values.setdefault(key, "")
        values.setdefault("prompts", {})
        return cls(**values)


def _typed(kind: str, value: Any) -> Any:
    """``value`` if it has the shape ``kind`` names (with bad entries of a container dropped)."""
    if kind == "str":
        return value if isinstance(value, str) else None
    if kind == "bool":
        return value if isinstance(value, bool) else None
    if kind == "list[str]":
        return [v for v in value if isinstance(v, str)] if isinstance(value, list) else None
    if kind == "dict[str, str]":
        return {k: v for k, v in value.items() if isinstance(v, str)} if isinstance(value, dict) else None
    if kind == "dict[str, int]":
        if not isinstance(value, dict):
            return None
        return {k: v for k, v in value.items() if isinstance(v, int) and not isinstance(v, bool)}
    if kind == "dict[str, dict[str, str]]" and isinstance(value, dict):
        return {
            k: {f: x for f, x in v.items() if isinstance(x, str)}
            for k, v in value.items()
            if isinstance(v, dict)
        }
    if kind == "dict[str, list[str]]" and isinstance(value, dict):
        return {k: [x for x in v if isinstance(x, str)] for k, v in value.items() if isinstance(v, list)}
    return None


def state_path(draft: Path) -> Path:
    """``docs/design/NAME.md.drafter.json`` for ``docs/design/NAME.md``: one per draft file name."""
    return draft.with_name(draft.name + STATE_SUFFIX)


def _unpack(value: str) -> str | None:
    """A base that a legacy block stored compressed (base64 of zlib), or None when damaged."""
    try:
        return zlib.decompress(base64.b64decode(value.encode("ascii"), validate=True)).decode("utf-8")
    except (ValueError, zlib.error, UnicodeError):
        return None


@dataclass(frozen=True)
class Record:
    """A draft read back: its text without drafter's hidden data, and what that data says.

    ``state`` says where the full record came from: ``file`` (the state file), ``inline`` (a
    draft from before the state file), ``missing``, ``stale`` or ``invalid`` (a marker, but no
    state file, one written with another version of the draft, or one that does not read:
    ``provenance`` then has the marker's fields only), ``none`` (drafter did not write it).
    """

    body: str
    provenance: Provenance | None
    state: StateStatus


def _split(text: str) -> tuple[str, Provenance | None, bool]:
    """``(body, provenance, complete)``: the last marker or legacy block wins."""
    text = text.replace("\r\n", "\n")
    found: tuple[re.Match[str], bool] | None = None
    for pattern, legacy, literal in ((_MARKER, False, "<!-- drafter {"), (_LEGACY, True, _LEGACY_OPENING)):
        if literal not in text:
            continue  # the pattern cannot match: not worth a scan that starts at every newline
        for match in pattern.finditer(text):
            if found is None or match.start() > found[0].start():
                found = (match, legacy)
    if found is None:
        return text, None, False
    match, legacy = found
    body = text[: match.start()] + text[match.end() :]
    try:
        data = json.loads(match.group(1))
    except ValueError:
        return body, None, False
    if not isinstance(data, dict):
        return body, None, False
    provenance = Provenance.from_dict(data)
    provenance.state = data["state"] if isinstance(data.get("state"), str) else ""
    if legacy:
        provenance.bases = {k: _unpack(v) or "" for k, v in provenance.bases.items() if isinstance(v, str)}
    return body, provenance, legacy


def split_provenance(text: str) -> tuple[str, Provenance | None]:
    """Return ``(text without drafter's marker or block, what it records, or None)``.

    From a marker alone this is the template and the two hashes; see :func:`read_draft` for the
    full record. Line endings are normalised first, so a CRLF checkout still reads as unedited.
    """
    body, provenance, _ = _split(text)
    return body, provenance


def read_state(path: Path) -> Provenance | None:
    """The state file at ``path``, or None when it is absent, unreadable or not a state file."""
    state, _ = _load_state(path)
    return state


def _load_state(path: Path) -> tuple[Provenance | None, str]:
    """The state file and its text's digest, or ``(None, why)``: ``missing`` or ``invalid``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, "missing"
    except (OSError, UnicodeDecodeError):
        return None, "invalid"
    try:
        data = json.loads(text)
    except ValueError:
        return None, "invalid"
    if not isinstance(data, dict) or data.get("schema") != STATE_SCHEMA:
        return None, "invalid"
    return Provenance.from_dict(data), digest(text)


def read_draft(text: str, path: Path | None) -> Record:
    """Split ``text`` (the draft at ``path``) and join its marker with its state file."""
    body, provenance, legacy = _split(text)
    if provenance is None:
        return Record(body, None, "none")
    if legacy:
        return Record(body, provenance, "inline")
    if path is None:
        return Record(body, provenance, "missing")
    state, found = _load_state(state_path(path))
    if state is None:
        return Record(body, provenance, "invalid" if found == "invalid" else "missing")
    # The marker names the digest of the state file written with it: any other state file (an
    # older one, one for another draft, one a crash left half-way through a write) is not it.
    if found != provenance.state or state.generated != provenance.generated:
        return Record(body, provenance, "stale")
    return Record(body, state, "file")


def state_problem(state: StateStatus) -> str:
    """Why a draft's state file cannot be used, in words for a message."""
    return {
        "missing": "is missing",
        "stale": "belongs to another version of the draft",
        "invalid": "cannot be read as a state file",
    }.get(state, "cannot be used")


def attach(text: str, provenance: Provenance) -> str:
    """Finish a draft: record the hash of ``text`` in ``provenance`` and append the marker."""
    text = redact(text.rstrip("\n"))  # as it will be on disk (see state_json)
    provenance.generated = digest(text)
    return text + "\n\n" + provenance.marker()


def was_edited(text: str) -> bool | None:
    """True if a human changed the draft, False if untouched, None if drafter did not write it."""
    body, provenance = split_provenance(text)
    if provenance is None:
        return None
    return digest(body.rstrip("\n")) != provenance.generated


# -- the SOURCE a draft records ------------------------------------------------------------------
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
    return re.fullmatch(r"[\w.-]+/[\w.-]+#\d+", spec) is not None
