"""Render drafted sections into markdown in the template's exact shape.

The document skeleton is a jinja2 template of our own (``document.md.j2`` in this package),
rendered with ``StrictUndefined``; issue text and model output are only ever *values* passed to
it, never template source, so ``{{ 7*7 }}`` in an issue stays literal. Before a value is placed,
:func:`safe_markdown` makes sure it cannot change the document's structure: headings inside it
become bold lines, unclosed fences are closed, and raw HTML outside code is escaped (see
:mod:`drafter.template.htmlcheck`): an HTML comment could forge drafter's provenance block or hide text,
and an unclosed ``<details>`` or ``<div>`` would fold the rest of the draft in an HTML view.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import jinja2

from drafter.config.redaction import redact
from drafter.document.content import TODO, SectionContent, section_id
from drafter.sources.context import IssueContext
from drafter.template import htmlcheck, mdparse
from drafter.template.outline import MetaField, Outline, Section, placeholders_in
from drafter.template.resources import jinja_environment, skeleton_dir

_CONTROL = {c: None for c in range(32) if c not in (9, 10)}


def _environment() -> jinja2.Environment:
    return jinja_environment((str(skeleton_dir()),), keep_trailing_newline=True)


_CONTAINER = re.compile(r"^(?:[ \t]*(?:>|[-*+](?=[ \t])|\d{1,9}[.)](?=[ \t])))*[ \t]*")
_TRAILING_ELLIPSIS = re.compile(r"(^|[^\w.…])(?:\.\.\.|…)[ \t]*$")


def safe_markdown(text: str) -> str:
    """Neutralise structure in untrusted markdown so it stays inside its section.

    Headings become bold lines (list and quote markers kept), unclosed fences are closed, every
    raw HTML tag, comment or declaration outside code is escaped (``<br>`` aside;
    :func:`drafter.template.htmlcheck.escape_html`), and a line ending in a bare ``...`` (which the
    validator reads as a template placeholder) ends in ``[…]``.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_CONTROL)
    text = text.replace("<!--", "&lt;!--")
    if _plain(text):
        return _fix_ellipses(text.split("\n"), set())
    text, tokens = htmlcheck.escape_html(text)
    lines = text.split("\n")
    code_lines: set[int] = set()
    for index, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.map:
            start, end = tok.map
            # Plain text turns "&lt;details>" and "`<div>`" back into tags: escape them again.
            title = htmlcheck.escape_text(mdparse.plain_text(tokens[index + 1]).strip())
            if tok.markup.startswith("#"):
                prefix = _CONTAINER.match(lines[start])
                lead = prefix.group(0) if prefix else ""
            else:  # setext: the title lines, then the underline
                prefix = _CONTAINER.match(lines[end - 1])
                lead = prefix.group(0) if prefix else ""
            lines[start] = f"{lead}**{title}**" if title else lead.rstrip()
            for extra in range(start + 1, end):  # rest of a setext heading, and its underline
                lines[extra] = ""
        elif tok.type in ("fence", "code_block") and tok.map:
            code_lines.update(range(*tok.map))
            # A fence inside a list or quote ends with it; one at the top level runs to the end.
            if tok.type == "fence" and tok.level == 0:
                last = lines[tok.map[1] - 1].strip() if tok.map[1] - 1 < len(lines) else ""
                if tok.map[1] - tok.map[0] < 2 or not last.startswith(tok.markup[0] * len(tok.markup)):
                    lines.append(tok.markup)
    return _fix_ellipses(lines, code_lines)


def _plain(text: str) -> bool:
    """True when ``text`` cannot hold headings, fences, HTML or indented code, so needs no parse.

    Most generated pieces (table cells, list items, one-line prose) are like this, and skipping
    the parser for them keeps rendering cheap in large batches.
    """
    if any(ch in text for ch in "#`~<"):
        return False
    for line in text.split("\n"):
        stripped = line.strip()
        underline = bool(stripped) and (set(stripped) <= {"=", " "} or set(stripped) <= {"-", " "})
        if line.startswith(("    ", "\t")) or underline:
            return False
    return True


def _fix_ellipses(lines: list[str], code_lines: set[int]) -> str:
    for number, line in enumerate(lines):
        if number not in code_lines and ("..." in line or "…" in line):
            lines[number] = _TRAILING_ELLIPSIS.sub(lambda m: f"{m.group(1)}[…]", line)
    return "\n".join(lines).strip("\n")


def fence(body: str, info: str = "") -> str:
    """A fenced block whose fence is longer than any backtick run inside ``body``."""
    longest = run = 0
    for ch in body:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    marker = "`" * max(3, longest + 1)
    return f"{marker}{info}\n{body.rstrip()}\n{marker}"


MAX_BLOCK_LINES = 40
_FOLD_NOTE = "[… {n} lines folded: the full text is in the issue thread …]"


def fold_lines(lines: list[str], limit: int = MAX_BLOCK_LINES) -> list[str]:
    """``lines`` cut to ``limit``: the head and the tail, with a note of what was folded between.

    A 14 KB goroutine dump or a 2,000-line log makes a draft nobody reads; its start and end say
    what it is, and the thread the draft links to has the rest.
    """
    if len(lines) <= limit:
        return lines
    head = (limit - 1) * 2 // 3
    tail = limit - 1 - head
    return [*lines[:head], _FOLD_NOTE.format(n=len(lines) - head - tail), *lines[len(lines) - tail :]]


def fold_long_blocks(text: str, limit: int = MAX_BLOCK_LINES) -> str:
    """``text`` with every fenced or indented code block longer than ``limit`` lines folded."""
    if text.count("\n") < limit:
        return text
    lines = text.split("\n")
    blocks = [t for t in mdparse.parse(text) if t.type in ("fence", "code_block") and t.map]
    for token in reversed(blocks):
        start, end = token.map  # type: ignore[misc]
        if token.type == "fence":  # the fence lines themselves stay
            start, end = start + 1, (end - 1 if end - 1 > start and end <= len(lines) else end)
        if end - start > limit:
            inner = lines[start:end]
            # The note keeps the container marks of the block's lines (a quote's "> ", a list
            # item's indent), so it stays inside the block it replaces lines of.
            prefix = _CONTAINER.match(next((line for line in inner if line.strip()), ""))
            indent = prefix.group(0) if prefix else ""
            lines[start:end] = [
                line if i != (limit - 1) * 2 // 3 else indent + line
                for i, line in enumerate(fold_lines(inner, limit))
            ]
    return "\n".join(lines)


def _flat(text: str) -> str:
    """Untrusted text as one line inside other markdown: a table cell, a title, a header value.

    Joined into one line, an indented block or a fence that :func:`safe_markdown` kept as code is
    inline text, so its raw HTML is escaped after the join (:func:`drafter.template.htmlcheck.escape_line`).
    """
    return htmlcheck.escape_line(safe_markdown(text))


def _cell(text: str) -> str:
    return _flat(text).replace("|", "\\|") or TODO


def _item(text: str) -> str:
    """``text`` as a list item after ``- ``, its later lines indented to the item's content column.

    Tabs are expanded first (a tab's width depends on its column, so an indent in front of it could
    turn an indented code block into a paragraph of raw HTML); a first line indented 1 to 3 spaces
    moves the content column, so the later lines move with it. What markdown-it still reads as raw
    HTML in the item, as it will stand in the draft, is escaped.
    """
    lines = safe_markdown(text.expandtabs(4)).split("\n")
    lead = len(lines[0]) - len(lines[0].lstrip(" "))
    indent = " " * (2 + (lead if lines[0].strip() and lead < 4 else 0))
    item = "\n".join([f"- {lines[0]}", *(indent + line if line else "" for line in lines[1:])])
    if "<" not in item:  # no tag to escape: skip the parse (ten list items per draft, a batch of them)
        return item[2:]
    return htmlcheck.escape_html(item)[0][2:]


def section_body(section: Section, content: SectionContent) -> str:
    """The markdown of one section's own body, in the shape its template section asks for."""
    parts: list[str] = []
    if content.text.strip():
        parts.append(fold_long_blocks(safe_markdown(content.text)))
    if content.items:
        parts.append(fold_long_blocks("\n".join(f"- {_item(i)}" for i in content.items if i.strip())))
    for index, spec in enumerate(section.fences):
        block = content.blocks[index] if index < len(content.blocks) else f"{TODO}: {spec.label or 'block'}"
        label = f"**{spec.label}:**\n" if spec.label else ""
        code = "\n".join(fold_lines(block.replace("\r", "").rstrip("\n").split("\n")))
        parts.append(label + fence(code, spec.info))
    for table in section.tables[:1]:
        header = "| " + " | ".join(table.columns) + " |"
        rule = "|" + "|".join("-" * (len(c) + 2) for c in table.columns) + "|"
        rows = content.rows or [[TODO] * len(table.columns)]
        body = [
            "| " + " | ".join(_cell(row[i] if i < len(row) else "") for i in range(len(table.columns))) + " |"
            for row in rows
        ]
        parts.append("\n".join([header, rule, *body]))
    # Redacted as it will be on disk, so the hash of the section is the hash of what is written.
    return redact("\n\n".join(p for p in parts if p.strip()))


@dataclass(frozen=True)
class Meta:
    """Values for the header block."""

    author: str
    date: str
    status: str = "Draft"


def _meta_value(spec: MetaField, ctx: IssueContext, meta: Meta) -> str:
    key = spec.key
    if spec.kind == "date":
        return meta.date
    if spec.kind == "choice":
        wanted = meta.status.lower()
        return next(
            (c for c in spec.choices if c.lower() == wanted), spec.choices[0] if spec.choices else TODO
        )
    if "feature" in key and "name" in key:  # the RFC's snake_case feature name
        return re.sub(r"[^a-z0-9]+", "_", ctx.title.lower()).strip("_")[:48].rstrip("_") or TODO
    if any(word in key for word in ("author", "decider", "owner")):
        return meta.author
    if any(word in key for word in ("issue", "story", "link", "ticket", "tracking")):
        return ctx.url or TODO
    return TODO


def _one_line(text: str) -> str:
    """A header value: one line, no structure (an author or URL cannot add a heading or HTML)."""
    return _flat(text) or TODO


def _title(outline: Outline, ctx: IssueContext, template_title: str) -> str:
    title = _flat(ctx.title) or "Untitled"
    placeholders = placeholders_in(template_title)
    if not placeholders:
        return title
    text = template_title.replace(placeholders[0], title, 1)
    for other in placeholders[1:]:
        text = text.replace(other, TODO)
    return text


@lru_cache(maxsize=16)
def _template_split(text: str) -> mdparse.Split:
    """The template cut at its headings; parsed once per template, not once per draft.

    Callers only read it (preamble tokens, heading lines and texts), never mutate it.
    """
    return mdparse.split(text)


def render_document(
    outline: Outline,
    ctx: IssueContext,
    contents: Mapping[str, SectionContent],
    meta: Meta,
    *,
    notice: str | None = None,
    rendered: Mapping[str, str] | None = None,
) -> tuple[str, dict[str, str]]:
    """Render the whole draft; returns ``(markdown, {section id: rendered body})``.

    ``rendered`` holds bodies already made by :func:`section_body` (a draft checked section by
    section before a re-ask), so no section is rendered twice. The provenance block is not part
    of the result: :mod:`drafter.document.provenance` appends it.
    """
    template = _template_split(outline.text)
    raws = list(template.sections)
    template_title = raws.pop(0).text if outline.title_level is not None and raws else ""
    quoted = any(t.type == "blockquote_open" for t in [*template.preamble, *(template.sections[0].tokens)])
    rule_lines = _rules_before(template)

    meta_lines = [spec.line(_one_line(_meta_value(spec, ctx, meta))) for spec in outline.metadata]
    if quoted:
        meta_lines = [f"> {line}" for line in meta_lines]

    sections = []
    bodies: dict[str, str] = {}
    for section in outline.walk():
        sid = section_id(section)
        content = contents.get(sid)
        if rendered is not None and sid in rendered:
            body = rendered[sid]
        else:
            body = section_body(section, content) if content is not None else ""
        bodies[sid] = body
        sections.append(
            {
                "rule_before": section.line in rule_lines,
                "heading": f"{'#' * section.level} {section.raw_title}",
                "body": body,
            }
        )
    text = (
        _environment()
        .get_template("document.md.j2")
        .render(
            title=_title(outline, ctx, template_title) if outline.title_level is not None else None,
            template_name=outline.name,
            notice=notice,
            metadata="\n".join(meta_lines),
            sections=sections,
        )
    )
    return text, bodies


SOURCES_MARK = "<!-- drafter:sources -->"
_PERMALINK = re.compile(r"https?://[^\s<>()\[\]\"'`|]+")


def _link(label: str, url: str) -> str:
    text = _flat(label).replace("[", "\\[").replace("]", "\\]")
    return f"[{text}]({url})" if _PERMALINK.fullmatch(url) else text


def used_sources(section_sources: Mapping[str, list[str]]) -> list[str]:
    """Every input id cited by any section, first use first."""
    seen: dict[str, None] = {}
    for ids in section_sources.values():
        for source_id in ids:
            seen.setdefault(source_id, None)
    return list(seen)


def render_sources(ctx: IssueContext, section_sources: Mapping[str, list[str]]) -> str:
    """The "Sources" list that ends a draft: permalinks to the issue and the comments used.

    It follows the last section's body behind an HTML comment marker (no heading, so the validator
    sees no extra section) and lists the issue, then the cited comments and notes in thread order.
    """
    used = set(used_sources(section_sources))
    lines = [SOURCES_MARK, "**Sources:**", ""]
    lines.append("- " + _link(f"Issue {ctx.reference}", ctx.url))
    for comment in ctx.comments:
        if f"comment:{comment.id}" in used:
            lines.append("- " + _link(f"Comment {comment.id} by @{comment.author or 'unknown'}", comment.url))
    for number, _ in enumerate(ctx.notes, start=1):
        if f"note:{number}" in used:
            lines.append(f"- Team note {number} (given with --notes)")
    return "\n".join(lines)


EXCERPT_CHARS = 280


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` on one line, cut at a word before ``limit`` characters with an ellipsis."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:") + "…"


def source_excerpts(ctx: IssueContext, section_sources: Mapping[str, list[str]]) -> dict[str, dict[str, str]]:
    """A short quote of every input the sections cite, with who wrote it, when and where.

    Kept in the draft's state file so that ``drafter review --format html`` can put each cited
    source beside the section without the network; a few hundred characters each at most.
    """
    used = set(used_sources(section_sources))
    found: dict[str, dict[str, str]] = {}
    if "issue" in used:
        found["issue"] = {
            "kind": "issue",
            "author": ctx.author,
            "role": "reporter" if ctx.author else "",
            "date": ctx.created_at[:10],
            "url": ctx.url,
            "text": excerpt(f"{ctx.title}. {ctx.body}" if ctx.body.strip() else ctx.title),
        }
    for comment in ctx.comments:
        key = f"comment:{comment.id}"
        if key in used:
            found[key] = {
                "kind": "comment",
                "author": comment.author,
                "role": comment.role,
                "date": comment.date,
                "url": comment.url,
                "text": excerpt(comment.body),
            }
    for number, note in enumerate(ctx.notes, start=1):
        key = f"note:{number}"
        if key in used:
            found[key] = {
                "kind": "note",
                "author": "team note",
                "role": "",
                "date": "",
                "url": "",
                "text": excerpt(note.text),
            }
    return found


def _rules_before(template: mdparse.Split) -> set[int]:
    """Lines of template headings that follow a thematic break (``---``)."""
    found: set[int] = set()
    previous = template.preamble
    for raw in template.sections:
        if previous and previous[-1].type == "hr":
            found.add(raw.line)
        previous = raw.tokens
    return found


def today() -> str:
    return _dt.date.today().isoformat()
