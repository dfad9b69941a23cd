"""File names, atomic writes, edit detection and the provenance block."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drafter.context import IssueContext
from drafter.errors import EditedDraftError, WriteError
from drafter.provenance import Provenance, attach, digest, split_provenance, was_edited
from drafter.writer import draft_filename, inspect_target, slugify, write_atomic, write_draft


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
def test_provenance_round_trip() -> None:
    prov = provenance(source="https://x/y?a=1&b=<2>", created="2024-01-01")
    prov.sections = {"status": "s1"}
    prov.section_sources = {"status": ["issue", "comment:1"]}
    prov.fallbacks = ["Context"]
    text = attach("# Doc\n\nbody --> with arrow\n", prov)
    assert text.endswith("-->\n")
    assert text.count("-->") == 2  # the block's own end and the body's arrow, nothing from the JSON
    body, parsed = split_provenance(text)
    assert body == "# Doc\n\nbody --> with arrow"
    assert parsed == prov
    assert parsed is not None and parsed.generated == digest("# Doc\n\nbody --> with arrow")


def test_was_edited() -> None:
    text = drafted()
    assert was_edited(text) is False
    assert was_edited(text.replace("Text.", "Text, edited.")) is True
    assert was_edited(text.replace("\n", "\r\n")) is False  # line endings are not edits
    assert was_edited("# A human's document\n") is None
    damaged = text.replace('"model"', '"model" oops')
    assert was_edited(damaged) is None


def test_unknown_provenance_fields_are_ignored() -> None:
    text = drafted().replace('"inputs"', '"future_field": 1,\n "inputs"')
    assert split_provenance(text)[1] is not None


def test_provenance_with_string_values_that_close_comments() -> None:
    text = attach("body\n", provenance(source="--><script>alert(1)</script>", model="a-->b"))
    _, parsed = split_provenance(text)
    assert parsed is not None and parsed.model == "a-->b"
    assert text.count("-->") == 1
    assert was_edited(text) is False


def test_the_last_block_wins() -> None:
    first = drafted(model="one")
    second = attach(first, provenance(model="two"))
    _, parsed = split_provenance(second)
    assert parsed is not None and parsed.model == "two"


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
