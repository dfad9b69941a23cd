"""Prompt files: found in ``.drafter/prompts`` first, then the built-ins, rendered with variables only.

Prompts are jinja2 files that we (or the team) wrote, rendered in a sandbox with
``StrictUndefined`` so a misspelt variable is an error, not an empty string. Issue text is only
ever a variable value, never template source. Each file starts with ``{#- version: N -#}``; the
versions used go into a draft's provenance so a prompt change re-drafts in batch runs.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from drafter.errors import TemplateError
from drafter.template.resources import builtin_dir, jinja_environment, override_dir

VERSION_MARK = re.compile(r"\{#-?\s*version:\s*([\w.-]+)\s*-?#\}")
SUFFIX = ".md.j2"


def prompt_dirs(root: Path | None = None, extra: Path | None = None) -> list[Path]:
    """Folders searched for prompts, first match wins: ``extra``, ``.drafter/prompts``, built-ins."""
    dirs = [d for d in (extra, override_dir("prompts", root)) if d is not None and d.is_dir()]
    return [*dirs, builtin_dir("prompts")]


def _environment(dirs: tuple[str, ...]) -> jinja2.Environment:
    return jinja_environment(dirs)


@lru_cache(maxsize=64)
def _file_version(path: str, mtime_ns: int) -> str:
    """The ``version`` a prompt file declares; read once per file and modification time."""
    match = VERSION_MARK.search(Path(path).read_text(encoding="utf-8")[:200])
    return match.group(1) if match else "0"


class Prompts:
    """The prompt set for one run: render by name, and report the versions used."""

    def __init__(self, root: Path | None = None, extra: Path | None = None) -> None:
        self.dirs = prompt_dirs(root, extra)
        self._env = _environment(tuple(str(d) for d in self.dirs))

    def path(self, name: str) -> Path:
        for folder in self.dirs:
            candidate = folder / f"{name}{SUFFIX}"
            if candidate.is_file():
                return candidate
        searched = ", ".join(str(d) for d in self.dirs)
        raise TemplateError(
            f"prompt '{name}{SUFFIX}' not found (searched {searched})", hint="run 'drafter prompts list'"
        )

    def version(self, name: str) -> str:
        path = self.path(name)
        origin = "builtin" if path.parent == self.dirs[-1] else "custom"
        return f"{_file_version(str(path), path.stat().st_mtime_ns)}-{origin}"

    def render(self, name: str, **variables: Any) -> str:
        self.path(name)
        try:
            return self._env.get_template(f"{name}{SUFFIX}").render(**variables).strip() + "\n"
        except jinja2.TemplateError as exc:
            raise TemplateError(
                f"prompt '{name}{SUFFIX}' failed to render: {exc}", hint="fix the prompt file"
            ) from exc

    def versions(self, names: list[str]) -> dict[str, str]:
        return {name: self.version(name) for name in names}
