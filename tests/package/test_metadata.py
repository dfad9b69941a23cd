"""The distribution's metadata: a free name, the licence shipped, no invented home (issue #20)."""

from __future__ import annotations

import tomllib

from drafter.config.about import DISTRIBUTION, user_agent, version
from tests.support.paths import ROOT


def project() -> dict[str, object]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    table = data["project"]
    assert isinstance(table, dict)
    return table


def test_the_distribution_is_design_drafter_and_the_command_stays_drafter() -> None:
    meta = project()
    assert meta["name"] == DISTRIBUTION == "design-drafter"
    assert meta["scripts"] == {"drafter": "drafter.cli:main"}


def test_the_licence_is_declared_and_shipped_in_wheel_and_sdist() -> None:
    meta = project()
    assert meta["license"] == "Apache-2.0"
    assert meta["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    build = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["hatch"]["build"]
    assert "LICENSE" in build["targets"]["sdist"]["include"]


def test_classifiers_and_keywords_are_present_and_no_home_is_invented() -> None:
    meta = project()
    classifiers = meta["classifiers"]
    assert isinstance(classifiers, list)
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert "Typing :: Typed" in classifiers
    assert isinstance(meta["keywords"], list) and "design-doc" in meta["keywords"]
    assert "urls" not in meta  # no public home yet: no project URLs


def test_the_user_agent_names_the_distribution_and_version_only() -> None:
    agent = user_agent()
    assert agent == f"design-drafter/{version()}"
    assert "http" not in agent and "github" not in agent.lower()


def test_no_file_names_an_invented_home() -> None:
    for folder in ("drafter", "examples", "templates", "prompts", "docs"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in {".py", ".md", ".yml", ".yaml", ".toml", ".j2"}:
                text = path.read_text(encoding="utf-8", errors="replace")
                assert "drafter-dev" not in text, path
                assert "github.com/OWNER/drafter" not in text, path
    assert "drafter-dev" not in (ROOT / "README.md").read_text(encoding="utf-8")
