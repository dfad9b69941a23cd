"""The offline drafter: a deterministic first draft built from the inputs alone.

It is the embedded default when no model is configured, so ``drafter from-issue`` works with no key
and no network. It never invents: every sentence is the issue's, a comment's, or a note's, quoted
with its source, and a ``TODO(drafter)`` marks each place only a human can fill. Sections are
recognised by what their titles are about, so any team template gets a sensible draft:

* context/summary/motivation: title, labels, state and the first paragraph of the issue;
* the issue/problem: the issue body, with logs and stack traces kept in fenced blocks, and the
  discussion as a list of comments with permalinks;
* goals: the issue's checklist items; non-goals: its "out of scope"/"won't" sentences;
* approach/decision: the team's notes, then proposal sentences from the thread;
* risks, alternatives, open questions: sentences of the thread that talk about them;
* references: the issue, the linked issues/PRs and the comments, as links.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from drafter import mdparse
from drafter.context import IssueContext
from drafter.draft import TODO, SectionContent, drafted_sections, section_id, todo_content
from drafter.outline import Outline, Section

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*\"'(\[])")
_TASK = re.compile(r"^\[( |x|X)\]\s+")
_IDENT = re.compile(r"`([A-Za-z_][\w.:/-]{2,60})`")
_MAX_QUOTE = 400


@dataclass(frozen=True)
class _Text:
    """A piece of input text and where it came from."""

    source: str
    text: str
    url: str = ""
    author: str = ""


def _inputs(ctx: IssueContext) -> list[_Text]:
    items = [_Text("issue", ctx.body, ctx.url, ctx.author)]
    items.extend(_Text(f"comment:{c.id}", c.body, c.url, c.author) for c in ctx.comments)
    items.extend(_Text(f"note:{i + 1}", n.text, "", "team notes") for i, n in enumerate(ctx.notes))
    return items


def _paragraphs(text: str) -> list[str]:
    return [mdparse.plain_text(inline).strip() for _, inline in mdparse.paragraphs(mdparse.parse(text))]


def _sentences(text: str) -> list[str]:
    found: list[str] = []
    for para in _paragraphs(text):
        found.extend(s.strip() for s in _SENTENCE.split(para) if s.strip())
    return found


def _clip(text: str, limit: int = _MAX_QUOTE) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _matching(inputs: Iterable[_Text], words: tuple[str, ...], limit: int = 6) -> list[tuple[str, _Text]]:
    found: list[tuple[str, _Text]] = []
    seen: set[str] = set()
    for item in inputs:
        for sentence in _sentences(item.text):
            low = sentence.lower()
            if any(w in low for w in words) and low not in seen:
                seen.add(low)
                found.append((_clip(sentence, 300), item))
                if len(found) >= limit:
                    return found
    return found


def _cite(item: _Text) -> str:
    if item.source == "issue":
        return "(issue)"
    if item.source.startswith("note:"):
        return "(team notes)"
    who = f"@{item.author}" if item.author else "a comment"
    return f"([{who}]({item.url}))" if item.url else f"({who})"


def _quoted(found: list[tuple[str, _Text]]) -> tuple[list[str], list[str]]:
    return [f"{s} {_cite(i)}" for s, i in found], sorted({i.source for _, i in found})


class _Builder:
    def __init__(self, ctx: IssueContext) -> None:
        self.ctx = ctx
        self.inputs = _inputs(ctx)

    # Each builder returns content or None (meaning: fall back to a TODO for the human).
    def context(self, section: Section) -> SectionContent | None:
        ctx = self.ctx
        what = "pull request" if ctx.kind == "pull_request" else "issue"
        facts = [
            f"This design responds to the {what} [{ctx.reference}]({ctx.url})"
            if ctx.url
            else f"This design responds to {what} '{ctx.title}'"
        ]
        if ctx.state:
            facts.append(f"state: {ctx.state}")
        if ctx.labels:
            facts.append("labels: " + ", ".join(f"`{label}`" for label in ctx.labels))
        if ctx.author:
            facts.append(
                f"opened by @{ctx.author}" + (f" on {ctx.created_at[:10]}" if ctx.created_at else "")
            )
        text = "; ".join(facts) + "."
        first = next((p for p in _paragraphs(ctx.body) if len(p) > 40), "")
        if first:
            text += f"\n\n> {_clip(first)}"
        notes = [n.text for n in ctx.notes]
        if notes:
            text += "\n\nTeam notes: " + _clip(" ".join(notes))
        return SectionContent(
            text=text + f"\n\n{TODO}: describe the current system in your own words.", sources=["issue"]
        )

    def issue(self, section: Section) -> SectionContent | None:
        ctx = self.ctx
        body = ctx.body.strip() or f"{TODO}: the issue has no description; state the problem."
        parts = [f"**{ctx.title}**", body]
        if ctx.comments:
            lines = [
                f"- @{c.author or 'unknown'}"
                + (f" ([comment]({c.url}))" if c.url else "")
                + f": {_clip(c.body, 240)}"
                for c in ctx.comments
                if c.body.strip()
            ]
            if lines:
                parts.append("**Discussion:**\n\n" + "\n".join(lines))
        if ctx.omitted_comments:
            parts.append(f"[{ctx.omitted_comments} comments omitted from this draft's input]")
        sources = ["issue", *(f"comment:{c.id}" for c in ctx.comments)]
        return SectionContent(text="\n\n".join(parts), sources=sources)

    def root_cause(self, section: Section) -> SectionContent | None:
        found = _matching(self.inputs, ("because", "root cause", "caused by", "due to", "race", "the reason"))
        if not found:
            return None
        items, sources = _quoted(found)
        return SectionContent(
            text=f"What the thread says about the cause ({TODO}: confirm):", items=items, sources=sources
        )

    def goals(self, section: Section) -> SectionContent | None:
        items: list[str] = []
        sources: set[str] = set()
        for item in self.inputs:
            for para in _paragraphs(item.text):
                if _TASK.match(para):
                    items.append(_TASK.sub("", para))
                    sources.add(item.source)
        if not items:
            found = _matching(
                self.inputs, ("should ", "must ", "needs to", "want to", "would like", "goal"), 4
            )
            items, quoted_sources = _quoted(found)
            sources.update(quoted_sources)
        if not items:
            return None
        return SectionContent(items=[*items[:8], f"{TODO}: confirm these goals"], sources=sorted(sources))

    def non_goals(self, section: Section) -> SectionContent | None:
        words = (
            "out of scope",
            "won't",
            "will not",
            "not going to",
            "non-goal",
            "not planned",
            "not in scope",
        )
        found = _matching(self.inputs, words, 5)
        if not found:
            return None
        items, sources = _quoted(found)
        return SectionContent(items=items, sources=sources)

    def approach(self, section: Section) -> SectionContent | None:
        notes = [n.text.strip() for n in self.ctx.notes if n.text.strip()]
        words = (
            "propose",
            "suggest",
            "we could",
            "we should",
            "instead",
            "option",
            "fix",
            "approach",
            "plan",
        )
        found = _matching(self.inputs, words, 6)
        if not notes and not found:
            return None
        items, sources = _quoted(found)
        text = ("Team notes: " + _clip(" ".join(notes), 800) + "\n\n") if notes else ""
        text += "Ideas raised in the thread:" if items else ""
        sources = sorted({*sources, *(f"note:{i + 1}" for i in range(len(notes)))})
        return SectionContent(
            text=(text + f"\n\n{TODO}: state the chosen approach.").strip(), items=items, sources=sources
        )

    def risks(self, section: Section) -> SectionContent | None:
        words = ("risk", "break", "regress", "compat", "danger", "concern", "downside", "overhead", "slower")
        found = _matching(self.inputs, words, 6)
        if not found:
            return None
        items, sources = _quoted(found)
        return SectionContent(
            items=[f"**Risk:** {item}\n**Mitigation:** {TODO}" for item in items], sources=sources
        )

    def questions(self, section: Section) -> SectionContent | None:
        found = [(s, i) for s, i in _matching(self.inputs, ("?",), 6) if s.endswith("?")]
        if not found:
            return None
        items, sources = _quoted(found)
        return SectionContent(items=items, sources=sources)

    def alternatives(self, section: Section) -> SectionContent | None:
        found = _matching(
            self.inputs, ("alternative", "instead", "another option", "or we could", "workaround"), 5
        )
        if not found:
            return None
        items, sources = _quoted(found)
        return SectionContent(items=items, sources=sources)

    def references(self, section: Section) -> SectionContent | None:
        ctx = self.ctx
        items = [f"[{ctx.reference}]({ctx.url})"] if ctx.url else []
        items.extend(f"<{link}>" if link.startswith("http") else f"`{link}`" for link in ctx.links)
        items.extend(f"[Comment by @{c.author}]({c.url})" for c in ctx.comments if c.url)
        if not items:
            return None
        return SectionContent(items=items[:30], sources=["issue"])

    def status(self, section: Section) -> SectionContent | None:
        return SectionContent(text=f"Proposed (drafted from {self.ctx.reference}).", sources=["issue"])

    def table(self, section: Section, content: SectionContent) -> None:
        columns = section.tables[0].columns
        idents: list[str] = []
        for item in self.inputs:
            for match in _IDENT.finditer(item.text):
                if match.group(1) not in idents:
                    idents.append(match.group(1))
        rows = [[f"`{name}`", TODO, "Mentioned in the issue thread"] for name in idents[:6]]
        content.rows = [row[: len(columns)] + [TODO] * (len(columns) - len(row)) for row in rows] or [
            [TODO] * len(columns)
        ]

    def blocks(self, section: Section, content: SectionContent) -> None:
        code = [tok for tok in mdparse.parse(self.ctx.body) if tok.type == "fence"]
        blocks: list[str] = []
        for spec in section.fences:
            same = next((t for t in code if spec.info and t.info.strip().lower() == spec.info.lower()), None)
            if same is not None:
                code.remove(same)
                blocks.append(same.content)
            else:
                what = spec.label or section.title
                blocks.append(
                    f"{TODO}: {what.lower()}" if spec.info != "json" else '{"TODO": "define this payload"}'
                )
        content.blocks = blocks


_KINDS: list[tuple[tuple[str, ...], Callable[[_Builder, Section], SectionContent | None]]] = [
    (("root cause",), _Builder.root_cause),
    (("non goal", "out of scope"), _Builder.non_goals),
    (("goal",), _Builder.goals),
    (("context", "background", "summary", "motivation"), _Builder.context),
    (("the issue", "problem"), _Builder.issue),
    (("approach", "proposal", "decision", "guide level", "solution"), _Builder.approach),
    (("risk", "drawback", "consequence"), _Builder.risks),
    (("alternative", "rationale"), _Builder.alternatives),
    (("unresolved", "open question"), _Builder.questions),
    (("reference", "prior art", "links"), _Builder.references),
    (("status",), _Builder.status),
]


def draft_offline(outline: Outline, ctx: IssueContext) -> dict[str, SectionContent]:
    """Draft every section of ``outline`` from ``ctx`` without a model."""
    builder = _Builder(ctx)
    contents: dict[str, SectionContent] = {}
    for section in drafted_sections(outline):
        key = section.key
        build = next((fn for words, fn in _KINDS if any(w in key for w in words)), None)
        content = build(builder, section) if build else None
        if content is None:
            if not section.required:
                content = SectionContent(text="Not applicable.")
            else:
                content = todo_content(section, "the offline drafter found nothing for it in the issue")
        if section.tables:
            builder.table(section, content)
        if section.fences:
            builder.blocks(section, content)
        contents[section_id(section)] = content
    return contents
