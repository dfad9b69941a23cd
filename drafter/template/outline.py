"""The outline: what a template says a document must look like.

A team's markdown template is the single source of truth for a document's structure. This module
reads any template into an :class:`Outline` (sections with their level, number, optionality,
guidance, placeholders, required tables and fences, plus the header metadata block). The
validator checks documents against it, and the chains turn its guidance into prompt instructions
and its sections into output schemas. A new team template therefore needs no code change.

Conventions read from a template:

* the first heading is the document *title* when it is level 1 and no other level-1 heading
  exists (the seed and KEP shapes); otherwise level-1 headings are sections (the Rust RFC shape);
* in the title, ``[Bracketed text]``, runs like ``NNNN`` or ``XXXX`` and a trailing phrase about
  "your ... title" (``# KEP-NNNN: Your short, descriptive title``) are placeholders;
* "(Optional)" or "(if applicable)" in a heading marks the section (and its children) optional;
* an italic-only paragraph, or an HTML comment, is guidance for the writer; a section whose
  template body is only guidance still expects content;
* ``[Bracketed text]`` and a lone ``...`` are placeholders to be replaced;
* ``**Key:** value`` lines before the first section form the metadata block; a value like
  ``[A/B/C]`` lists the allowed values and ``[YYYY-MM-DD]`` asks for a date;
* ``<!-- drafter:chain NAME -->`` inside a top-level section assigns it to a prompt chain
  (otherwise :func:`default_chain` decides by title).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal

from markdown_it.token import Token

from drafter.errors import TemplateError
from drafter.template import mdparse
from drafter.template.mdparse import normalise
from drafter.template.metadata import metadata_entries

_NUMBER = re.compile(r"^(\d+(?:\.\d+)*)[.)]?\s+(?=\S)")
_OPTIONAL = re.compile(r"\s*\((optional|if applicable|if needed|if any)\)\s*", re.IGNORECASE)
_BRACKET = re.compile(r"\[[^\[\]\n]{1,80}\]")
_CHAIN_MARK = re.compile(r"<!--\s*drafter:chain\s+([a-z][a-z0-9_-]*)\s*-->")
_CODE_RUN = re.compile(r"\b(?:N{3,}|X{3,})\b")
_TITLE_WORDS = re.compile(r"\b(?:your|title)\b", re.IGNORECASE)
_DATE_PATTERN = re.compile(r"\bY{4}-M{2}-D{2}\b", re.IGNORECASE)
# Short marker comments (``<!-- toc -->``, ``<!-- /toc -->``) are not guidance.
_MARKER_COMMENT = re.compile(r"/?[\w:-]*")
_ELLIPSIS = ("...", "…")
# Bracketed words that templates use as labels, not as text to replace ("- [ ] task", "[Optional]").
_LABELS = {"", "x", "optional", "required", "alpha", "beta", "ga", "deprecated", "unresolved"}

CHAINS = ("problem", "solution", "risks")
MetaKind = Literal["choice", "date", "text"]


def split_number(title: str) -> tuple[str | None, str]:
    """Split ``"2.3 Proposed Approach"`` into ``("2.3", "Proposed Approach")``."""
    match = _NUMBER.match(title)
    if match:
        return match.group(1), title[match.end() :]
    return None, title


def clean_title(title: str) -> tuple[str | None, str, bool]:
    """Return ``(number, title without number or optional marker, optional?)``."""
    number, rest = split_number(title.strip())
    optional = bool(_OPTIONAL.search(rest))
    rest = _OPTIONAL.sub(" ", rest).strip()
    return number, rest, optional


@lru_cache(maxsize=4096)
def title_key(title: str) -> str:
    """The key headings are matched by: no number, no optional marker, case and punctuation folded."""
    _, rest, _ = clean_title(title)
    rest = rest.lower().replace("&", " and ")
    return " ".join("".join(ch if ch.isalnum() else " " for ch in rest).split())


def placeholders_in(text: str) -> list[str]:
    """Bracketed placeholders in a piece of plain text (``[Goal 1]``, ``[YYYY-MM-DD]``)."""
    return [m.group(0) for m in _BRACKET.finditer(text) if m.group(0)[1:-1].strip().lower() not in _LABELS]


def title_placeholders_in(title: str) -> list[str]:
    """Placeholders in a template's title heading.

    Besides bracketed text, ``NNNN``/``XXXX`` runs and a trailing "your ... title" phrase count, so
    ``KEP-NNNN: Your short, descriptive title`` yields ``["NNNN", "Your short, descriptive title"]``.
    """
    found = placeholders_in(title)
    found.extend(m.group(0) for m in _CODE_RUN.finditer(title))
    tail = title.rpartition(":")[2].strip()
    if tail and "[" not in tail and _TITLE_WORDS.search(tail):
        found.append(tail)
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class TableSpec:
    """A table the section must contain, with the header columns it must have."""

    columns: tuple[str, ...]
    example_rows: tuple[tuple[str, ...], ...]
    line: int


@dataclass(frozen=True)
class FenceSpec:
    """A fenced block the section must contain; ``info`` empty means any language."""

    info: str
    body: str
    label: str
    line: int


@dataclass(frozen=True)
class MetaField:
    """One ``**Key:** value`` line of the header metadata block."""

    name: str
    placeholder: str
    kind: MetaKind
    choices: tuple[str, ...] = ()
    style: Literal["bold", "list"] = "bold"

    def line(self, value: str) -> str:
        """How the template writes this field with ``value``."""
        return f"- {self.name}: {value}" if self.style == "list" else f"**{self.name}:** {value}"

    @property
    def key(self) -> str:
        return normalise(self.name)


@dataclass
class Section:
    """One template section. ``children`` are its sub-sections, in order."""

    title: str
    raw_title: str
    level: int
    number: str | None
    optional: bool
    line: int
    guidance: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    placeholders: list[str] = field(default_factory=list)
    tables: list[TableSpec] = field(default_factory=list)
    fences: list[FenceSpec] = field(default_factory=list)
    list_expected: bool = False
    has_body: bool = False
    visible_body: bool = False
    body: str = ""
    chain: str | None = None
    children: list[Section] = field(default_factory=list)
    parent: Section | None = field(default=None, repr=False, compare=False)

    @cached_property
    def key(self) -> str:
        return title_key(self.title)

    @cached_property
    def heading(self) -> str:
        """The heading text as the template writes it, without the optional marker."""
        return " ".join(_OPTIONAL.sub(" ", self.raw_title).split())

    @property
    def required(self) -> bool:
        """Required unless it or an ancestor is optional."""
        node: Section | None = self
        while node is not None:
            if node.optional:
                return False
            node = node.parent
        return True

    def walk(self) -> Iterator[Section]:
        yield self
        for child in self.children:
            yield from child.walk()

    @property
    def top(self) -> Section:
        node = self
        while node.parent is not None:
            node = node.parent
        return node


@dataclass
class Outline:
    """A template read as structure. Build with :func:`parse_template` or :func:`load_outline`."""

    name: str
    text: str
    title_level: int | None
    title_placeholders: list[str]
    metadata: list[MetaField]
    sections: list[Section]

    def walk(self) -> Iterator[Section]:
        """Every section, depth first, in template order."""
        for section in self.sections:
            yield from section.walk()

    def all_placeholders(self) -> set[str]:
        found = set(self.title_placeholders)
        found.update(f.placeholder for f in self.metadata if f.placeholder.startswith("["))
        for section in self.walk():
            found.update(p for p in section.placeholders if p not in _ELLIPSIS)
        return found

    def chains(self) -> dict[str, list[Section]]:
        """Top-level sections grouped by prompt chain, in chain order then template order."""
        grouped: dict[str, list[Section]] = {}
        for section in self.sections:
            grouped.setdefault(section.chain or default_chain(section.title), []).append(section)
        order = {name: i for i, name in enumerate(CHAINS)}
        return dict(sorted(grouped.items(), key=lambda kv: order.get(kv[0], len(order))))

    def find(self, name: str) -> Section | None:
        """A section by number (``"2.3"``) or title, case-insensitive."""
        wanted = name.strip().rstrip(".")
        key = title_key(name)
        for section in self.walk():
            if section.number and wanted == section.number.rstrip("."):
                return section
            if key and section.key == key:
                return section
        return None


_PROBLEM_WORDS = (
    "problem",
    "motivation",
    "context",
    "background",
    "summary",
    "status",
    "overview of the issue",
)
_RISK_WORDS = (
    "risk",
    "rollback",
    "drawback",
    "alternative",
    "unresolved",
    "future",
    "reference",
    "phasing",
    "implementation",
    "consequence",
    "prior art",
    "history",
    "open question",
    "testing",
    "test plan",
    "rollout",
)


def default_chain(title: str) -> str:
    """The documented default grouping of a top-level section into a chain.

    Titles about the situation (problem, motivation, context, background, summary, status) go to
    ``problem``; titles about what could go wrong or come later (risks, rollback, drawbacks,
    alternatives, unresolved questions, implementation, phasing, references, future work) go to
    ``risks``; everything else (goals, design, decision, API) goes to ``solution``.
    """
    key = title_key(title)
    if any(word in key for word in _PROBLEM_WORDS):
        return "problem"
    if any(word in key for word in _RISK_WORDS):
        return "risks"
    return "solution"


def _is_guidance(inline: Token) -> bool:
    """An italic-only paragraph, e.g. ``*Describe the current functionality.*``."""
    children = [c for c in inline.children or [] if not (c.type == "text" and not c.content.strip())]
    if len(children) < 3 or children[0].type != "em_open" or children[-1].type != "em_close":
        return False
    depth = 0
    for child in children:
        if child.type == "em_open":
            depth += 1
        elif child.type == "em_close":
            depth -= 1
        elif depth == 0 and child.type not in ("softbreak", "hardbreak"):
            return False
    return True


def _meta_field(name: str, value: str, style: Literal["bold", "list"]) -> MetaField:
    field = _meta_kind(name, value.strip())
    return MetaField(field.name, field.placeholder, field.kind, field.choices, style)


def _meta_kind(name: str, value: str) -> MetaField:
    inner = value[1:-1].strip() if value.startswith("[") and value.endswith("]") else value
    if re.fullmatch(r"Y{4}-M{2}-D{2}", inner, re.IGNORECASE) or _DATE_PATTERN.search(value):
        return MetaField(name, value, "date")
    if value.startswith("[") and "/" in inner and "http" not in inner:
        choices = tuple(c.strip() for c in inner.split("/") if c.strip())
        # "[Task Name/ID]" is a free-text placeholder; choices are short words like Draft/Approved.
        if len(choices) >= 3 or all(" " not in c and c[:1].isupper() for c in choices):
            return MetaField(name, value, "choice", choices)
    return MetaField(name, value, "text")


def _fill_section(section: Section, raw: mdparse.RawSection) -> None:
    label = ""
    body_lines: list[str] = []
    for tok in raw.tokens:
        if tok.type == "html_block":
            comment = tok.content.strip()
            mark = _CHAIN_MARK.search(comment)
            if mark:
                section.chain = mark.group(1)
            elif comment.startswith("<!--"):
                inner = comment.removeprefix("<!--").removesuffix("-->").strip()
                section.comments.append(inner)
                if inner and not _MARKER_COMMENT.fullmatch(inner):
                    # Guidance in a comment (the KEP shape) asks for content, like italic guidance.
                    section.has_body = True
            continue
        if tok.type in ("bullet_list_open", "ordered_list_open"):
            section.list_expected = True
        if tok.type == "fence" or tok.type == "code_block":
            section.fences.append(FenceSpec(tok.info.strip(), tok.content, label, mdparse.line_of(tok)))
            body_lines.append(f"```{tok.info.strip()}\n{tok.content}```")
        if tok.type == "inline":
            text = mdparse.plain_text(tok).strip()
            strong = [c for c in tok.children or [] if c.type == "text"]
            if text:
                section.has_body = section.visible_body = True
            if text and _is_guidance(tok):
                section.guidance.append(text)
            else:
                section.placeholders.extend(placeholders_in(text))
                if any(c.content.strip() in _ELLIPSIS for c in strong):
                    section.placeholders.append("...")
                body_lines.append(text)
            if text.endswith(":") and len(text) < 60:
                label = text.rstrip(":").strip()
    for table in mdparse.tables(raw.tokens):
        section.tables.append(TableSpec(table.header, table.rows, table.line))
    if section.tables or section.fences:
        section.has_body = section.visible_body = True
    section.body = "\n".join(body_lines)


def parse_template(text: str, name: str = "template") -> Outline:
    """Read a markdown template into an :class:`Outline`.

    Raises :class:`TemplateError` when the template has no headings or repeats a heading under
    the same parent (the validator could not tell the two apart).
    """
    doc = mdparse.split(text)
    raws = doc.sections
    if not raws:
        raise TemplateError(
            f"template '{name}' has no headings",
            hint="a template needs at least one markdown heading (e.g. '## Problem') per section",
        )
    level_one = [r for r in raws if r.level == 1]
    title_level: int | None = None
    title_placeholders: list[str] = []
    preamble = list(doc.preamble)
    if raws[0].level == 1 and len(level_one) == 1 and len(raws) > 1:
        title = raws.pop(0)
        title_level = 1
        title_placeholders = title_placeholders_in(title.text)
        preamble.extend(title.tokens)
    metadata = [_meta_field(k, v, style) for k, v, _, style in metadata_entries(preamble)]

    roots: list[Section] = []
    stack: list[Section] = []
    for raw in raws:
        number, clean, optional = clean_title(raw.text)
        section = Section(
            title=clean, raw_title=raw.text, level=raw.level, number=number, optional=optional, line=raw.line
        )
        _fill_section(section, raw)
        while stack and stack[-1].level >= raw.level:
            stack.pop()
        if stack:
            section.parent = stack[-1]
            stack[-1].children.append(section)
        else:
            roots.append(section)
        stack.append(section)

    outline = Outline(name, text, title_level, title_placeholders, metadata, roots)
    _check_unique(outline)
    return outline


def _check_unique(outline: Outline) -> None:
    groups: list[list[Section]] = [outline.sections, *[s.children for s in outline.walk()]]
    for siblings in groups:
        seen: dict[str, Section] = {}
        for section in siblings:
            if section.key in seen:
                first = seen[section.key]
                raise TemplateError(
                    f"template '{outline.name}' repeats the heading '{section.title}' "
                    f"(lines {first.line} and {section.line})",
                    hint="give every section under one parent a distinct title",
                )
            seen[section.key] = section


def outline_to_dict(outline: Outline) -> dict[str, Any]:
    """The outline as JSON-ready data (``drafter templates show --json``)."""
    chains = {id(s): chain for chain, sections in outline.chains().items() for s in sections}

    def one(section: Section) -> dict[str, Any]:
        return {
            "heading": section.heading,
            "title": section.title,
            "number": section.number,
            "level": section.level,
            "required": section.required,
            "chain": chains.get(id(section.top)),
            "guidance": section.guidance,
            "placeholders": section.placeholders,
            "tables": [list(t.columns) for t in section.tables],
            "fences": [{"info": f.info, "label": f.label} for f in section.fences],
            "list_expected": section.list_expected,
            "children": [one(c) for c in section.children],
        }

    return {
        "name": outline.name,
        "title_level": outline.title_level,
        "metadata": [{"name": f.name, "kind": f.kind, "choices": list(f.choices)} for f in outline.metadata],
        "sections": [one(s) for s in outline.sections],
    }


@lru_cache(maxsize=32)
def _load_cached(path: str, mtime_ns: int, name: str) -> Outline:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise TemplateError(
            f"cannot read template {path}: {exc.strerror}", hint="check the --template path"
        ) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TemplateError(f"template {path} is not UTF-8 text", hint="save the template as UTF-8") from exc
    if "\x00" in text:
        raise TemplateError(f"template {path} is a binary file", hint="pass a markdown template")
    return parse_template(text, name)


def load_outline(spec: str | None = None, root: Path | None = None) -> Outline:
    """Resolve ``--template`` (name or path; default ``technical-design``) and parse it, cached."""
    from drafter.template.resources import resolve_template

    name, path = resolve_template(spec, root)
    return _load_cached(str(path), path.stat().st_mtime_ns, name)


# Words a section may hold: "<!-- drafter:budget N -->" in the template, else this default. The
# review's over-budget check and the bound on each chain's answer (drafter.drafting.chains) read it.
DEFAULT_WORD_BUDGET = 600
_WORD_BUDGET = re.compile(r"drafter:budget\s+(\d{1,6})")


def word_budget(section: Section) -> int:
    """Words allowed in ``section``: its template's ``<!-- drafter:budget N -->``, else the default."""
    for comment in section.comments:
        match = _WORD_BUDGET.search(comment)
        if match:
            return int(match.group(1))
    return DEFAULT_WORD_BUDGET
