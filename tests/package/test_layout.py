"""The house rules of the code base that ruff, mypy and the import contract do not check.

At most 12 entries directly under ``drafter/`` (packages and modules, besides ``__init__``,
``__main__`` and ``py.typed``), no module over 500 lines, and no module importing another
module's ``_private`` name. ``lint-imports`` (in ``.ci/run``) checks the layers and cycles.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import ROOT

PACKAGE = ROOT / "drafter"
FIXED = {"__init__.py", "__main__.py", "py.typed", "__pycache__"}


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_at_most_twelve_entries_under_the_package() -> None:
    entries = sorted(p.name for p in PACKAGE.iterdir() if p.name not in FIXED)
    assert len(entries) <= 12, entries


def test_no_module_is_over_500_lines() -> None:
    long = {str(p.relative_to(PACKAGE)): n for p in modules() if (n := len(p.read_text().splitlines())) > 500}
    assert long == {}


def test_no_module_imports_another_modules_private_names() -> None:
    found = []
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("drafter"):
                private = [
                    a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")
                ]
                if private:
                    found.append(
                        f"{path.relative_to(PACKAGE)}: from {node.module} import {', '.join(private)}"
                    )
    assert found == []


def test_the_openai_contract_names_every_other_model_module() -> None:
    """The contract lists modules by name: a new module under model/ must be added to it."""
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = data["tool"]["importlinter"]["contracts"]
    contract = next(c for c in contracts if c["name"] == "Only drafter.model.openai imports openai")
    listed = set(contract["source_modules"])
    for path in (ROOT / "drafter" / "model").glob("*.py"):
        if path.stem not in ("__init__", "openai"):
            assert f"drafter.model.{path.stem}" in listed, path.name
