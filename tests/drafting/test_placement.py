"""Does the offline drafter put what it quotes in the right section? Measured on a labelled set.

Two labelled sets give the technical-design sections that sentences and items of corpus threads
belong in (or none): ``placement.json`` (96 items, 13 threads), written while the drafter was
built, and ``placement-heldout.json`` (91 items, the 12 other threads), written afterwards by an
independent labeller from the threads alone, and never used to tune the drafter. A *placement* is
a labelled item that the offline draft quotes in a section. Precision is the share of placements
in an acceptable section; recall is the share of items that belong somewhere and are placed in an
acceptable section at least once. The drafter may leave an item out (recall is secondary) but must
not misplace it: the gate is on the precision of both sets together.

Run ``pytest tests/drafting/test_placement.py -s`` to see the figures and every misplacement.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest

from drafter.document.content import section_id
from drafter.document.regions import locate
from drafter.model.choice import resolve_model
from drafter.pipeline import DraftOptions, draft
from drafter.sources import SourceSettings, load_source
from drafter.template.outline import load_outline
from tests.support.paths import ROOT

SETS = {
    name: json.loads((ROOT / "tests" / "fixtures" / "labels" / f"{name}.json").read_text(encoding="utf-8"))
    for name in ("placement", "placement-heldout")
}
MIN_PRECISION = 0.9
# The technical-design template's sections, by the short names the labels use.
NAMES = {
    "problem-statement/context": "context",
    "problem-statement/the-issue": "the-issue",
    "problem-statement/root-cause-analysis": "root-cause",
    "solution-overview/goals": "goals",
    "solution-overview/non-goals": "non-goals",
    "solution-overview/proposed-approach": "approach",
    "technical-design/architecture-workflow-changes": "architecture",
    "technical-design/component-changes": "components",
    "technical-design/data-models-schemas": "data-models",
    "technical-design/api-changes": "api",
    "implementation-strategy/phasing": "phasing",
    "implementation-strategy/risks-and-mitigations": "risks",
    "implementation-strategy/rollback-strategy": "rollback",
    "references": "references",
}


def _norm(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
    return " ".join(re.sub(r"[`*_>]|\\(?=[^\s])", "", text).lower().split())


@cache
def _sections(issue: str) -> dict[str, str]:
    ctx = load_source(str(ROOT / "tests" / "fixtures" / "corpus" / f"{issue}.json"), SourceSettings())
    outline = load_outline("technical-design")
    text = draft(ctx, outline, DraftOptions(model=resolve_model("offline", {}))).text
    regions = {sid: r for sid, r in locate(text, outline).regions.items() if sid in NAMES}
    assert set(NAMES) == {section_id(r.section) for r in regions.values()}
    return {NAMES[sid]: _norm(region.text) for sid, region in regions.items()}


def measure(items: list[dict[str, Any]]) -> tuple[int, int, int, int, list[str]]:
    """``(placements, right, belonging, placed_well, misplacements)`` over labelled ``items``."""
    placements = right = placed_well = belonging = 0
    wrong: list[str] = []
    for item in items:
        wanted = set(item["sections"])
        needle = _norm(item["text"])[:80]
        found = [name for name, body in _sections(item["issue"]).items() if needle in body]
        placements += len(found)
        right += sum(1 for name in found if name in wanted)
        wrong += [
            f"{item['issue']}: '{item['text'][:60]}' in {name}, not {sorted(wanted)}"
            for name in found
            if name not in wanted
        ]
        if wanted:
            belonging += 1
            placed_well += any(name in wanted for name in found)
    return placements, right, belonging, placed_well, wrong


@pytest.mark.parametrize("name", sorted(SETS))
def test_the_labelled_sets_are_big_enough(name: str) -> None:
    labels = SETS[name]
    items = labels["items"]
    assert len(items) >= 80 and len({item["issue"] for item in items}) >= 12
    assert all(set(item["sections"]) <= set(labels["sections"]) for item in items)


def test_the_two_sets_label_different_threads() -> None:
    threads = [{item["issue"] for item in labels["items"]} for labels in SETS.values()]
    assert not threads[0] & threads[1]


def test_offline_placement_precision() -> None:
    totals = [0, 0]
    for name, labels in sorted(SETS.items()):
        placements, right, belonging, placed_well, wrong = measure(labels["items"])
        totals[0] += placements
        totals[1] += right
        print(
            f"\n{name}: precision {right / max(placements, 1):.3f} ({right}/{placements} placements), "
            f"recall {placed_well / max(belonging, 1):.3f} ({placed_well}/{belonging} items)"
        )
        for line in wrong:
            print("  misplaced:", line)
    precision = totals[1] / max(totals[0], 1)
    print(f"both sets: precision {precision:.3f} ({totals[1]}/{totals[0]})")
    assert precision >= MIN_PRECISION
