"""Where drafter's built-in templates and prompts live, installed or not.

The repository keeps ``templates/`` and ``prompts/`` at its top level (the design card); the wheel
ships them inside the package as ``drafter/templates`` and ``drafter/prompts``. In an editable
install or a checkout only the top-level folders exist, so both places are tried, package first.
Team overrides in ``.drafter/templates`` and ``.drafter/prompts`` of the working tree come before
the built-ins.

A template is chosen by ``--template`` or config (a name or a path, :func:`resolve_template`), or
by a draft's own ``<!-- drafter:template NAME -->`` marker. A draft is untrusted input, so its
marker may only pick a template the project already knows (:func:`marker_template`): a document
that could name its own file could bring a one-heading template and pass any check.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from drafter.errors import TemplateError, TemplateMarkerError

if TYPE_CHECKING:
    import jinja2

# drafter/: the wheel puts templates/, prompts/ and workflows/ here (pyproject's force-include);
# a checkout has them at the top of the repository instead.
_PACKAGE_DIR = Path(__file__).resolve().parent.parent
TEMPLATE_SUFFIX = ".md"
# Where a checkout keeps what the wheel ships under another name.
_CHECKOUT = {"workflows": Path("examples") / "github-actions"}


def builtin_dir(kind: str) -> Path:
    """The folder of drafter's own ``templates``, ``prompts`` or ``workflows``, installed or in a
    checkout: the one place that knows where drafter's files are."""
    for candidate in (_PACKAGE_DIR / kind, _PACKAGE_DIR.parent / _CHECKOUT.get(kind, Path(kind))):
        if candidate.is_dir():
            return candidate
    raise TemplateError(
        f"drafter's built-in {kind}/ folder is missing from the installation",
        hint="reinstall drafter with 'pip install --force-reinstall design-drafter'",
    )


def skeleton_dir() -> Path:
    """The folder of the document skeleton (``document.md.j2``), beside this module."""
    return Path(__file__).resolve().parent


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


def is_template_path(spec: str) -> bool:
    """A ``--template`` value is a file path when it holds a path separator or ends in ``.md``."""
    return "/" in spec or "\\" in spec or spec.endswith(TEMPLATE_SUFFIX)


def template_name(spec: str) -> str:
    """A ``--template`` value as drafts record it: a name, or a template file's stem."""
    return Path(spec).stem if is_template_path(spec) else spec


def resolve_template(spec: str | None, root: Path | None = None) -> tuple[str, Path]:
    """Turn ``--template`` (a name or a path) into ``(name, path)``.

    A value containing a path separator or ending in ``.md`` is a path; anything else is a name
    looked up in ``.drafter/templates`` and then the built-ins.
    """
    spec = spec or DEFAULT_TEMPLATE
    names = template_names(root)
    if spec in names:
        return spec, names[spec]
    if is_template_path(spec):
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


def _path_like(name: str) -> bool:
    """True when a marker's value reads as a file path rather than a template name."""
    return (
        any(ch in name for ch in "/\\:")
        or ".." in name
        or name.startswith(("~", "."))
        or name.lower().endswith(TEMPLATE_SUFFIX)
    )


def marker_template(name: str, root: Path | None = None, configured: str | None = None) -> str:
    """The ``--template`` value a document's ``drafter:template`` marker stands for.

    Only a name is accepted: the name of the template set in config (``configured``, a name or a
    path; a path is named by its file stem, as drafter records it in the drafts it writes), else
    a name in ``.drafter/templates`` or the built-ins. A path, or a name the project does not
    know, raises :class:`TemplateMarkerError`.
    """
    mark = f"'<!-- drafter:template {name} -->'"
    if _path_like(name):
        raise TemplateMarkerError(
            f"the document's {mark} marker names a file path; a document may only name a known template",
            hint=f"pass --template {name} to check it against that file, or add the file to "
            ".drafter/templates/ and put its name in the marker",
        )
    if configured and Path(configured).stem == name and configured != name:
        return configured  # the config's template file, recorded by its name in drafts
    names = template_names(root)
    if name in names:
        return name
    known = ", ".join(sorted(names)) or "none"
    raise TemplateMarkerError(
        f"unknown template '{name}' named by the document's {mark} marker",
        hint=f"a document may name one of: {known}; pass --template PATH to check it against a "
        f"template file, or add {name}{TEMPLATE_SUFFIX} to .drafter/templates/ "
        "('drafter templates list' shows the known ones)",
    )


@lru_cache(maxsize=8)
def jinja_environment(dirs: tuple[str, ...], *, keep_trailing_newline: bool = False) -> jinja2.Environment:
    """The one jinja environment drafter renders its own files with (prompts, the document
    skeleton): sandboxed and immutable (a team's prompt override runs no code), undefined names
    are errors, and no autoescaping (the output is markdown and prompts, not HTML). jinja2 is
    imported here, on first use, so that ``drafter validate`` never loads it."""
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(
        loader=jinja2.FileSystemLoader(list(dirs)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=keep_trailing_newline,
        trim_blocks=True,
        lstrip_blocks=True,
    )
