"""``redraft --section N`` of a section whose body is only sub-headings: every subsection, one call
per owning chain, each merged on its own, and nothing outside the section touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drafter.document.merge import BASE_MARK, OURS_MARK, SPLIT_MARK, THEIRS_MARK
from drafter.drafting.chains import plan
from drafter.errors import InputError
from drafter.model.choice import resolve_model
from drafter.model.handle import ModelHandle
from drafter.revise.redraft import RedraftOptions, find_section, redraft, sections_for
from drafter.sources.context import IssueContext
from drafter.template.outline import load_outline
from tests.revise.test_redraft import cli, drafted, regions
from tests.support.chat import RecordingFake, chain_answer, reply

__all__ = ["drafted"]  # the fixture, shared with the single-section tests

STRATEGY = ("4.1 Phasing", "4.2 Risks & Mitigations", "4.3 Rollback Strategy")


def outside_section_4(text: str) -> str:
    """The draft from its start to section 4's first subsection, and from section 5 to the Sources."""
    start = text.index("### 4.1 Phasing")
    end = text.index("## 5. References")
    return text[:start] + text[end : text.index("<!-- drafter:sources -->")]


def test_sections_for_a_parent_are_its_drafted_subsections_in_order() -> None:
    outline = load_outline("technical-design")
    assert [s.heading for s in sections_for(outline, "4")] == list(STRATEGY)
    assert [s.heading for s in sections_for(outline, "Implementation Strategy")] == list(STRATEGY)
    assert [s.heading for s in sections_for(outline, "4.2")] == ["4.2 Risks & Mitigations"]
    with pytest.raises(InputError, match="has no body of its own"):
        find_section(outline, "4")  # the one-section lookup still wants a body
    with pytest.raises(InputError, match="no section '9'"):
        sections_for(outline, "9")


def test_parent_section_redrafts_every_subsection_with_one_call_per_owning_chain(
    drafted: tuple[Path, Path],
) -> None:
    path, source = drafted
    text = path.read_text(encoding="utf-8")
    # A human edit elsewhere must survive byte for byte.
    edited = text.replace("### 1.1 Context\n", "### 1.1 Context\n\nOur own words, CRLF kept.\r\n")
    path.write_bytes(edited.encode("utf-8"))
    outline = load_outline("technical-design")
    owners = [spec for spec in plan(outline) if {"phasing", "rollback_strategy"} & spec.sections.keys()]
    assert [spec.name for spec in owners] == ["risks"]  # one chain owns all of section 4
    chat = RecordingFake(messages=iter([reply(chain_answer(spec)) for spec in owners]))
    options = RedraftOptions(
        section="4",
        model=resolve_model("openai:fake", {"OPENAI_API_KEY": "sk"}),
        handle=ModelHandle(chat, "fake"),
    )

    def load(_: str) -> IssueContext:
        return IssueContext.from_dict(json.loads(source.read_text(encoding="utf-8")))

    result = redraft(path, options, load)
    assert len(chat.seen) == 1 and result.usage["calls"] == 1  # not one call per subsection
    assert result.section == "4. Implementation Strategy" and result.status == "regenerated"
    assert [(p.section, p.status) for p in result.parts] == [(h, "regenerated") for h in STRATEGY]
    assert result.message().startswith(
        f"{path}: section '4. Implementation Strategy': '4.1 Phasing' regenerated;"
    )
    after = path.read_bytes().decode("utf-8")
    found = regions(after)
    assert found["4.1 Phasing"].startswith("Drafted content for phasing.")
    assert "First risk about risks_and_mitigations" in found["4.2 Risks & Mitigations"]
    assert found["4.3 Rollback Strategy"].startswith("**Trigger:** Trigger for rollback_strategy")
    assert outside_section_4(after) == outside_section_4(edited)


def test_parent_section_merges_each_subsection_and_reports_the_conflict(drafted: tuple[Path, Path]) -> None:
    path, _ = drafted  # the thread has a new comment that adds a goal since the draft was made
    text = path.read_text(encoding="utf-8")
    found = regions(text)
    goals, non_goals = found["2.1 Goals"], found["2.2 Non-Goals"]
    mine = text.replace(goals, goals + "\n- Exports must be resumable (human)")  # where the new goal goes
    mine = mine.replace(non_goals, "We keep the v1 API (human).\n\n" + non_goals)  # merges cleanly
    path.write_text(mine, encoding="utf-8")

    result = cli("redraft", path, "--section", "2", "--model", "offline")
    assert result.exit_code == 1, result.stderr
    message = next(line for line in result.stderr.splitlines() if "Solution Overview" in line)
    assert "'2.1 Goals' has 1 conflict(s) with your edits at lines" in message
    assert "'2.2 Non-Goals' merged with your edits (no conflicts)" in message
    assert "'2.3 Proposed Approach' " in message
    assert message.endswith("resolve the <<<<<<< / >>>>>>> markers by hand")
    after_text = path.read_text(encoding="utf-8")
    after = regions(after_text)
    assert after["2.2 Non-Goals"].startswith("We keep the v1 API (human).")
    assert OURS_MARK in after_text and THEIRS_MARK in after_text
    assert "- Exports must be resumable (human)" in after_text  # never dropped
    assert "exports never hold a transaction open" in after_text
    assert after_text[: after_text.index("## 2. Solution")] == mine[: mine.index("## 2. Solution")]
    again = cli("redraft", path, "--section", "2", "--model", "offline")  # markers left: refused
    assert again.exit_code == 2 and "still has conflict markers" in again.stderr


def test_parent_section_offline_unchanged_says_so_per_subsection(drafted: tuple[Path, Path]) -> None:
    path, source = drafted
    thread = json.loads(source.read_text(encoding="utf-8"))
    thread["comments"] = thread["comments"][:1]  # the thread as it was drafted
    source.write_text(json.dumps(thread), encoding="utf-8")
    before = path.read_bytes()
    result = cli("redraft", path, "--section", "Implementation Strategy", "--model", "offline")
    assert result.exit_code == 0, result.stderr
    assert "'4.2 Risks & Mitigations' unchanged (the new draft is the same)" in result.stderr
    assert path.read_bytes() == before


def test_a_removed_optional_subsection_is_left_out_and_a_required_one_refused(
    drafted: tuple[Path, Path],
) -> None:
    path, _ = drafted
    text = path.read_text(encoding="utf-8")
    start = text.index("### 1.3 Root Cause Analysis")
    without_optional = text[:start] + text[text.index("---", start) :]
    path.write_text(without_optional, encoding="utf-8")
    result = cli("redraft", path, "--section", "1", "--model", "offline")
    assert result.exit_code == 0, result.stderr
    assert "optional section '1.3 Root Cause Analysis' is not in draft.md; left out" in result.stderr
    assert "### 1.3" not in path.read_text(encoding="utf-8")  # not brought back

    without_required = path.read_text(encoding="utf-8").replace("### 1.2 The Issue\n", "")
    path.write_text(without_required, encoding="utf-8")
    refused = cli("redraft", path, "--section", "1", "--model", "offline")
    assert refused.exit_code == 2
    assert refused.stderr.startswith("error: section '1.2 The Issue' is not in")
    assert path.read_text(encoding="utf-8") == without_required  # nothing written


def test_parent_section_with_conflict_markers_left_is_refused(drafted: tuple[Path, Path]) -> None:
    path, _ = drafted
    text = path.read_text(encoding="utf-8")
    phasing = regions(text)["4.1 Phasing"]
    # As a merge leaves it: the "=======" line makes markdown read the lines above as a heading.
    stuck = text.replace(
        phasing, f"{OURS_MARK}\nmine\n{BASE_MARK}\nbase\n{SPLIT_MARK}\ntheirs\n{THEIRS_MARK}"
    )
    path.write_text(stuck, encoding="utf-8")
    result = cli("redraft", path, "--section", "4", "--model", "offline")
    assert result.exit_code == 2 and "still has conflict markers" in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1
    assert path.read_text(encoding="utf-8") == stuck
