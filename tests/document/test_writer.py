"""File names, atomic writes, edit detection and the provenance block."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from drafter.config import Settings, resolve_settings
from drafter.document.provenance import (
    Provenance,
    attach,
    digest,
    read_draft,
    split_provenance,
    state_path,
    was_edited,
)
from drafter.document.writer import (
    check_target,
    default_template,
    draft_filename,
    inspect_target,
    slugify,
    write_atomic,
    write_draft,
)
from drafter.errors import EditedDraftError, WriteError
from drafter.sources.context import IssueContext


def provenance(**kw: str) -> Provenance:
    data = {
        "template": "adr",
        "template_hash": "t",
        "model": "offline",
        "prompts": {"system": "1-builtin"},
        "inputs": "abc",
    }
    data.update(kw)
    return Provenance(**data)  # type: ignore[arg-type]


def drafted(body: str = "# Doc\n\nText.\n", **kw: str) -> str:
    return attach(body, provenance(**kw))


# -- names -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ctx", "name"),
    [
        (
            IssueContext(
                title="Null PoolEntry connection causes NPE",
                body="",
                tracker="github",
                repo="brettwooldridge/HikariCP",
                number="664",
            ),
            "github-brettwooldridge-hikaricp-664-null-poolentry-connection-causes-npe.md",
        ),
        (IssueContext(title="../../etc/passwd", body=""), "local-etc-passwd.md"),
        (
            IssueContext(title="../../etc/passwd", body="", tracker="../..", repo="../../x", number="../1"),
            "x-1-etc-passwd.md",
        ),
        (IssueContext(title="", body=""), "local.md"),
        (
            IssueContext(
                title="Ünïcödé — ça marche ✓", body="", tracker="gitlab", repo="grp/sub", number="7"
            ),
            "gitlab-grp-sub-7-unicode-ca-marche.md",
        ),
        (
            IssueContext(title="x" * 300, body="", tracker="jira", number="PROJ-12"),
            "jira-proj-12-" + "x" * 40 + ".md",
        ),
        (
            IssueContext(
                title="C:\\Windows\\system32 /dev/null\x00", body="", tracker="github", repo="o/r", number="1"
            ),
            "github-o-r-1-c-windows-system32-dev-null.md",
        ),
    ],
)
def test_draft_filename_is_sanitised(ctx: IssueContext, name: str) -> None:
    assert draft_filename(ctx) == name


@pytest.mark.parametrize(
    "title", ["../../etc/passwd", "/abs/path", "..", "a/../../b", "\\\\server\\share", "~/.ssh/id"]
)
def test_draft_filename_never_escapes_the_out_dir(tmp_path: Path, title: str) -> None:
    name = draft_filename(IssueContext(title=title, body="", repo="../..", number=".."))
    target = (tmp_path / name).resolve()
    assert target.parent == tmp_path.resolve()
    assert "/" not in name and "\\" not in name and not name.startswith(".")


def test_slugify() -> None:
    assert slugify("Hello, World!") == "hello-world"
    assert slugify("---") == "draft"
    assert slugify("a" * 100, 10) == "a" * 10
    assert slugify("ab-cd-ef", 3) == "ab"


# -- provenance ---------------------------------------------------------------------------------------
def test_the_marker_is_short_and_the_state_holds_the_rest(tmp_path: Path) -> None:
    prov = provenance(source="https://x/y?a=1&b=<2>", created="2024-01-01")
    prov.sections = {"status": "s1"}
    prov.section_sources = {"status": ["issue", "comment:1"]}
    prov.fallbacks = ["Context"]
    prov.bases = {"status": "Proposed."}
    prov.notes = ["keep the v1 API"]
    text = attach("# Doc\n\nbody --> with arrow\n", prov)
    marker = text.split("\n\n")[-1]
    assert marker.startswith("<!-- drafter {") and text.endswith("-->\n") and len(marker.encode()) < 200
    assert text.count("-->") == 2  # the marker's own end and the body's arrow, nothing from the JSON
    assert "keep the v1 API" not in text and "Proposed." not in text.split("\n\n")[-1]
    body, parsed = split_provenance(text)
    assert body == "# Doc\n\nbody --> with arrow"
    assert parsed is not None and (parsed.template, parsed.inputs) == ("adr", "abc")
    assert parsed.generated == digest("# Doc\n\nbody --> with arrow")
    draft = tmp_path / "doc.md"
    assert write_draft(draft, text, prov.state_json()) == "written"
    assert state_path(draft) == tmp_path / "doc.md.drafter.json"
    record = read_draft(draft.read_text(encoding="utf-8"), draft)
    assert record.state == "file" and record.provenance == prov
    state = json.loads(state_path(draft).read_text(encoding="utf-8"))
    assert state["schema"] == "drafter.state/1" and state["bases"] == {"status": "Proposed."}


def test_without_its_state_file_a_draft_says_so(tmp_path: Path) -> None:
    prov = provenance()
    draft = tmp_path / "doc.md"
    text = attach("# Doc\n", prov)
    write_draft(draft, text, prov.state_json())
    state_path(draft).unlink()
    record = read_draft(text, draft)
    assert record.state == "missing" and record.provenance is not None and record.provenance.model == ""
    other = provenance(inputs="older")
    attach("# Older\n", other)
    state_path(draft).write_text(other.state_json(), encoding="utf-8")
    assert read_draft(text, draft).state == "stale"  # a state file for another version is not used
    assert inspect_target(draft).state == "stale" and not inspect_target(draft).edited


def test_a_draft_with_an_inline_block_still_reads() -> None:
    legacy = (
        "# Doc\n\nText.\n\n<!-- drafter:provenance\n"
        + json.dumps(
            {
                "schema": "drafter.document.provenance/1",
                "template": "adr",
                "template_hash": "t",
                "model": "offline",
                "prompts": {},
                "inputs": "abc",
                "generated": digest("# Doc\n\nText."),
                "bases": {"status": "eNoLKMovyC9OTdFTKDMEAB4cBEI="},
                "source_spec": "issue.json",
            }
        )
        + "\n-->\n"
    )
    record = read_draft(legacy, None)
    assert record.state == "inline" and record.provenance is not None
    assert record.provenance.model == "offline" and record.provenance.source_spec == "issue.json"
    assert record.provenance.bases["status"] == "Proposed. v1"  # compressed bases are unpacked
    assert was_edited(legacy) is False


def test_was_edited() -> None:
    text = drafted()
    assert was_edited(text) is False
    assert was_edited(text.replace("Text.", "Text, edited.")) is True
    assert was_edited(text.replace("\n", "\r\n")) is False  # line endings are not edits
    assert was_edited("# A human's document\n") is None
    damaged = text.replace('"inputs"', '"inputs" oops')
    assert was_edited(damaged) is None


def test_unknown_marker_fields_are_ignored() -> None:
    text = drafted().replace('"inputs"', '"future_field":1,"inputs"')
    assert split_provenance(text)[1] is not None


def test_marker_values_that_close_comments() -> None:
    text = attach("body\n", provenance(template="a-->b<script>"))
    _, parsed = split_provenance(text)
    assert parsed is not None and parsed.template == "a-->b<script>"
    assert text.count("-->") == 1
    assert was_edited(text) is False


def test_the_last_marker_wins() -> None:
    first = drafted(template="one")
    second = attach(first, provenance(template="two"))
    _, parsed = split_provenance(second)
    assert parsed is not None and parsed.template == "two"


# -- writing -----------------------------------------------------------------------------------------
def test_write_new_file(tmp_path: Path) -> None:
    path = tmp_path / "d.md"
    assert write_draft(path, drafted()) == "written"
    assert path.read_text(encoding="utf-8") == drafted()
    assert path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["d.md"]


def test_same_text_is_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "d.md"
    write_draft(path, drafted())
    mtime = path.stat().st_mtime_ns
    assert write_draft(path, drafted()) == "unchanged"
    assert path.stat().st_mtime_ns == mtime


def test_unedited_drafter_output_is_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "d.md"
    write_draft(path, drafted())
    new = drafted("# Doc\n\nNew text.\n", inputs="def")
    assert write_draft(path, new) == "written"
    assert path.read_text(encoding="utf-8") == new


@pytest.mark.parametrize("existing", ["edited", "human"])
def test_human_edits_are_refused_without_force(tmp_path: Path, existing: str) -> None:
    path = tmp_path / "d.md"
    old = drafted().replace("Text.", "Human text.") if existing == "edited" else "# Mine\n"
    path.write_text(old, encoding="utf-8")
    with pytest.raises(EditedDraftError, match="refusing to overwrite") as info:
        write_draft(path, drafted())
    assert info.value.exit_code == 2
    assert "--force" in str(info.value) and "\n" not in str(info.value)
    assert path.read_text(encoding="utf-8") == old
    assert write_draft(path, drafted(), force=True) == "written"
    assert path.read_text(encoding="utf-8") == drafted()


def test_undecodable_target_counts_as_edited(tmp_path: Path) -> None:
    path = tmp_path / "d.md"
    path.write_bytes(b"\xff\xfe binary")
    assert inspect_target(path).edited
    with pytest.raises(EditedDraftError):
        write_draft(path, drafted())


def test_existing_mode_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "d.md"
    write_draft(path, drafted())
    path.chmod(0o600)
    write_draft(path, drafted(inputs="new"))
    assert path.stat().st_mode & 0o777 == 0o600


def test_target_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(WriteError, match="is a directory"):
        write_draft(tmp_path, drafted())


def test_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / "nope" / "d.md"
    with pytest.raises(WriteError, match="does not exist") as info:
        write_draft(path, drafted())
    assert info.value.exit_code == 2
    assert not path.parent.exists()


def test_unwritable_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(WriteError, match="cannot write in .*Permission denied") as info:
        write_draft(tmp_path / "d.md", drafted())
    assert info.value.exit_code == 2
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_read_only_directory(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(WriteError):
            write_draft(folder / "d.md", drafted())
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)


def test_failed_replace_keeps_the_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "d.md"
    write_draft(path, drafted())

    def broken(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(WriteError, match="No space left"):
        write_atomic(path, drafted(inputs="other"))
    assert path.read_text(encoding="utf-8") == drafted()
    assert [p.name for p in tmp_path.iterdir()] == ["d.md"]


# -- one issue, several templates -----------------------------------------------------------------------
ISSUE = IssueContext(title="Fix the RFC", body="", tracker="github", repo="o/r", number="12")


def test_a_template_other_than_the_default_is_in_the_file_name() -> None:
    assert draft_filename(ISSUE) == "github-o-r-12-fix-the-rfc.md"
    assert draft_filename(ISSUE, "technical-design") == "github-o-r-12-fix-the-rfc.md"  # the default
    assert draft_filename(ISSUE, "rfc") == "github-o-r-12-fix-the-rfc.rfc.md"  # not the title's "rfc"
    assert draft_filename(ISSUE, "adr") == "github-o-r-12-fix-the-rfc.adr.md"
    assert draft_filename(ISSUE, "../Team ADR") == "github-o-r-12-fix-the-rfc.team-adr.md"  # sanitised
    assert draft_filename(ISSUE, "../..") == "github-o-r-12-fix-the-rfc.md"  # nothing left: no tag


def test_the_default_template_is_the_configured_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    flag = resolve_settings({"template": "rfc"}, {})
    assert default_template(flag) == "technical-design"  # a flag is not the default
    assert draft_filename(ISSUE, "rfc", default_template(flag)).endswith(".rfc.md")
    from_env = resolve_settings({"template": "rfc"}, {"DRAFTER_TEMPLATE": "rfc"})
    assert default_template(from_env) == "rfc"  # the flag says what the environment already does
    assert draft_filename(ISSUE, "rfc", default_template(from_env)) == "github-o-r-12-fix-the-rfc.md"
    assert draft_filename(ISSUE, "technical-design", "rfc").endswith(".technical-design.md")
    (tmp_path / "drafter.toml").write_text('template = "adr"\n', encoding="utf-8")
    assert default_template(resolve_settings({"template": "rfc"}, {})) == "adr"  # the file's, not the flag's
    assert default_template() == "technical-design"  # no settings: the built-in
    assert default_template(Settings(default_template="templates/team.md")) == "team"  # a file: its stem


def test_a_draft_from_another_template_is_not_replaced_without_force(tmp_path: Path) -> None:
    path = tmp_path / "d.md"
    write_draft(path, drafted(template="adr"))
    before = path.read_text(encoding="utf-8")
    with pytest.raises(EditedDraftError) as info:
        write_draft(path, drafted("# RFC\n\nText.\n", template="rfc"))
    message = str(info.value)
    assert message.startswith(f"{path} is a draft from template 'adr'; refusing to replace it")
    assert "'rfc'" in message and "--force" in message and "\n" not in message
    assert info.value.exit_code == 2
    assert path.read_text(encoding="utf-8") == before  # nothing lost
    with pytest.raises(EditedDraftError, match="from template 'adr'"):
        check_target(path, template="rfc")  # the early check, before any model call
    assert check_target(path, template="adr").template == "adr"  # the same template: fine
    assert write_draft(path, drafted("# RFC\n\nText.\n", template="rfc"), force=True) == "written"
    assert split_provenance(path.read_text(encoding="utf-8"))[1].template == "rfc"  # type: ignore[union-attr]
