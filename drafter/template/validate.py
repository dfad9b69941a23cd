"""The deterministic structure validator: a document checked against its template's outline.

Everything checked here is derived from the :class:`~drafter.template.outline.Outline`: which sections
exist and in what order, their heading levels and numbers, required tables and fences, the
metadata block and its allowed values, guidance and placeholders that must not survive. Findings
carry a rule id, a severity, a 1-based line and a message that says how to fix the problem.

This module is on the fast path (``drafter validate`` over thousands of files), so it imports
only markdown-it-py and the outline, never the model stack.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from markdown_it.token import Token

from drafter.template import htmlcheck, mdparse
from drafter.template.findings import Finding, Report, Severity
from drafter.template.mdparse import normalise
from drafter.template.metadata import check_metadata
from drafter.template.outline import Outline, Section, clean_title, title_key

_TODO = re.compile(r"\bTODO\b")
_TEMPLATE_MARK = re.compile(r"<!--\s*drafter:template\s+([\w./-]+)\s*-->")
# "None." is an answer (a Non-Goals section with none), not a claim that the section does not apply.
_NOT_APPLICABLE = {"n/a", "na", "not applicable", "n/a.", "not applicable."}


def template_marker(text: str) -> str | None:
    """The template named by a ``<!-- drafter:template NAME -->`` marker in a draft, if any.

    The value is the document's, so untrusted: :func:`drafter.template.resources.marker_template` turns it
    into a template only when it names one the project knows.
    """
    match = _TEMPLATE_MARK.search(text[:4000]) or _TEMPLATE_MARK.search(text)
    return match.group(1) if match else None


_NOT_APPLICABLE_KEYS = {x.rstrip(".") for x in _NOT_APPLICABLE}


def _says_not_applicable(raw: mdparse.RawSection) -> bool:
    only: Token | None = None
    for tok in raw.tokens:
        if tok.type == "inline" and tok.content.strip():
            if only is not None or len(tok.content) > 40:  # fast exit: more than a short "N/A"
                return False
            only = tok
    text = mdparse.plain_text(only).strip().lower() if only is not None else ""
    return text.rstrip(".") in _NOT_APPLICABLE_KEYS


def _match(outline: Outline, raws: Sequence[mdparse.RawSection]) -> dict[int, int]:
    """Map each template section (by walk index) to a document section (by index)."""
    parents: list[str] = []
    stack: list[mdparse.RawSection] = []
    for raw in raws:
        while stack and stack[-1].level >= raw.level:
            stack.pop()
        parents.append(title_key(stack[-1].text) if stack else "")
        stack.append(raw)
    by_key: dict[str, list[int]] = {}
    for index, raw in enumerate(raws):
        by_key.setdefault(title_key(raw.text), []).append(index)
    used: set[int] = set()
    mapping: dict[int, int] = {}
    for t_index, section in enumerate(outline.walk()):
        parent_key = section.parent.key if section.parent else ""
        candidates = [i for i in by_key.get(section.key, ()) if i not in used]
        if not candidates:
            continue
        same_parent = [i for i in candidates if parents[i] == parent_key]
        chosen = (same_parent or candidates)[0]
        used.add(chosen)
        mapping[t_index] = chosen
    return mapping


def _increasing_subset(values: Sequence[int]) -> set[int]:
    """Positions of one longest strictly increasing subsequence of ``values``."""
    if not values:
        return set()
    best_len = [1] * len(values)
    prev = [-1] * len(values)
    for i in range(len(values)):
        for j in range(i):
            if values[j] < values[i] and best_len[j] + 1 > best_len[i]:
                best_len[i], prev[i] = best_len[j] + 1, j
    i = max(range(len(values)), key=best_len.__getitem__)
    keep: set[int] = set()
    while i != -1:
        keep.add(i)
        i = prev[i]
    return keep


class _Checker:
    def __init__(self, outline: Outline, text: str, strict: bool) -> None:
        self.outline = outline
        # Line numbers follow markdown-it-py, which breaks lines only at \n, \r\n and \r.
        self.text = mdparse.normalize_newlines(text)
        self.strict = strict
        self.doc = mdparse.split(self.text)
        self.findings: list[Finding] = []
        self.placeholders = outline.all_placeholders()

    def add(self, rule: str, severity: Severity, line: int, message: str, section: str | None = None) -> None:
        self.findings.append(Finding(rule, severity, max(1, line), message, section))

    def run(self) -> list[Finding]:
        raws = list(self.doc.sections)
        preamble = list(self.doc.preamble)
        if self.outline.title_level is not None:
            if raws and raws[0].level == self.outline.title_level:
                title = raws.pop(0)
                self._check_text_placeholders(f"the title '{title.text}'", title.text, title.line, None)
                preamble.extend(title.tokens)
            else:
                self.add(
                    "title-missing",
                    "error",
                    1,
                    "the document has no title; start it with a level-1 heading ('# Title')",
                )
        self.findings.extend(check_metadata(self.outline.metadata, preamble, self.placeholders))
        self._check_sections(raws)
        self._check_todos()
        for line, message in htmlcheck.unbalanced(self.text):
            self.add("html-unbalanced", "error", line, message)
        self.findings.sort(key=lambda f: (f.line, f.rule))
        return self.findings

    # -- sections ---------------------------------------------------------------------------
    def _check_sections(self, raws: list[mdparse.RawSection]) -> None:
        template = list(self.outline.walk())
        mapping = _match(self.outline, raws)
        matched_docs = set(mapping.values())
        not_applicable = {d for d in matched_docs if _says_not_applicable(raws[d])}

        # Order: template order of the matched sections must be increasing in the document.
        pairs = sorted(mapping.items())
        keep = _increasing_subset([d for _, d in pairs])
        for pos, (t_index, d_index) in enumerate(pairs):
            if pos not in keep:
                before = template[pairs[pos - 1][0]].heading if pos else None
                where = f"after '{before}'" if before else "first"
                self.add(
                    "section-order",
                    "error",
                    raws[d_index].line,
                    f"section '{template[t_index].heading}' is out of order; the template puts it {where}",
                    template[t_index].heading,
                )

        skipped: set[int] = set()  # template sections inside an absent or N/A optional parent
        for t_index, section in enumerate(template):
            parent = section.parent
            if t_index in skipped:
                continue
            if t_index not in mapping:
                if section.required:
                    self.add(
                        "missing-section",
                        "error",
                        self._insert_line(template, mapping, raws, t_index),
                        f"required section '{section.heading}' is missing; add a heading "
                        f"'{'#' * section.level} {section.heading}'"
                        + (f" under '{parent.heading}'" if parent else ""),
                        section.heading,
                    )
                # Sub-sections of an absent section are not reported again, but those that are
                # present (under another heading) are still checked.
                skipped.update(i for i in self._descendants(template, t_index) if i not in mapping)
                continue
            raw = raws[mapping[t_index]]
            self._check_heading(section, raw)
            if mapping[t_index] in not_applicable:
                if section.required:
                    # Only a section the template marks optional ("(Optional)", "(if applicable)")
                    # may be answered with N/A; a required one needs its content or a reason.
                    self.add(
                        "empty-section",
                        "error",
                        raw.line,
                        f"required section '{section.heading}' only says N/A; the template requires "
                        "it: write its content, or say in a sentence why it does not apply",
                        section.heading,
                    )
                    # N/A excuses an optional section's sub-sections, not a required one's: the
                    # template still requires them, so they are checked as usual.
                    continue
                skipped.update(self._descendants(template, t_index))
                continue
            has_child_headings = (
                mapping[t_index] + 1 < len(raws) and raws[mapping[t_index] + 1].level > raw.level
            )
            self._check_content(section, raw, has_child_headings)

        for d_index, raw in enumerate(raws):
            if d_index not in matched_docs:
                self.add(
                    "unknown-section",
                    "warning",
                    raw.line,
                    f"section '{raw.text}' is not in template '{self.outline.name}'; "
                    "rename it to a template section or keep it as an intentional addition",
                )

    def _check_content(self, section: Section, raw: mdparse.RawSection, has_child_headings: bool) -> None:
        if section.has_body and raw.is_blank() and not has_child_headings:
            # A section whose template guidance is only an HTML comment (the KEP shape) is
            # often left empty on purpose; report it, but do not fail the document for it.
            self.add(
                "empty-section",
                "error" if section.required and section.visible_body else "warning",
                raw.line,
                f"section '{section.heading}' is empty; write its content"
                + (" or remove the optional section" if not section.required else ""),
                section.heading,
            )
            return
        self._check_body(section, raw)

    @staticmethod
    def _descendants(template: list[Section], t_index: int) -> set[int]:
        ids = {id(s) for s in template[t_index].walk()} - {id(template[t_index])}
        return {i for i, s in enumerate(template) if id(s) in ids}

    @staticmethod
    def _insert_line(
        template: list[Section], mapping: dict[int, int], raws: Sequence[mdparse.RawSection], t_index: int
    ) -> int:
        later = [mapping[i] for i in range(t_index + 1, len(template)) if i in mapping]
        if later:
            return raws[min(later)].line
        earlier = [mapping[i] for i in range(t_index) if i in mapping]
        if earlier:
            return raws[max(earlier)].end_line or raws[max(earlier)].line
        return 1

    def _check_heading(self, section: Section, raw: mdparse.RawSection) -> None:
        if raw.level != section.level:
            self.add(
                "heading-level",
                "error",
                raw.line,
                f"'{raw.text}' is a level-{raw.level} heading; the template uses level {section.level} "
                f"('{'#' * section.level} {section.heading}')",
                section.heading,
            )
        number, _, _ = clean_title(raw.text)
        if section.number and number and number.rstrip(".") != section.number.rstrip("."):
            self.add(
                "section-number",
                "error",
                raw.line,
                f"'{raw.text}' is numbered {number}; the template numbers it {section.number}",
                section.heading,
            )
        elif section.number and not number:
            self.add(
                "section-number",
                "warning",
                raw.line,
                f"'{raw.text}' has no number; the template numbers it '{section.heading}'",
                section.heading,
            )

    def _check_body(self, section: Section, raw: mdparse.RawSection) -> None:
        name = section.heading
        guidance = {normalise(g) for g in section.guidance}
        left: list[tuple[int, str]] = []  # guidance found, with its line
        content = any(
            tok.type in ("fence", "code_block") or tok.type.startswith("table") for tok in raw.tokens
        )
        for para, inline in mdparse.paragraphs(raw.tokens):
            text = mdparse.plain_text(inline)
            line = mdparse.line_of(para, raw.line)
            folded = normalise(text)
            found = next((g for g in guidance if g == folded or (len(g) > 20 and g in folded)), None)
            if found is not None and "todo(" in folded:
                found = None  # "TODO(drafter): <the guidance>" asks a person to write it: todo-left
            if found is not None:
                left.append((line, text.strip()))
                content = content or len(folded) > len(found) + 3  # real text beside the guidance
            elif folded:
                content = True
            if found is None or found != folded:
                self._check_text_placeholders(f"section '{name}'", text, line, name, inline)
        for line, text in left:
            if content:
                # Real content is there too: the guidance is a leftover to delete, not a gap.
                self.add(
                    "guidance-left",
                    "error" if self.strict else "warning",
                    line,
                    f"the template's guidance '{text[:60]}' is still in section '{name}' next to its "
                    "content; delete the guidance line",
                    name,
                )
            else:
                self.add(
                    "guidance-left",
                    "error",
                    line,
                    f"the template's guidance '{text[:60]}' is still in section '{name}'; "
                    "replace it with the section's content",
                    name,
                )

        doc_tables = mdparse.tables(raw.tokens) if section.tables else []
        for spec in section.tables:
            wanted = tuple(normalise(c) for c in spec.columns)
            match = next((t for t in doc_tables if tuple(normalise(c) for c in t.header) == wanted), None)
            if match is None:
                other = next(iter(doc_tables), None)
                if other is None:
                    self.add(
                        "table-missing",
                        "error",
                        raw.line,
                        f"section '{name}' needs a table with columns {' | '.join(spec.columns)}",
                        name,
                    )
                else:
                    self.add(
                        "table-columns",
                        "error",
                        other.line,
                        f"the table in section '{name}' has columns {' | '.join(other.header)}; "
                        f"the template expects {' | '.join(spec.columns)}",
                        name,
                    )
                continue
            examples = {tuple(normalise(c) for c in row) for row in spec.example_rows}
            for offset, row in enumerate(match.rows):
                if tuple(normalise(c) for c in row) in examples:
                    self.add(
                        "placeholder-left",
                        "error",
                        match.line + 2 + offset,
                        f"the template's example row '{' | '.join(row)}' is still in section '{name}'; "
                        "replace it with a real row",
                        name,
                    )

        doc_fences = list(mdparse.fences(raw.tokens))
        self._check_fences(section, raw, doc_fences)

    def _check_fences(self, section: Section, raw: mdparse.RawSection, doc_fences: list[Token]) -> None:
        name = section.heading
        remaining = list(doc_fences)
        examples = {f.body.strip() for f in section.fences}
        for fence in doc_fences:
            if fence.content.strip() and fence.content.strip() in examples:
                self.add(
                    "placeholder-left",
                    "error",
                    mdparse.line_of(fence, raw.line),
                    f"the template's example block is still in section '{name}' unchanged; "
                    "replace it with this design's own",
                    name,
                )
        # Specific languages first, then "any language" specs take what is left.
        for spec in sorted(section.fences, key=lambda f: not f.info):
            pick = next(
                (f for f in remaining if not spec.info or f.info.strip().lower() == spec.info.lower()),
                None,
            )
            if pick is not None:
                remaining.remove(pick)
                continue
            what = f"a ```{spec.info} block" if spec.info else "a fenced block (```)"
            label = f" for '{spec.label}'" if spec.label else ""
            self.add(
                "fence-missing",
                "error",
                raw.line,
                f"section '{name}' needs {what}{label} as in the template",
                name,
            )

    def _check_text_placeholders(
        self, where: str, text: str, line: int, section: str | None, inline: Token | None = None
    ) -> None:
        for placeholder in self.placeholders:
            if placeholder in text:
                self.add(
                    "placeholder-left",
                    "error",
                    line,
                    f"placeholder '{placeholder}' is still in {where}; replace it with real content",
                    section,
                )
        if inline is not None:
            for offset, parts in enumerate(mdparse.inline_lines(inline)):
                texts = [c.content.strip() for c in parts if c.type == "text" and c.content.strip()]
                if texts and texts[-1] in ("...", "…") and all(c.type != "code_inline" for c in parts[-1:]):
                    self.add(
                        "placeholder-left",
                        "error",
                        line + offset,
                        f"a '...' placeholder is still in {where}; replace it with real content",
                        section,
                    )

    def _check_todos(self) -> None:
        if not _TODO.search(self.text):
            return
        in_code: set[int] = set()
        blocks = [*self.doc.preamble, *(tok for raw in self.doc.sections for tok in raw.tokens)]
        for tok in blocks:
            if tok.type in ("fence", "code_block") and tok.map:
                in_code.update(range(tok.map[0], tok.map[1]))
        # Not splitlines(): it also breaks at \f, \x1c, \u2028 ..., which markdown does not.
        for number, line in enumerate(self.text.split("\n")):
            if number not in in_code and _TODO.search(line) and "drafter:" not in line:
                self.add(
                    "todo-left",
                    "error" if self.strict else "warning",
                    number + 1,
                    f"TODO left: '{line.strip()[:70]}'; resolve it and remove the marker",
                )


def validate_text(text: str, outline: Outline, *, path: str = "<text>", strict: bool = False) -> Report:
    """Check one document's markdown against ``outline``; never raises on odd markdown."""
    findings = _Checker(outline, text, strict).run()
    return Report(path=path, template=outline.name, findings=tuple(findings))
