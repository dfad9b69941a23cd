"""Where drafter's built-in templates and prompts live, installed or not.

The repository keeps ``templates/`` and ``prompts/`` at its top level (the design card); the wheel
ships them inside the package as ``drafter/templates`` and ``drafter/prompts``. In an editable
install or a checkout only the top-level folders exist, so both places are tried, package first.
Team overrides in ``.drafter/templates`` and ``.drafter/prompts`` of the working tree come before
the built-ins.
"""

from __future__ import annotations

from pathlib import Path

from drafter.errors import TemplateError

_PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATE_SUFFIX = ".md"


def builtin_dir(kind: str) -> Path:
    """Return the folder of built-in ``templates`` or ``prompts``, installed or in a checkout."""
    for candidate in (_PACKAGE_DIR / kind, _PACKAGE_DIR.parent / kind):
        if candidate.is_dir():
            return candidate
    raise TemplateError(
        f"drafter's built-in {kind}/ folder is missing from the installation",
        hint="reinstall drafter with 'pip install --force-reinstall drafter'",
    )


def override_dir(kind: str, root: Path | None = None) -> Path:
    """Return the team override folder ``.drafter/<kind>`` under ``root`` (default: cwd)."""
    return (root or Path.cwd()) / ".drafter" / kind


def template_names(root: Path | None = None) -> dict[str, Path]:
    """Map every template name to its file: built-ins, then team overrides replacing them."""
    found: dict[str, Path] = {}
    for folder in (builtin_dir("templates"), override_dir("templates", root)):
        if folder.is_dir():
            for path in sorted(folder.glob(f"*{TEMPLATE_SUFFIX}")):
                found[path.name[: -len(TEMPLATE_SUFFIX)]] = path
    return found


DEFAULT_TEMPLATE = "technical-design"


def resolve_template(spec: str | None, root: Path | None = None) -> tuple[str, Path]:
    """Turn ``--template`` (a name or a path) into ``(name, path)``.

    A value containing a path separator or ending in ``.md`` is a path; anything else is a name
    looked up in ``.drafter/templates`` and then the built-ins.
    """
    spec = spec or DEFAULT_TEMPLATE
    names = template_names(root)
    if spec in names:
        return spec, names[spec]
    looks_like_path = "/" in spec or "\\" in spec or spec.endswith(TEMPLATE_SUFFIX)
    if looks_like_path:
        path = Path(spec)
        if not path.exists():
            raise TemplateError(f"template file {spec} does not exist", hint="check the --template path")
        if not path.is_file():
            raise TemplateError(f"template {spec} is not a file", hint="pass a markdown file to --template")
        return path.stem, path
    known = ", ".join(sorted(names)) or "none"
    raise TemplateError(
        f"unknown template '{spec}'",
        hint=f"use one of: {known}, or a path to a markdown file; 'drafter templates list' shows them",
    )
