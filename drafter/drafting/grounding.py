"""Keep model output grounded: references in a draft must come from the inputs.

A model that invents a URL, an issue number or a file path produces a draft that looks
authoritative and is wrong in the worst way. Every such reference in generated text is checked
against the input text (issue, comments, notes, links); those not found are replaced by a visible
``TODO(drafter)`` marker for the human. ``drafter review`` and ``drafter eval`` use the same
finder to report invented references.
"""

from __future__ import annotations

import re

from drafter.sources.context import IssueContext

URL = re.compile(r"https?://[^\s<>()\[\]\"'`|]+[^\s<>()\[\]\"'`|.,;:!?]")
ISSUE_REF = re.compile(r"(?<![\w/&#])((?:[\w.-]+/[\w.-]+)?#[1-9]\d{0,7})\b")
FILE_PATH = re.compile(r"(?<![\w/.:-])((?:[\w-]+/)+[\w-]+\.[A-Za-z0-9]{1,6})\b")


def input_text(ctx: IssueContext) -> str:
    """All the text a draft may take references from."""
    parts = [ctx.url, ctx.title, ctx.body, *ctx.links]
    for comment in ctx.comments:
        parts.extend((comment.body, comment.url))
    parts.extend(note.text for note in ctx.notes)
    # Facts come from the whole thread, also from comments that --max-context left out.
    parts.extend(fact.text for fact in ctx.facts)
    return "\n".join(parts)


def references(text: str) -> list[str]:
    """URLs, issue/PR references and file paths mentioned in ``text``, in order."""
    found: list[str] = []
    for pattern in (URL, ISSUE_REF, FILE_PATH):
        for match in pattern.finditer(text):
            ref = match.group(1) if pattern.groups else match.group(0)
            if ref not in found:
                found.append(ref)
    return found


def invented(text: str, source: str) -> list[str]:
    """References in ``text`` that do not occur in ``source``."""
    missing: list[str] = []
    for ref in references(text):
        if ISSUE_REF.fullmatch(ref) and not FILE_PATH.fullmatch(ref):
            if _issue_mentioned(ref, source):
                continue
        elif ref in source:
            continue
        if ref.startswith("http") and any(part in source for part in (ref.rstrip("/"), ref.split("#")[0])):
            continue
        missing.append(ref)
    return missing


def _issue_mentioned(ref: str, source: str) -> bool:
    """``#4`` / ``owner/repo#4`` in the inputs, as written or as an issue/PR URL (never via ``#42``)."""
    repo, _, number = ref.partition("#")
    before = r"(?<![\w/.-])" if repo else r"(?<!&)"
    if re.search(before + re.escape(ref) + r"(?!\d)", source):
        return True
    prefix = re.escape(repo) + "/" if repo else "/"
    return re.search(rf"{prefix}(?:-/)?(?:issues|pull|merge_requests)/{number}(?!\d)", source) is not None


def ground(text: str, source: str) -> tuple[str, list[str]]:
    """Replace invented references in ``text`` with TODO markers; returns the text and what was replaced."""
    replaced = invented(text, source)
    if not replaced:
        return text, []
    missing = set(replaced)
    spans: list[tuple[int, int, str]] = []
    for pattern in (URL, ISSUE_REF, FILE_PATH):
        for match in pattern.finditer(text):
            group = 1 if pattern.groups else 0
            start, end = match.span(group)
            if match.group(group) in missing and not any(s < end and start < e for s, e, _ in spans):
                spans.append((start, end, match.group(group)))
    # Replace by position (never "#4" inside "#42"), and show the reference in a code span with
    # "://" broken so that the marker itself is not rendered as a link or an issue reference.
    for start, end, ref in sorted(spans, reverse=True):
        text = text[:start] + _marker(ref) + text[end:]
    return text, replaced


# The marker put in place of a reference not found in the inputs, and how to find it again
# (``drafter eval`` scores them, the review page highlights them).
VERIFY_LEAD = "TODO(drafter): verify reference "
VERIFY_MARKER = re.compile(r"TODO\(drafter\): verify reference `([^`\n]+)`")


def _marker(ref: str) -> str:
    return f"{VERIFY_LEAD}`{ref.replace('://', ': //')}`"


# -- identifiers (used by ``drafter eval``; the draft is never rewritten for them) ---------------------
_CODE_SPAN = re.compile(r"(`+)([^`\n]+?)\1")
_IDENT = re.compile(r"[A-Za-z_$][\w$]*(?:(?:\.|::|->|#)[A-Za-z_$][\w$]*)*(?:\(\))?")
_BARE_IDENT = re.compile(
    r"(?<![\w.$:/#-])[A-Za-z_$][\w$]*(?:(?:\.|::)[A-Za-z_$][\w$]*)*(?:\(\))?(?![\w$]|…|\.\.\.)"
)
_CAMEL = re.compile(r"[a-z0-9][A-Z]")


def _strong_identifier(name: str) -> bool:
    """Looks like code even outside a code span: snake_case, lowerCamelCase, a.b.call(), A::B."""
    core = name.removesuffix("()")
    if name.endswith("()") or "::" in core or "->" in core:
        return True
    if "_" in core.strip("_"):
        return True
    parts = core.split(".")
    if len(parts) > 1:
        return any(_CAMEL.search(p) or "_" in p for p in parts)
    return core[:1].islower() and _CAMEL.search(core) is not None


def identifiers(text: str) -> list[str]:
    """Code identifiers mentioned in ``text``, in order, without a trailing ``()``.

    Everything in a code span that is one identifier (``WidgetPool``, ``pool.release()``,
    ``max_size``), plus bare words that can only be code (``retry_count``, ``setNetworkTimeout``,
    ``errors.Handlef()``). Bare ``PascalCase`` words are left out: outside a code span they are as
    often product names as classes. URLs and file paths are :func:`references`, not identifiers.
    """
    found: list[str] = []

    def add(name: str) -> None:
        name = name.removesuffix("()")
        if len(name) > 1 and name not in found:
            found.append(name)

    for match in _CODE_SPAN.finditer(text):
        content = match.group(2).strip()
        if _IDENT.fullmatch(content):
            add(content)
    prose = _CODE_SPAN.sub(" ", text)
    for pattern in (URL, FILE_PATH):
        prose = pattern.sub(" ", prose)
    for match in _BARE_IDENT.finditer(prose):
        if _strong_identifier(match.group(0)):
            add(match.group(0))
    return found


def invented_identifiers(text: str, source: str) -> list[str]:
    """Identifiers in ``text`` that do not occur, as a whole word, in ``source``."""
    return [
        name
        for name in identifiers(text)
        if not re.search(r"(?<![\w$])" + re.escape(name) + r"(?![\w$])", source)
    ]
