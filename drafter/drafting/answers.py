"""What a model answers for a chain's sections, and how an answer becomes section content.

Each section of a chain is one object in the answer. Its keys come in the order a careful writer
works: first ``sources`` (the input ids it rests on) and ``evidence`` (a short quote from them),
then the ``text`` and the typed parts. Structured output writes keys in schema order, so putting
the citations first makes the model pick its evidence before it writes, instead of decorating
finished prose with ids afterwards.

Three kinds of section get a richer shape, recognised by title in any template:

* risks: each item has the risk, its likelihood and impact, a mitigation and its sources;
* goals: each goal has a check that would show it met;
* rollback: a trigger and the steps.

The renderer still decides the markdown: these are turned into the list items the template asks
for (``**Risk:** ...`` with a nested ``**Mitigation:**``), so a model cannot change the shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from drafter.document.content import TODO, SectionContent
from drafter.drafting.grounding import ground
from drafter.template.outline import Section, title_key

Level = Literal["low", "medium", "high"]


# No docstrings on the answer models: pydantic would send them as descriptions with every call.
class RiskItem(BaseModel):
    # One risk: what could go wrong, how likely and how bad, what is done about it.
    sources: list[str]
    risk: str
    likelihood: Level
    impact: Level
    mitigation: str


class GoalItem(BaseModel):
    # One goal and the check that shows it met.
    sources: list[str]
    goal: str
    check: str


def ident(text: str) -> str:
    """A JSON key for a heading: ``"2.1 Goals"`` -> ``goals``."""
    name = re.sub(r"[^a-z0-9]+", "_", title_key(text)).strip("_") or "section"
    return name if name[0].isalpha() else f"s_{name}"


def section_kind(section: Section) -> str:
    """``risks``, ``goals``, ``rollback`` or ``""``: which sections get a richer answer shape.

    Only sections the template writes as lists: a prose "Risks" paragraph stays prose.
    """
    key = title_key(section.title)
    if not section.list_expected:
        return ""
    if "risk" in key:
        return "risks"
    if "goal" in key and "non goal" not in key and "non goals" not in key:
        return "goals"
    if "rollback" in key or "roll back" in key:
        return "rollback"
    return ""


def section_model(key: str, section: Section) -> type[BaseModel]:
    """The pydantic model of one section's answer, citations first."""
    # Only what the field name does not say gets a description: the schema is sent with every
    # call, and the prompt already says what "text" and "sources" are.
    fields: dict[str, Any] = {
        "sources": (list[str], ...),
        "evidence": (str, ...),  # the prompt says what it is: a short quote from the sources
        "text": (str, ...),
    }
    kind = section_kind(section)
    if kind == "risks":
        fields["items"] = (list[RiskItem], ...)
    elif kind == "goals":
        fields["items"] = (list[GoalItem], ...)
    elif kind == "rollback":
        fields["trigger"] = (str, Field(description="what observed condition starts the rollback"))
        fields["steps"] = (list[str], Field(description="ordered steps, one per entry"))
    elif section.list_expected:
        fields["items"] = (list[str], Field(description="one idea per entry, no bullet characters"))
    if section.tables:
        # A column's key is its heading folded ("Change Type" -> change_type); only a heading the
        # key does not spell out needs a description.
        columns: dict[str, Any] = {
            ident(c): (str, ...)
            if ident(c).replace("_", " ") == c.lower().strip()
            else (str, Field(description=c))
            for c in section.tables[0].columns
        }
        row: Any = create_model(f"{key.title().replace('_', '')}Row", **columns)
        fields["rows"] = (list[row], ...)
    if section.fences:
        labels = ", ".join(f"{i + 1}: {f.label or f.info or 'block'}" for i, f in enumerate(section.fences))
        fields["blocks"] = (
            list[str],
            Field(
                description=f"Contents of the {len(section.fences)} code blocks, without fences ({labels})"
            ),
        )
    return create_model(f"{key.title().replace('_', '')}Section", **fields)


def section_shape(section: Section) -> str:
    """The JSON value expected for one section, compactly: ``{"sources": ["issue"], ...}``."""
    shape: dict[str, Any] = {"sources": ["issue"], "evidence": "quote", "text": "markdown"}
    kind = section_kind(section)
    if kind == "risks":
        shape["items"] = [
            {
                "sources": ["issue"],
                "risk": "...",
                "likelihood": "low|medium|high",
                "impact": "low|medium|high",
                "mitigation": "...",
            }
        ]
    elif kind == "goals":
        shape["items"] = [{"sources": ["issue"], "goal": "...", "check": "..."}]
    elif kind == "rollback":
        shape["trigger"] = "..."
        shape["steps"] = ["..."]
    elif section.list_expected:
        shape["items"] = ["..."]
    if section.tables:
        shape["rows"] = [{ident(c): c for c in section.tables[0].columns}]
    if section.fences:
        shape["blocks"] = [f.label or f.info or "block" for f in section.fences]
    return json.dumps(shape, ensure_ascii=False)


def answer_shape(sections: Mapping[str, Section]) -> str:
    """A compact example of a chain's JSON answer, one line per section.

    The full JSON schema goes to the server as ``response_format``; repeating it in the prompt
    would double the prompt's size, so the prompt shows the shape instead.
    """
    lines = [f"  {json.dumps(key)}: {section_shape(section)}" for key, section in sections.items()]
    return "{\n" + ",\n".join(lines) + "\n}"


def chain_model(name: str, sections: Mapping[str, Section]) -> type[BaseModel]:
    """The pydantic model of one chain's answer: one field per section."""
    # No per-section description: the prompt already maps every key to its heading and guidance.
    fields: dict[str, Any] = {key: (section_model(key, section), ...) for key, section in sections.items()}
    return create_model(f"{name.title()}Draft", **fields)


def _risk(item: Mapping[str, Any]) -> str:
    risk = str(item.get("risk") or "").strip() or TODO
    mitigation = str(item.get("mitigation") or "").strip() or f"{TODO}: how we handle it"
    odds = f"likelihood {item.get('likelihood') or '?'}, impact {item.get('impact') or '?'}"
    return f"**Risk:** {risk} ({odds})\n- **Mitigation:** {mitigation}"


def _goal(item: Mapping[str, Any]) -> str:
    goal = str(item.get("goal") or "").strip() or TODO
    check = str(item.get("check") or "").strip()
    return f"{goal}\n- **Check:** {check}" if check else goal


def to_content(section: Section, value: BaseModel, source: str) -> tuple[SectionContent, list[str]]:
    """One section's answer as :class:`SectionContent`, with invented references replaced.

    Returns the content and the references that were not found in ``source`` (the inputs).
    """
    data = value.model_dump()
    kind = section_kind(section)
    text = str(data.get("text", ""))
    sources = [str(s) for s in data.get("sources", [])]
    raw_items = data.get("items", [])
    if kind == "risks":
        items = [_risk(item) for item in raw_items]
    elif kind == "goals":
        items = [_goal(item) for item in raw_items]
    elif kind == "rollback":
        trigger = str(data.get("trigger") or "").strip()
        text = f"**Trigger:** {trigger}\n\n{text}".strip() if trigger else text
        items = [str(step) for step in data.get("steps", [])]
    else:
        items = [str(item) for item in raw_items]
    if kind in ("risks", "goals"):
        for item in raw_items:
            sources.extend(str(s) for s in item.get("sources", []) if str(s) not in sources)
    rows = [[str(cell) for cell in row.values()] for row in data.get("rows", [])]
    blocks = [str(b) for b in data.get("blocks", [])]
    texts = [text, *items, *blocks, *(c for r in rows for c in r)]
    fixed = [ground(t, source) for t in texts]
    replaced = [ref for _, refs in fixed for ref in refs]
    out = iter(t for t, _ in fixed)
    text = next(out)
    items = [next(out) for _ in items]
    blocks = [next(out) for _ in blocks]
    rows = [[next(out) for _ in row] for row in rows]
    return SectionContent(text=text, items=items, rows=rows, blocks=blocks, sources=sources), replaced
