"""Team templates and prompts: .drafter/ overrides win, `new` copies, `show`/`list` explain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from drafter.cli import app
from drafter.document.provenance import read_state
from drafter.template.outline import load_outline
from drafter.template.prompts import Prompts
from drafter.template.resources import builtin_dir, resolve_template
from tests.support.paths import EXAMPLE


@pytest.fixture(autouse=True)
def in_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def cli(*args: str | Path) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_templates_new_copies_a_builtin_and_the_override_resolves(tmp_path: Path) -> None:
    result = cli("templates", "new", "team", "--from", "adr")
    assert result.exit_code == 0, result.stderr
    path = tmp_path / ".drafter" / "templates" / "team.md"
    assert result.stdout.strip() == str(path)
    assert path.read_text(encoding="utf-8") == (builtin_dir("templates") / "adr.md").read_text(
        encoding="utf-8"
    )
    assert resolve_template("team") == ("team", path)
    listed = json.loads(cli("templates", "list", "--json").stdout)
    assert {"name": "team", "origin": "override"}.items() <= next(
        r for r in listed if r["name"] == "team"
    ).items()


def test_templates_new_refuses_to_overwrite(tmp_path: Path) -> None:
    assert cli("templates", "new", "team").exit_code == 0
    path = tmp_path / ".drafter" / "templates" / "team.md"
    path.write_text("# mine\n", encoding="utf-8")
    again = cli("templates", "new", "team")
    assert again.exit_code == 2
    assert "already exists" in again.stderr
    assert path.read_text(encoding="utf-8") == "# mine\n"


@pytest.mark.parametrize("name", ["../escape", "team.md", "", "a/b"])
def test_templates_new_rejects_bad_names(name: str) -> None:
    result = cli("templates", "new", name)
    assert result.exit_code == 2
    assert "invalid template name" in result.stderr


def test_an_override_replaces_the_builtin_of_the_same_name(tmp_path: Path) -> None:
    folder = tmp_path / ".drafter" / "templates"
    folder.mkdir(parents=True)
    (folder / "adr.md").write_text(
        "# [Title]\n\n## Context\n\nWhy.\n\n## Decision\n\nWhat.\n\n## Notes (optional)\n\nMore.\n",
        encoding="utf-8",
    )
    assert resolve_template("adr")[1] == folder / "adr.md"
    shown = cli("templates", "show", "adr", "--json")
    assert shown.exit_code == 0, shown.stderr
    data = json.loads(shown.stdout)
    headings = json.dumps(data)
    assert "Decision" in headings and "Status" not in headings
    text = cli("templates", "show", "adr")
    assert "optional" in text.stdout and "chain=" in text.stdout


def test_prompts_new_list_show(tmp_path: Path) -> None:
    created = cli("prompts", "new", "problem")
    assert created.exit_code == 0, created.stderr
    path = tmp_path / ".drafter" / "prompts" / "problem.md.j2"
    assert created.stdout.strip() == str(path)
    builtin = (builtin_dir("prompts") / "problem.md.j2").read_text(encoding="utf-8")
    assert path.read_text(encoding="utf-8") == builtin
    assert cli("prompts", "new", "problem").exit_code == 2  # never overwrites
    listed = json.loads(cli("prompts", "list", "--json").stdout)
    rows = {r["name"]: r for r in listed}
    assert rows["problem"]["origin"] == "override" and rows["problem"]["version"].endswith("-custom")
    assert rows["solution"]["origin"] == "built-in" and rows["solution"]["version"].endswith("-builtin")
    path.write_text("{#- version: 9 -#}\nCUSTOM PROBLEM PROMPT {{ reference }}\n", encoding="utf-8")
    shown = cli("prompts", "show", "problem")
    assert shown.exit_code == 0
    assert "CUSTOM PROBLEM PROMPT" in shown.stdout
    assert "9-custom" in shown.stderr
    assert cli("prompts", "show", "nope").exit_code == 2


def test_prompts_new_from_another_prompt_gets_a_version_line(tmp_path: Path) -> None:
    result = cli("prompts", "new", "extra", "--from", "risks")
    assert result.exit_code == 0, result.stderr
    text = (tmp_path / ".drafter" / "prompts" / "extra.md.j2").read_text(encoding="utf-8")
    assert text.startswith("{#- version:")
    blank = cli("prompts", "new", "brand-new")
    assert blank.exit_code == 0
    assert (
        (tmp_path / ".drafter" / "prompts" / "brand-new.md.j2")
        .read_text(encoding="utf-8")
        .startswith("{#- version: 1 -#}")
    )
    assert cli("prompts", "new", "x", "--from", "missing").exit_code == 2


def test_custom_prompt_is_used_and_its_version_lands_in_provenance(tmp_path: Path) -> None:
    folder = tmp_path / ".drafter" / "prompts"
    folder.mkdir(parents=True)
    (folder / "problem.md.j2").write_text(
        "{#- version: 7 -#}\nTEAM PROBLEM PROMPT for {{ reference }}\n{{ inputs }}\n", encoding="utf-8"
    )
    assert Prompts().version("problem") == "7-custom"
    dry = cli("from-issue", EXAMPLE, "--dry-run", "-f", "json")
    assert dry.exit_code == 0, dry.stderr
    chains = json.loads(dry.stdout)["chains"]
    assert chains[0]["messages"][2]["content"].startswith("TEAM PROBLEM PROMPT")
    assert "TEAM PROBLEM PROMPT" not in chains[1]["messages"][2]["content"]
    # A prompt written before the evidence had its own message still renders: {{ inputs }} points there.
    assert "the inputs are in the message before this one" in chains[0]["messages"][2]["content"]
    written = cli("from-issue", EXAMPLE, "--model", "offline", "--out", tmp_path / "draft.md")
    assert written.exit_code == 0, written.stderr
    provenance = read_state(tmp_path / "draft.md.drafter.json")
    assert provenance is not None
    assert provenance.prompts["problem"] == "7-custom"
    assert provenance.prompts["solution"].endswith("-builtin")


def test_builtin_outline_still_loads() -> None:
    assert load_outline("technical-design").name == "technical-design"
