"""The hidden provenance block: how a draft was made, and how to tell whether a human edited it.

It is one HTML comment at the end of the draft, so it renders invisibly and survives editing.
``generated`` hashes the draft as drafter wrote it (without this block); a file whose text no longer
hashes to it was edited by a human and is never overwritten without ``--force``. ``inputs`` hashes
everything the draft depends on (issue, comments, notes, template, prompts, model), so a batch
re-run can skip unchanged issues without calling the model. ``sections`` hashes each section's
body for ``redraft`` and ``status``; ``bases`` keeps each generated body (compressed) as the base of
``redraft``'s three-way merge; ``source_spec`` is the SOURCE the draft was made from, and
``issue_hash``/``comments`` fingerprint the issue and each comment for ``status``'s drift check.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any

_BLOCK = re.compile(r"\n*<!-- drafter:provenance\n(.*?)\n-->\n?", re.DOTALL)
SCHEMA = "drafter.provenance/1"


def digest(text: str) -> str:
    """Short sha256 of ``text`` with normalised line endings."""
    return hashlib.sha256(text.replace("\r\n", "\n").encode("utf-8")).hexdigest()[:16]


@dataclass
class Provenance:
    """What went into a draft. Serialised as JSON inside ``<!-- drafter:provenance ... -->``."""

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
    # Added for redraft/status; absent in older drafts, which still read (with empty defaults).
    source_spec: str = ""
    issue_hash: str = ""
    comments: dict[str, str] = field(default_factory=dict)
    bases: dict[str, str] = field(default_factory=dict)
    # The team's notes the draft was made with, so that redraft does not silently lose them.
    notes: list[str] = field(default_factory=list)

    def to_comment(self) -> str:
        data = {"schema": SCHEMA, **asdict(self)}
        payload = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=True)
        # "<" and ">" only occur inside JSON strings; escaping them keeps "-->" and any forged
        # "<!-- drafter:provenance" (from notes or titles) out of the comment.
        return (
            "<!-- drafter:provenance\n" + payload.replace("<", "\\u003c").replace(">", "\\u003e") + "\n-->\n"
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Provenance:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def pack(text: str) -> str:
    """A section body as generated, compressed for the ``bases`` map (the base of a 3-way merge)."""
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")


def unpack(value: str) -> str | None:
    """The text :func:`pack` stored, or None when the value is damaged."""
    try:
        return zlib.decompress(base64.b64decode(value.encode("ascii"), validate=True)).decode("utf-8")
    except (ValueError, zlib.error, UnicodeError):
        return None


def split_provenance(text: str) -> tuple[str, Provenance | None]:
    """Return ``(text without the block, parsed block or None)``; a damaged block reads as None.

    Line endings are normalised first, so a draft checked out with CRLF still reads as unedited.
    """
    text = text.replace("\r\n", "\n")
    match = None
    for match in _BLOCK.finditer(text):  # noqa: B007 - the last block wins
        pass
    if match is None:
        return text, None
    body = text[: match.start()] + text[match.end() :]
    try:
        data = json.loads(match.group(1))
        return body, Provenance.from_dict(data) if isinstance(data, dict) else None
    except (ValueError, TypeError):
        return body, None


def attach(text: str, provenance: Provenance) -> str:
    """Finish a draft: record the hash of ``text`` and append the block."""
    text = text.rstrip("\n")
    provenance.generated = digest(text)
    return text + "\n\n" + provenance.to_comment()


def was_edited(text: str) -> bool | None:
    """True if a human changed the draft, False if untouched, None if drafter did not write it."""
    body, provenance = split_provenance(text)
    if provenance is None:
        return None
    return digest(body.rstrip("\n")) != provenance.generated
