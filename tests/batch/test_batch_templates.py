"""A batch names its drafts after their template when it is not the default, and never replaces
a draft of the same issue made from another template."""

from __future__ import annotations

from pathlib import Path

import pytest

from drafter.drafting.chains import plan
from drafter.template.outline import load_outline
from tests.support.batching import batch
from tests.support.chat import fake
from tests.support.issues import ISSUES


@pytest.fixture(autouse=True)
def no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No config file above the test's folder decides the default template."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()


def test_drafts_from_two_templates_coexist_and_rerun_unchanged(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    adr, design = load_outline("adr"), load_outline("technical-design")
    _, options = fake(adr)
    first, _ = batch(ISSUES[:2], adr, out, options)
    _, options = fake(design)
    second, _ = batch(ISSUES[:2], design, out, options)
    assert [i.status for i in first.items + second.items] == ["written"] * 4
    adr_paths = [Path(i.path or "") for i in first.items]
    assert all(p.name.endswith(".adr.md") and p.is_file() for p in adr_paths)
    assert [Path(i.path or "").name for i in second.items] == [
        p.name[: -len(".adr.md")] + ".md" for p in adr_paths
    ]

    chat, options = fake(adr)
    again, _ = batch(ISSUES[:2], adr, out, options)  # the skip still finds its own drafts
    assert [i.status for i in again.items] == ["unchanged", "unchanged"] and chat.calls == 0


def test_two_sources_of_one_issue_still_claim_one_file(tmp_path: Path) -> None:
    adr = load_outline("adr")
    chat, options = fake(adr)
    run, _ = batch([ISSUES[0], ISSUES[0].resolve()], adr, tmp_path / "out", options)
    statuses = sorted(i.status for i in run.items)
    assert statuses == ["failed", "written"]
    failed = next(i for i in run.items if i.status == "failed")
    assert "drafts to the same file" in (failed.reason or "")
    assert chat.calls == len(plan(adr))


def test_a_draft_from_another_template_under_the_plain_name_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    design = load_outline("technical-design")
    _, options = fake(design)
    first, _ = batch(ISSUES[:1], design, out, options)
    path = Path(first.items[0].path or "")
    before = path.read_bytes()
    adr = load_outline("adr")
    _, options = fake(adr)
    # The team's default changed since (the CLI passes Settings.default_template).
    run, _ = batch(ISSUES[:1], adr, out, options, default_template="adr")
    [item] = run.items
    assert item.path == str(path) and item.status == "failed"
    assert "is a draft from template 'technical-design'" in (item.reason or "")
    assert "--force" in (item.reason or "") and "\n" not in (item.reason or "")
    assert path.read_bytes() == before
    _, options = fake(adr)
    forced, _ = batch(ISSUES[:1], adr, out, options, force=True, default_template="adr")
    assert forced.items[0].status == "written"
