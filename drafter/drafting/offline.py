"""The offline drafter: an honest first draft organised from the thread's facts, with no model.

It is the embedded default when no model is configured, so ``drafter from-issue`` works with no key
and no network. It cannot judge, so it never decides anything: each section gets either evidence
it is sure of (a quote with its author and link), or a ``TODO(drafter)`` that says what a person
must write followed by the evidence that bears on it ("From the thread:"). It never writes "Not
applicable.", which only a person or a model can decide.

It works from the distilled context (:mod:`drafter.sources.distill`): bots are gone, every comment
has a role, and the typed facts say what was decided, declined, proposed or worked around. So
goals come only from what a maintainer agreed to, non-goals from what one declined or deferred,
a reproduction step or a question is never a goal, and the component table lists only files,
modules and classes that someone said would change. Sections are recognised by what their titles
are about, so any team template gets a sensible draft.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from drafter.document.content import TODO, SectionContent, drafted_sections, section_id, todo_content
from drafter.sources.context import MAINTAINER, Fact, IssueContext
from drafter.sources.facts import clip, prose_paragraphs, prose_sentences, sentences
from drafter.template.outline import Outline, Section

_QUOTE = 300
# Sentences that explain why something happens (for the root cause), and that name a danger.
# Only words that name a cause outright: "because" alone also explains how someone found a file,
# and a wrong cause misleads more than a missing one.
_CAUSE = re.compile(
    r"\b(?:(?:the )?root cause|the cause (?:is|was)|(?:is|are|was|were) caused by|is due to|"
    r"happens because|the reason (?:is|was)|the problem is that|which gives the)\b",
    re.IGNORECASE,
)
_RISK = re.compile(
    r"\b(?:risk|break(?:s|ing)?|regress\w*|compat\w*|danger\w*|concern\w*|worr(?:y|ies)|downside|overhead|"
    r"slower|race|measurable drop|would multiply|would pay|cost|(?:get|gets|be|being) throttled|"
    r"not convinced|may just|might not|cause trouble)\b",
    re.IGNORECASE,
)
_CHANGE = re.compile(
    r"\b(?:add|adds|added|change|changes|modify|replace|remove|drop|drops|fix|refactor|rename|move|"
    r"introduce|split|log|deprecate|make|makes|switch|swap|rewrite|hand back|won't hand)\b",
    re.IGNORECASE,
)
_CODE = re.compile(r"`([^`\n]{2,80})`")
_NOT_PROSE = re.compile(r"(`{3,}|~{3,}).*?(?:\1|$)|`[^`\n]*`", re.DOTALL)
_API = re.compile(
    r"\b(?:add|adds|adding|introduce|new)\b.*\b(?:options?|flags?|functions?|methods?|endpoints?|apis?|parameters?)\b",
    re.IGNORECASE,
)
_WHEN = re.compile(r"\b(?:release|version|milestone|\d+\.\d+(?:\.\d+)?)\b", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s<>()\[\]\"'`|]+[^\s<>()\[\]\"'`|.,;:!?]")
_REF = re.compile(r"(?<![\w/&#.-])((?:[\w.-]{1,100}/[\w.-]{1,100})?#[1-9]\d{0,7})\b")


@dataclass(frozen=True)
class _Said:
    """A sentence or fact and who said it where."""

    text: str
    source: str
    author: str = ""
    role: str = ""


class _Builder:
    def __init__(self, ctx: IssueContext) -> None:
        self.ctx = ctx
        self.urls = {f"comment:{c.id}": c.url for c in ctx.comments}
        self.urls["issue"] = ctx.url
        self.speakers = [("issue", ctx.author, "reporter", ctx.body)]
        self.speakers += [(f"comment:{c.id}", c.author, c.role, c.body) for c in ctx.comments]
        self.cited: set[str] = set()  # the input ids the current section quotes
        self.quotes_issue = False  # the template has a section for the issue itself
        self.has_goals = False  # ... and one for goals
        # Task-list items ("- [ ] exports finish within 10 minutes"): the thread's own checklist.
        self.tasks = {
            clip(re.sub(r"^\s*[-*+]\s+\[ \]\s+", "", line), 240)
            for _, _, _, text in self.speakers
            for line in text.split("\n")
            if re.match(r"^\s*[-*+]\s+\[ \]\s+", line)
        }

    # -- citing ----------------------------------------------------------------------------------------
    def cite(self, said: _Said | Fact) -> str:
        """`` — @name (maintainer), [comment](url)``: who said it, and the link to where."""
        self.cited.add(said.source)
        who = f"@{said.author}" if said.author else ("the issue" if said.source == "issue" else "a comment")
        if said.role == MAINTAINER:
            who += " (maintainer)"
        url = self.urls.get(said.source, "")
        where = "issue" if said.source == "issue" else "comment"
        return f" — {who}, [{where}]({url})" if url else f" — {who}"

    def quote(self, said: _Said | Fact, limit: int = _QUOTE) -> str:
        return clip(said.text, limit) + self.cite(said)

    def facts(self, *kinds: str, status: str = "") -> list[Fact]:
        return [f for f in self.ctx.facts if f.kind in kinds and (not status or f.status == status)]

    def sentences(self, pattern: re.Pattern[str], limit: int, *, comments_only: bool = False) -> list[_Said]:
        found: list[_Said] = []
        for source, author, role, text in self.speakers:
            if comments_only and source == "issue":
                continue
            for sentence in prose_sentences(text):
                if pattern.search(sentence) and not sentence.endswith("?") and len(sentence) > 30:
                    found.append(_Said(sentence, source, author, role))
                    if len(found) >= limit:
                        return found
        return found

    def decided(self, sentence: str) -> bool:
        """Whether ``sentence`` is (part of) a decision: a decision belongs in goals, non-goals or
        phasing, not among risks or causes."""
        return any(
            sentence in f.text or f.text.split(": ", 1)[-1] in sentence for f in self.facts("decision")
        )

    def todo(self, what: str, evidence: Iterable[str] = ()) -> SectionContent:
        """A TODO for the human, followed by the evidence that bears on it."""
        items = list(evidence)
        text = f"{TODO}: {what}" + ("\n\nFrom the thread:" if items else "")
        return SectionContent(text=text, items=items)

    def goal_facts(self) -> list[Fact]:
        """What a maintainer agreed to, other than when it ships (that is phasing)."""
        return [
            f
            for f in self.facts("decision", status="agreed")
            if (f.role == MAINTAINER or not self.ctx.roles_known) and not _WHEN.search(f.text)
        ]

    def open_proposals(self) -> list[Fact]:
        """Proposals that are not questions and not an option a maintainer declined ("option 2"
        when a decision declined "(2)")."""
        declined = {
            m.group(1)
            for f in self.facts("decision", status="declined")
            for m in [re.match(r"\((\d{1,2})\)", f.text)]
            if m
        }
        return [
            f
            for f in self.facts("proposal")
            if not f.text.rstrip().endswith("?")
            and not any(re.search(rf"\boption {n}\b|\({n}\)", f.text) for n in declined)
        ]

    def notes(self) -> list[str]:
        return [clip(n.text, 600) for n in self.ctx.notes if n.text.strip()]

    # -- sections ---------------------------------------------------------------------------------------
    def context(self, section: Section) -> SectionContent:
        ctx = self.ctx
        what = "pull request" if ctx.kind == "pull_request" else "issue"
        ref = f"[{ctx.reference}]({ctx.url})" if ctx.url else f"'{ctx.title}'"
        facts = [f"This design responds to the {what} {ref}"]
        if ctx.author:
            facts.append(
                f"opened by @{ctx.author}" + (f" on {ctx.created_at[:10]}" if ctx.created_at else "")
            )
        if ctx.state:
            facts.append(f"{ctx.state}" + (f" as {ctx.state_reason}" if ctx.state_reason else ""))
        if ctx.labels:
            facts.append("labels " + ", ".join(f"`{label}`" for label in ctx.labels))
        text = ", ".join(facts) + "."
        first = _lead(_paragraphs(ctx.body), 500)
        if first and not self.quotes_issue:  # else the issue's own section quotes it
            text += "\n\n" + "\n>\n".join(f"> {p}" for p in first) + self.cite(_Said("", "issue", ctx.author))
        for note in self.notes():
            text += f"\n\n> {note} — the team's notes"
        return SectionContent(
            text=text + f"\n\n{TODO}: describe the current system in your own words.", sources=["issue"]
        )

    def issue(self, section: Section) -> SectionContent:
        ctx = self.ctx
        parts: list[str] = []
        # The title and the facts of the report, not its prose: a report mixes the problem with
        # background, proposals and thanks, which only a person can sort (the link has it all).
        parts.append(f"**{ctx.title}**" + self.cite(_Said("", "issue", ctx.author)))
        items: list[str] = []
        for label, kinds in (("Error", ("error",)), ("Expected", ("expected",)), ("Actual", ("actual",))):
            items += [f"**{label}:** {self.quote(f, 260)}" for f in self.facts(*kinds)]
        steps = [f for f in self.facts("repro") if not _URL.fullmatch(f.text)]
        if steps:
            items.append(
                "**To reproduce:** " + "; ".join(clip(f.text, 120) for f in steps[:8]) + self.cite(steps[0])
            )
        if items:
            parts.append("\n".join(f"- {item}" for item in items))
        link = f"[the full report]({ctx.url})" if ctx.url else "the full report"
        parts.append(f"{TODO}: state the problem in your own words; {link} has the details.")
        return SectionContent(text="\n\n".join(parts), sources=["issue"])

    def components_text(self, section: Section) -> SectionContent:
        return SectionContent(
            text=f"{TODO}: confirm the change to each component below (named in the thread), and add the "
            "ones it does not name."
        )

    def rollback(self, section: Section) -> SectionContent:
        return self.todo("say how to revert if things go wrong: what would trigger it, and the steps.")

    def root_cause(self, section: Section) -> SectionContent:
        found = [s for s in self.sentences(_CAUSE, 8) if not self.decided(s.text)][:5]
        return self.todo(
            "explain why it happens, and confirm or correct the cause the thread gives.",
            [self.quote(s) for s in found],
        )

    def goals(self, section: Section) -> SectionContent:
        # What a maintainer agreed to (not when it ships: that is phasing), the task list a thread
        # keeps, and the team's notes. A proposal nobody agreed to is not a goal, even as evidence.
        agreed = self.goal_facts()
        tasks = [f for f in self.facts("proposal") if f.text in self.tasks]
        evidence = [f"Agreed: {self.quote(f)}" for f in agreed]
        evidence += [f"Asked for, not agreed: {self.quote(f)}" for f in tasks]
        evidence += [f"From the team's notes: {note}" for note in self.notes()]
        return self.todo("state the goals that were agreed, each with a check that shows it met.", evidence)

    def non_goals(self, section: Section) -> SectionContent:
        found = self.facts("decision", status="declined") + self.facts("decision", status="deferred")
        if not found:
            return self.todo("say what this design explicitly does not do.")
        items = [f"{'Declined' if f.status == 'declined' else 'Deferred'}: {self.quote(f)}" for f in found]
        return SectionContent(items=items, sources=sorted({f.source for f in found}))

    def approach(self, section: Section) -> SectionContent:
        evidence = [f"From the team's notes: {note}" for note in self.notes()]
        in_goals = self.goal_facts() if self.has_goals else []  # quoted there already
        evidence += [
            f"Agreed: {self.quote(f)}" for f in self.facts("decision", status="agreed") if f not in in_goals
        ]
        evidence += [f"Proposed: {self.quote(f)}" for f in self.open_proposals()[:6]]
        evidence += [f"Workaround, not the fix: {self.quote(f)}" for f in self.facts("workaround")[:4]]
        return self.todo(_asks(section, "state the chosen approach: what changes, and how."), evidence)

    def risks(self, section: Section) -> SectionContent:
        found = [s for s in self.sentences(_RISK, 9, comments_only=True) if not self.decided(s.text)][:6]
        if not found:
            return self.todo("name what could go wrong, and how each risk is mitigated.")
        items = [f"**Risk:** {self.quote(s)}\n- **Mitigation:** {TODO}" for s in found]
        return SectionContent(
            text=f"{TODO}: confirm these risks from the thread and add your own.",
            items=items,
            sources=sorted({s.source for s in found}),
        )

    def phasing(self, section: Section) -> SectionContent:
        # Only the sentence that says when: the rest of an agreement is the approach's.
        planned = [
            replace(f, text=next(s for s in sentences(f.text) if _WHEN.search(s)))
            for f in self.facts("decision", status="agreed")
            if any(_WHEN.search(s) for s in sentences(f.text))
        ]
        evidence = [f"Agreed: {self.quote(f)}" for f in planned]
        evidence += [f"Deferred: {self.quote(f)}" for f in self.facts("decision", status="deferred")]
        return self.todo("order the work in phases.", evidence)

    def alternatives(self, section: Section) -> SectionContent:
        evidence = [f"Declined: {self.quote(f)}" for f in self.facts("decision", status="declined")]
        evidence += [f"Proposed: {self.quote(f)}" for f in self.facts("proposal")[:6]]
        evidence += [f"Workaround: {self.quote(f)}" for f in self.facts("workaround")[:4]]
        return self.todo("say which alternatives were weighed and why they were not chosen.", evidence)

    def questions(self, section: Section) -> SectionContent:
        asked = [
            _Said(s, source, author, role)
            for source, author, role, text in self.speakers[1:]
            for s in prose_sentences(text)
            if s.endswith("?") and len(s) > 25
        ][:6]
        evidence = [f"Asked: {self.quote(s)}" for s in asked]
        evidence += [f"Deferred: {self.quote(f)}" for f in self.facts("decision", status="deferred")]
        return self.todo(_asks(section, "list the questions this design leaves open."), evidence)

    def references(self, section: Section) -> SectionContent:
        ctx = self.ctx
        items = [f"[{ctx.reference}]({ctx.url}) (this issue)"] if ctx.url else []
        seen = {ctx.url.rstrip("/")}
        for _, _, _, raw in self.speakers:
            text = _NOT_PROSE.sub(" ", raw)  # links in logs and code are not references
            for url in _URL.findall(text):
                if url.rstrip("/") not in seen:
                    seen.add(url.rstrip("/"))
                    items.append(f"<{url}>")
            for ref in _REF.findall(_URL.sub(" ", text)):
                number = ref.rsplit("#", 1)[1]
                # "#8664" is the same as ".../pull/8664" or ".../issues/8664" listed already.
                if ref not in seen and not any(
                    re.search(rf"/(?:issues|pull|merge_requests)/{number}$", u) for u in seen
                ):
                    seen.add(ref)
                    items.append(f"`{ref}`")
        for link in ctx.links:
            if link.rstrip("/") not in seen:
                seen.add(link.rstrip("/"))
                items.append(f"<{link}>")
        if not items:
            return self.todo("list the code, documents and issues this design relies on.")
        return SectionContent(items=items[:40], sources=["issue"])

    def status(self, section: Section) -> SectionContent:
        return SectionContent(text=f"Proposed (drafted from {self.ctx.reference}).", sources=["issue"])

    def api(self, section: Section) -> SectionContent:
        evidence = [f"Proposed: {self.quote(f)}" for f in self.facts("proposal") if _API.search(f.text)]
        return self.todo("list the API changes, or say why there are none.", evidence[:5])

    # -- tables and blocks ----------------------------------------------------------------------------
    def table(self, section: Section, content: SectionContent) -> None:
        columns = section.tables[0].columns
        rows = [_fit(row, len(columns)) for row in self.components()]
        content.rows = rows or [[TODO] * len(columns)]
        if not rows:
            content.text = f"{TODO}: list the components that change; the thread names none as changing."

    def components(self) -> list[list[str]]:
        """Files, modules, packages and classes that someone said would change: one row each.

        When a maintainer agreed to a change, only the paragraphs that hold such an agreement are
        read: the thread's other options name components that the chosen fix leaves alone.
        """
        agreed = [f for f in self.facts("decision", status="agreed") if f.role == MAINTAINER]
        proposed = self.facts("proposal")
        candidates: list[tuple[_Said, bool]] = []
        for source, author, role, text in self.speakers:
            for paragraph in prose_paragraphs(text):
                flat = " ".join(paragraph.split())
                plain = _plain(flat)
                chosen = any(f.source == source and f.text.split(": ", 1)[-1][:60] in plain for f in agreed)
                asked = any(f.source == source and f.text.split(": ", 1)[-1][:60] in plain for f in proposed)
                if chosen or asked:  # a change someone agreed to or proposed, not any sentence
                    candidates += [(_Said(s, source, author, role), chosen) for s in sentences(flat)]
        if any(chosen for _, chosen in candidates):
            candidates = [(said, True) for said, chosen in candidates if chosen]
        rows: list[list[str]] = []
        seen: set[str] = set()
        for said, _ in candidates:
            if not _CHANGE.search(said.text):
                continue
            for name in (_component(m) for m in _CODE.findall(said.text)):
                if name and name not in seen and len(rows) < 8:
                    seen.add(name)
                    kind = _change_type(said.text, name)
                    rows.append([f"`{name}`", kind, self.quote(said, 200)])
        return rows

    def blocks(self, section: Section, content: SectionContent) -> None:
        content.blocks = [
            f"{TODO}: {(spec.label or section.title).lower()}"
            if spec.info != "json"
            else '{"TODO": "define this payload"}'
            for spec in section.fences
        ]


def _asks(section: Section, default: str) -> str:
    """What the TODO asks for: the template's own guidance for the section when it has some (so an
    RFC's guide-level and reference-level sections ask different things), else ``default``."""
    return section.guidance[0] if section.guidance else default


def _change_type(sentence: str, name: str) -> str:
    """``New`` when the sentence introduces the component itself ("add a new `X`"), ``Remove``
    when it removes it, else ``Modify`` ("add a field to `X`" modifies X)."""
    before = sentence.split(f"`{name}", 1)[0][-40:].lower()
    if re.search(r"\b(?:new|add(?:s|ing)? an?|introduc\w* an?|creat\w* an?)\s*$", before):
        return "New"
    if re.search(r"\b(?:remove|drop|delete|deprecate)\w*(?: the)?\s*$", before):
        return "Remove"
    return "Modify"


def _plain(markdown: str) -> str:
    """Markdown as the facts hold it: no emphasis or code marks."""
    return re.sub(r"[`*_]", "", markdown)


def _fit(row: list[str], width: int) -> list[str]:
    return row[:width] + [TODO] * (width - len(row))


_CLASS = re.compile(r"^[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+$")  # CamelCase, two parts at least


def _component(code: str) -> str | None:
    """The component a code span names, or None for constants, exceptions and plain words.

    ``src/pool.go`` and ``@scope/pkg`` stay; ``PoolEntry.recycle()`` is ``PoolEntry``;
    ``STATE_IN_USE``, ``SQLException``, ``Running`` and ``namespace/name`` are not components.
    """
    code = code.strip()
    if re.fullmatch(r"(?:[\w.-]+/)+[\w-]+\.[A-Za-z0-9]{1,6}", code) or re.fullmatch(
        r"@[\w.-]+/[\w.-]+", code
    ):
        return code
    head = re.split(r"[.(#:]", code, maxsplit=1)[0]
    if _CLASS.match(head) and not head.endswith(("Exception", "Error")):
        return head
    return None


def _lead(paragraphs: list[str], budget: int) -> list[str]:
    """The first paragraphs of a body, up to about ``budget`` characters, the last one clipped."""
    taken: list[str] = []
    for index, paragraph in enumerate(paragraphs):
        if budget <= 80:
            break
        if index and paragraph.endswith(":"):
            continue  # it introduces a log or a list that is not quoted here
        if index and (len(paragraph) < 30 or _URL.fullmatch(paragraph)):
            continue  # a one-word answer to a template's question, or a bare link
        taken.append(clip(paragraph, min(budget, 700)))
        budget -= len(taken[-1])
    return taken


def _paragraphs(text: str) -> list[str]:
    """The body's own paragraphs as plain text (no code, no quotes), joined back from sentences."""
    from drafter.template import mdparse

    found: list[str] = []
    for token, inline in mdparse.paragraphs(mdparse.parse(text)):
        plain = mdparse.plain_text(inline).strip()
        if plain and token.level == 0:
            found.append(" ".join(plain.split()))
    return found


_KINDS: list[tuple[tuple[str, ...], Callable[[_Builder, Section], SectionContent]]] = [
    (("root cause",), _Builder.root_cause),
    (("non goal", "out of scope"), _Builder.non_goals),
    (("goal",), _Builder.goals),
    (("context", "background", "summary"), _Builder.context),
    (("the issue", "problem", "motivation"), _Builder.issue),
    (("api",), _Builder.api),
    (("approach", "proposal", "decision", "guide level", "reference level", "solution"), _Builder.approach),
    (("future",), _Builder.questions),
    (("phas", "implementation"), _Builder.phasing),
    (("component",), _Builder.components_text),
    (("risk", "drawback", "consequence"), _Builder.risks),
    (("rollback", "roll back", "revert"), _Builder.rollback),
    (("alternative", "rationale"), _Builder.alternatives),
    (("unresolved", "open question"), _Builder.questions),
    (("reference", "prior art", "links"), _Builder.references),
    (("status",), _Builder.status),
]


def draft_offline(outline: Outline, ctx: IssueContext) -> dict[str, SectionContent]:
    """Draft every section of ``outline`` from ``ctx`` without a model."""
    builder = _Builder(ctx)
    builder.has_goals = any("goal" in s.key and "non goal" not in s.key for s in drafted_sections(outline))
    builder.quotes_issue = any(
        any(w in s.key for w in ("the issue", "problem", "motivation")) for s in drafted_sections(outline)
    )
    contents: dict[str, SectionContent] = {}
    for section in drafted_sections(outline):
        key = section.key
        build = next((fn for words, fn in _KINDS if any(w in key for w in words)), None)
        builder.cited = set()
        content = build(builder, section) if build else todo_content(section)
        content.sources = sorted(builder.cited | set(content.sources))
        if section.tables:
            builder.table(section, content)
        if section.fences:
            builder.blocks(section, content)
        contents[section_id(section)] = content
    return contents
