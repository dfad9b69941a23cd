"""``drafter redraft``: one section regenerated, every other byte kept, human edits never dropped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from drafter.cli import app
from drafter.document.merge import BASE_MARK, OURS_MARK, THEIRS_MARK
from drafter.document.provenance import read_draft, read_state, state_path, was_edited
from drafter.document.regions import locate
from drafter.drafting.chains import plan
from drafter.errors import InputError
from drafter.model.choice import resolve_model
from drafter.model.handle import ModelHandle
from drafter.revise.redraft import RedraftOptions, redraft
from drafter.sources.context import Comment, IssueContext
from drafter.template.outline import load_outline
from tests.support.chat import RecordingFake, chain_answer, reply

runner = CliRunner()
URL = "https://github.com/acme/exports/issues/7"
GOALS = "2.1 Goals"


def issue(*comments: Comment) -> IssueContext:
    return IssueContext(
        title="Export job times out",
        body="The export job times out on large accounts.\n\n- [ ] exports finish within 10 minutes\n",
        tracker="github",
        url=URL,
        number="7",
        repo="acme/exports",
        comments=comments,
    )


FIRST = Comment(
    "101", "bob", "Batching the cursor would fix the timeout.", f"{URL}#issuecomment-101", "2024-01-02"
)
NEW = Comment(
    "102", "carol", "- [ ] exports never hold a transaction open", f"{URL}#issuecomment-102", "2099-01-01"
)


def cli(*args: str | Path) -> Any:
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def drafted(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / ".git").mkdir()  # a repository: the draft's state records SOURCE from its root
    source = tmp_path / "issue.json"
    source.write_text(json.dumps(issue(FIRST).to_dict()), encoding="utf-8")
    out = tmp_path / "docs" / "draft.md"
    out.parent.mkdir()
    result = cli("from-issue", source, "--model", "offline", "--author", "Ada", "--out", out)
    assert result.exit_code == 0, result.stderr
    # the thread moves on: a new comment adds a goal
    source.write_text(json.dumps(issue(FIRST, NEW).to_dict()), encoding="utf-8")
    return out, source


def regions(text: str) -> dict[str, str]:
    return {
        r.section.heading: r.text for r in locate(text, load_outline("technical-design")).regions.values()
    }


def outside(text: str, heading: str) -> str:
    """The draft without the named section's body and without the trailing blocks."""
    located = locate(text, load_outline("technical-design"))
    region = next(r for r in located.regions.values() if r.section.heading == heading)
    end = located.sources_line if located.sources_line is not None else located.body_end
    return "".join(located.lines[: region.start] + located.lines[region.end : end])


def test_unedited_section_is_regenerated_and_human_edits_elsewhere_survive(
    drafted: tuple[Path, Path],
) -> None:
    path, _ = drafted
    text = path.read_text(encoding="utf-8")
    edited = text.replace(
        "TODO(drafter): describe the current system in your own words.",
        "We batch the cursor.  \r\nTrailing  ",
    )
    assert edited != text
    path.write_bytes(edited.encode("utf-8"))
    result = cli("redraft", path, "--section", "Goals", "--model", "offline")
    assert result.exit_code == 0, result.stderr
    assert "section '2.1 Goals' regenerated" in result.stderr
    after = path.read_bytes().decode("utf-8")
    assert outside(after, GOALS) == outside(edited, GOALS)  # byte for byte, odd line ends included
    assert "exports never hold a transaction open" in regions(after)[GOALS]
    assert "[Comment 102 by @carol]" in after  # the Sources list names the new comment
    assert was_edited(after) is True  # still a human-edited file: from-issue will not overwrite it
    assert not list(path.parent.glob("*.drafter-backup"))
    prov = read_draft(after, path).provenance
    assert prov is not None and "comment:102" in prov.section_sources["solution-overview/goals"]


def test_edited_target_section_yields_conflict_markers_and_exit_1(drafted: tuple[Path, Path]) -> None:
    path, _ = drafted
    text = path.read_text(encoding="utf-8")
    goals = regions(text)[GOALS]
    mine = goals + "\n- Exports must be resumable (human)"  # where the new draft adds its line too
    path.write_text(text.replace(goals, mine), encoding="utf-8")
    before = path.read_text(encoding="utf-8")
    result = cli("redraft", path, "--section", "2.1", "--model", "offline")
    assert result.exit_code == 1, result.stderr
    assert "conflict" in result.stderr and "'2.1 Goals'" in result.stderr and "lines" in result.stderr
    after = path.read_text(encoding="utf-8")
    merged = regions(after)[GOALS]
    assert OURS_MARK in merged and BASE_MARK in merged and THEIRS_MARK in merged
    assert "- Exports must be resumable (human)" in merged  # never dropped
    assert "exports never hold a transaction open" in merged
    assert outside(after, GOALS) == outside(before, GOALS)
    again = cli("redraft", path, "--section", "2.1", "--model", "offline")
    assert again.exit_code == 2 and "conflict markers" in again.stderr


def test_keep_edits_leaves_an_edited_section_untouched(drafted: tuple[Path, Path]) -> None:
    path, _ = drafted
    text = path.read_text(encoding="utf-8")
    goals = regions(text)[GOALS]
    path.write_text(text.replace(goals, goals + "\n- Human goal"), encoding="utf-8")
    before = path.read_bytes()
    result = cli("redraft", path, "--section", "Goals", "--model", "offline", "--keep-edits")
    assert result.exit_code == 0, result.stderr
    assert "kept as it is" in result.stderr
    assert path.read_bytes() == before


def test_edits_that_do_not_overlap_merge_cleanly(drafted: tuple[Path, Path]) -> None:
    path, _ = drafted
    text = path.read_text(encoding="utf-8")
    goals = regions(text)[GOALS]
    path.write_text(text.replace(goals, "Intro line by a human.\n\n" + goals), encoding="utf-8")
    result = cli("redraft", path, "--section", "Goals", "--model", "offline")
    assert result.exit_code == 0, result.stderr
    merged = regions(path.read_text(encoding="utf-8"))[GOALS]
    assert merged.startswith("Intro line by a human.") and "transaction open" in merged
    assert OURS_MARK not in merged


def test_bad_section_and_missing_provenance_are_input_errors(
    drafted: tuple[Path, Path], tmp_path: Path
) -> None:
    path, _ = drafted
    bad = cli("redraft", path, "--section", "Nope", "--model", "offline")
    assert bad.exit_code == 2 and bad.stderr.startswith("error: no section 'Nope'")
    bad_parent = cli("redraft", path, "--section", "9", "--model", "offline")
    assert bad_parent.exit_code == 2 and bad_parent.stderr.startswith("error: no section '9'")
    plain = tmp_path / "plain.md"
    plain.write_text("# Hi\n", encoding="utf-8")
    none = cli("redraft", plain, "--section", "Goals", "--model", "offline")
    assert none.exit_code == 2 and "no drafter marker" in none.stderr


def test_redraft_with_a_fake_chat_model_runs_only_the_owning_chain(drafted: tuple[Path, Path]) -> None:
    path, source = drafted
    outline = load_outline("technical-design")
    spec = next(s for s in plan(outline) if s.name == "risks")
    answer = chain_answer(
        spec, rollback_strategy={"text": "Switch the flag off to roll back.", "sources": ["comment:101"]}
    )
    chat = RecordingFake(messages=iter([reply(answer)]))
    options = RedraftOptions(
        section="Rollback Strategy",
        model=resolve_model("openai:fake", {"OPENAI_API_KEY": "sk"}),
        handle=ModelHandle(chat, "fake"),
    )
    before = path.read_text(encoding="utf-8")

    def load(spec_text: str) -> IssueContext:
        assert spec_text == "issue.json"  # from the repository root, never climbing out
        return IssueContext.from_dict(json.loads(source.read_text(encoding="utf-8")))

    result = redraft(path, options, load)
    assert result.status == "regenerated" and result.usage["calls"] == 1
    assert len(chat.seen) == 1
    after = path.read_text(encoding="utf-8")
    rollback = regions(after)["4.3 Rollback Strategy"]
    assert rollback.startswith(
        "**Trigger:** Trigger for rollback_strategy\n\nSwitch the flag off to roll back.\n"
    )
    assert outside(after, "4.3 Rollback Strategy") == outside(before, "4.3 Rollback Strategy")
    with pytest.raises(InputError):
        redraft(path, RedraftOptions(section="Missing", model=options.model), load)


def test_redraft_keeps_the_notes_the_draft_was_made_with(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    source = tmp_path / "issue.json"
    source.write_text(json.dumps(issue(FIRST).to_dict()), encoding="utf-8")
    out = tmp_path / "draft.md"
    made = cli("from-issue", source, "--model", "offline", "--notes", "Keep the v1 export API", "--out", out)
    assert made.exit_code == 0, made.stderr
    hidden = out.read_text(encoding="utf-8").split("<!-- drafter {", 1)[1]
    assert "Keep the v1 export API" not in hidden  # the record of the notes is in the state, not the draft
    provenance = read_state(state_path(out))
    assert provenance is not None and provenance.notes == ["Keep the v1 export API"]

    outline = load_outline("technical-design")
    spec = next(s for s in plan(outline) if s.name == "risks")
    chat = RecordingFake(messages=iter([reply(chain_answer(spec))]))
    options = RedraftOptions(
        section="Rollback Strategy",
        model=resolve_model("openai:fake", {"OPENAI_API_KEY": "sk"}),
        handle=ModelHandle(chat, "fake"),
    )
    # The loader brings no notes (none given to redraft); the recorded ones still reach the model.
    redraft(out, options, lambda _: IssueContext.from_dict(json.loads(source.read_text(encoding="utf-8"))))
    prompt = "\n".join(str(m.content) for m in chat.seen[0])
    assert "Keep the v1 export API" in prompt
    after = read_state(state_path(out))
    assert after is not None and after.notes == ["Keep the v1 export API"]
