"""``drafter init``: creates what is missing, never overwrites, and a second run changes nothing."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drafter.cli import app
from drafter.config import resolve_settings
from drafter.template.resources import template_names
from tests.support.paths import ROOT


def init(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["init", "--root", str(root), *args])
    return result.exit_code, result.stdout


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_fresh_repository_gets_drafter_toml_and_folders(tmp_path: Path) -> None:
    code, out = init(tmp_path, "--workflow", "--pre-commit")
    assert code == 0
    for name in (
        "drafter.toml",
        "docs/design/.gitkeep",
        ".drafter/templates/README.txt",
        ".drafter/prompts/README.md",
        ".github/workflows/drafter.yml",
        ".pre-commit-config.yaml",
    ):
        assert (tmp_path / name).is_file(), name
        assert f"created  {tmp_path / name}" in out
    # the commented block parses and leaves every setting at its default
    assert tomllib.loads((tmp_path / "drafter.toml").read_text(encoding="utf-8")) == {}
    workflow = (tmp_path / ".github/workflows/drafter.yml").read_text(encoding="utf-8")
    assert workflow == (ROOT / "examples/github-actions/drafter.yml").read_text(encoding="utf-8")
    assert "drafter-validate" in (tmp_path / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    # the README in the templates folder is not mistaken for a template
    assert "README" not in template_names(tmp_path)


def test_second_run_is_a_no_op(tmp_path: Path) -> None:
    init(tmp_path, "--workflow", "--pre-commit")
    before = snapshot(tmp_path)
    code, out = init(tmp_path, "--workflow", "--pre-commit")
    assert code == 0
    assert snapshot(tmp_path) == before
    assert "created" not in out and "appended" not in out
    assert out.count("skipped") == 6


def test_existing_files_are_never_overwritten(tmp_path: Path) -> None:
    mine = tmp_path / ".github" / "workflows" / "drafter.yml"
    mine.parent.mkdir(parents=True)
    mine.write_text("my own workflow\n", encoding="utf-8")
    (tmp_path / ".pre-commit-config.yaml").write_text("repos: []\n", encoding="utf-8")
    code, out = init(tmp_path, "--workflow", "--pre-commit")
    assert code == 0
    assert mine.read_text(encoding="utf-8") == "my own workflow\n"
    assert (tmp_path / ".pre-commit-config.yaml").read_text(encoding="utf-8") == "repos: []\n"
    assert f"skipped  {mine} (exists)" in out


def test_block_is_appended_to_pyproject_once(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    original = '[project]\nname = "x"\n'
    pyproject.write_text(original, encoding="utf-8")
    code, out = init(tmp_path)
    assert code == 0 and f"appended {pyproject}" in out
    text = pyproject.read_text(encoding="utf-8")
    assert text.startswith(original)
    data = tomllib.loads(text)
    assert data["tool"]["drafter"] == {} and data["project"] == {"name": "x"}
    assert not (tmp_path / "drafter.toml").exists()
    # uncommenting a line makes it the effective value
    pyproject.write_text(text.replace('# model = "gpt-4o-mini"', 'model = "gpt-4o-mini"'), encoding="utf-8")
    (tmp_path / ".git").mkdir()
    settings = resolve_settings({}, {}, tmp_path)
    assert settings.model == "gpt-4o-mini" and "[tool.drafter]" in settings.origin("model")
    init(tmp_path)
    assert pyproject.read_text(encoding="utf-8").count("[tool.drafter]\n") == 1


@pytest.mark.parametrize("existing", ["[tool.drafter]\nauthor = 'x'\n", "[tool.drafter]\n"])
def test_pyproject_with_a_table_is_left_alone(tmp_path: Path, existing: str) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(existing, encoding="utf-8")
    code, out = init(tmp_path)
    assert code == 0
    assert pyproject.read_text(encoding="utf-8") == existing
    assert "already has [tool.drafter]" in out
    assert not (tmp_path / "drafter.toml").exists()


def test_toml_flag_writes_drafter_toml_beside_pyproject(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n', encoding="utf-8")
    code, _ = init(tmp_path, "--toml")
    assert code == 0
    assert (tmp_path / "drafter.toml").is_file()
    assert pyproject.read_text(encoding="utf-8") == '[project]\nname = "x"\n'


def test_workflow_is_shipped_in_the_wheel() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    force = tomllib.loads(text)["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert force["examples/github-actions/drafter.yml"] == "drafter/workflows/drafter.yml"


def test_the_readme_shows_the_one_pre_commit_recipe_init_writes(tmp_path: Path) -> None:
    """One recipe: the README's block is exactly what `init --pre-commit` writes, pinned to this version."""
    from drafter.config.about import version
    from drafter.template.scaffold import pre_commit_config
    from tests.support.paths import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("### As a pre-commit hook", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    assert block == pre_commit_config()
    assert f'additional_dependencies: ["design-drafter=={version()}"]' in block
    init(tmp_path, "--pre-commit")
    assert (tmp_path / ".pre-commit-config.yaml").read_text(encoding="utf-8") == block
