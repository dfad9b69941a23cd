"""``drafter init``: set a repository up for drafter without ever overwriting a file.

Usage::

    for action in init_project(Path("."), workflow=True):
        print(action.status, action.path)      # created / skipped (exists) / appended

It writes a commented ``[tool.drafter]`` block (appended to ``pyproject.toml`` when that file has
no such table yet, else a ``drafter.toml``), ``docs/design/``, the override folders
``.drafter/templates/`` and ``.drafter/prompts/`` with a README each (``docs/design/`` gets a
``.gitkeep``: every ``*.md`` there is taken for a design doc) and, on request, the GitHub
Actions workflow and a ``.pre-commit-config.yaml``. Running it twice changes nothing.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from drafter.errors import InputError, TemplateError, WriteError
from drafter.template.resources import builtin_dir

CONFIG_BODY = """\
# drafter settings (see the README's Configuration section). Precedence: command-line
# flag > environment variable > this file > built-in default. `drafter config` shows the
# effective values and where each came from. Secrets (OPENAI_API_KEY, GITHUB_TOKEN, ...) are
# read from the environment only, never from this file.
# model = "gpt-4o-mini"          # or "offline", "openai:NAME"          [env DRAFTER_MODEL]
# template = "technical-design"  # a name in .drafter/templates/ or built in, or a path
# out_dir = "docs/design"        # where drafts are written             [env DRAFTER_OUT_DIR]
# base_url = "http://localhost:11434/v1"  # OpenAI-compatible server    [env OPENAI_BASE_URL]
# author = "Ada Lovelace"        # header author (default: git config user.name)
# concurrency = 4                # batch: model calls in flight at once
# max_context = 60000            # characters of issue thread given to the model
# max_wait = 60                  # seconds to wait in total for tracker rate limits
# max_tokens = 4000              # cap on each answer                   [env DRAFTER_MAX_TOKENS]
# timeout = 120                  # seconds per model request            [env DRAFTER_TIMEOUT]
# max_retries = 3                # model request retries                [env DRAFTER_MAX_RETRIES]
"""
PRICES_BODY = """\
# Estimated USD per 1M tokens [input, output], for the cost lines and batch --max-cost; these
# replace or extend the built-in table (drafter/pricing.py).
# "gpt-4o-mini" = [0.15, 0.60]
"""

TEMPLATES_README = """\
# Team templates

Markdown templates here are found by name before drafter's built-ins: `drafter from-issue
--template NAME` and `drafter validate --template NAME` use `.drafter/templates/NAME.md`.

- `drafter templates new NAME --from technical-design` copies a built-in to start from.
- `drafter templates show NAME` prints the outline drafter reads from it: sections, which are
  optional, tables, code fences and how sections are grouped into model calls (chains).
- `drafter templates list` shows every template and whether it is built in or an override.
"""

PROMPTS_README = """\
# Team prompts

A prompt file here (`NAME.md.j2`, jinja2) replaces drafter's built-in prompt of the same name.
Start from a copy: `drafter prompts new problem --from problem`, then edit it.

- The first line, `{#- version: N -#}`, is recorded in each draft's provenance (as `N-custom`);
  raise it when you change the prompt, so `drafter batch` re-drafts the issues.
- `drafter prompts list` shows which prompts are built in and which are overridden here;
  `drafter prompts show NAME` prints the one drafter will use.
- `drafter from-issue ISSUE --dry-run` prints the exact prompts that would be sent.
"""

PRE_COMMIT = """\
# pre-commit (https://pre-commit.com): check design docs against the team's template.
# Run `pre-commit install` once; `pre-commit run drafter-validate --all-files` checks them all.
repos:
  - repo: local
    hooks:
      - id: drafter-validate
        name: drafter validate
        entry: drafter validate
        language: python
        additional_dependencies: ["{requirement}"]
        files: ^docs/design/.*\\.md$
        types: [markdown]
        require_serial: true
"""


def pre_commit_config() -> str:
    """The one pre-commit recipe (``init --pre-commit`` writes it; the README shows it).

    ``repo: local`` with ``language: python`` needs no repository URL (the project has no public
    home yet): pre-commit installs the pinned distribution into the hook's own environment, so
    the hook works on a machine where drafter is not installed.
    """
    from drafter.config.about import DISTRIBUTION, version

    current = version()
    return PRE_COMMIT.format(requirement=f"{DISTRIBUTION}=={current}" if current != "0" else DISTRIBUTION)


@dataclass(frozen=True)
class Action:
    """One thing ``init`` did or left alone."""

    path: Path
    status: Literal["created", "appended", "skipped"]
    reason: str = ""


def workflow_text() -> str:
    """The example GitHub Actions workflow, shipped in the wheel as ``drafter/workflows/drafter.yml``."""
    candidate = builtin_dir("workflows") / "drafter.yml"
    if candidate.is_file():
        return candidate.read_text(encoding="utf-8")
    raise TemplateError(
        "drafter's example workflow is missing from the installation",
        hint="reinstall drafter with 'pip install --force-reinstall design-drafter'",
    )


def _has_drafter_table(pyproject: Path) -> bool:
    try:
        with pyproject.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        # An unreadable pyproject must not be touched: fall back to drafter.toml.
        return True
    tool = data.get("tool")
    return isinstance(tool, dict) and "drafter" in tool


def _write_new(path: Path, text: str, actions: list[Action]) -> None:
    if path.exists():
        actions.append(Action(path, "skipped", "exists"))
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except FileExistsError:
        actions.append(Action(path, "skipped", "exists"))
        return
    except OSError as exc:
        raise WriteError(
            f"cannot write {path}: {exc.strerror or exc}", hint="check the permissions"
        ) from None
    actions.append(Action(path, "created"))


def _config(root: Path, toml: bool, actions: list[Action]) -> None:
    pyproject = root / "pyproject.toml"
    own = root / "drafter.toml"
    if not toml and pyproject.is_file():
        if _has_drafter_table(pyproject):
            actions.append(Action(pyproject, "skipped", "already has [tool.drafter]"))
            return
        if own.exists():
            actions.append(Action(own, "skipped", "exists"))
            return
        text = pyproject.read_text(encoding="utf-8")
        block = "[tool.drafter]\n" + CONFIG_BODY + "\n# [tool.drafter.prices]\n" + PRICES_BODY
        separator = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        try:
            with pyproject.open("a", encoding="utf-8", newline="\n") as handle:
                handle.write(separator + block)
        except OSError as exc:
            raise WriteError(f"cannot append to {pyproject}: {exc.strerror or exc}") from None
        actions.append(Action(pyproject, "appended", "[tool.drafter]"))
        return
    if pyproject.is_file() and _has_drafter_table(pyproject):
        actions.append(Action(own, "skipped", f"{pyproject.name} already has [tool.drafter]"))
        return
    _write_new(own, CONFIG_BODY + "\n# [prices]\n" + PRICES_BODY, actions)


def init_project(
    root: Path, *, toml: bool = False, workflow: bool = False, pre_commit: bool = False
) -> list[Action]:
    """Create drafter's files under ``root``; existing files are never changed (except appending
    the ``[tool.drafter]`` block to a ``pyproject.toml`` that has none)."""
    actions: list[Action] = []
    _config(root, toml, actions)
    # Not README.md in these two: every *.md there is a design doc or a template.
    _write_new(root / "docs" / "design" / ".gitkeep", "", actions)
    _write_new(root / ".drafter" / "templates" / "README.txt", TEMPLATES_README, actions)
    _write_new(root / ".drafter" / "prompts" / "README.md", PROMPTS_README, actions)
    if workflow:
        _write_new(root / ".github" / "workflows" / "drafter.yml", workflow_text(), actions)
    if pre_commit:
        _write_new(root / ".pre-commit-config.yaml", pre_commit_config(), actions)
    return actions


# -- custom templates and prompts ------------------------------------------------------------------
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _check_name(name: str, what: str) -> str:
    if not _NAME.fullmatch(name) or name.endswith((".md", ".j2")):
        raise InputError(
            f"invalid {what} name {name!r}",
            hint="use letters, digits, '-', '_' or '.', without a file extension, e.g. team-design",
        )
    return name


def new_template(name: str, source: str | None = None, root: Path | None = None) -> Path:
    """Copy template ``source`` (name or path; default technical-design) to ``.drafter/templates/NAME.md``."""
    from drafter.template.resources import TEMPLATE_SUFFIX, override_dir, resolve_template

    _check_name(name, "template")
    _, origin = resolve_template(source, root)
    target = override_dir("templates", root) / f"{name}{TEMPLATE_SUFFIX}"
    _copy_new(origin.read_text(encoding="utf-8"), target, f"drafter templates show {name}")
    return target


def prompt_files(root: Path | None = None) -> dict[str, tuple[Path, str]]:
    """Every prompt name -> (the file drafter uses, ``built-in`` or ``override``)."""
    from drafter.template.prompts import SUFFIX, prompt_dirs
    from drafter.template.resources import builtin_dir

    builtin = builtin_dir("prompts")
    found: dict[str, tuple[Path, str]] = {}
    for folder in reversed(prompt_dirs(root)):  # built-ins first, overrides replace them
        for path in sorted(folder.glob(f"*{SUFFIX}")):
            origin = "built-in" if folder == builtin else "override"
            found[path.name[: -len(SUFFIX)]] = (path, origin)
    return dict(sorted(found.items()))


def new_prompt(name: str, source: str | None = None, root: Path | None = None) -> Path:
    """Copy prompt ``source`` (default: the built-in of the same name) to ``.drafter/prompts/NAME.md.j2``.

    The copy starts with a ``{#- version: N -#}`` line (the source's, or 1), which provenance records.
    """
    from drafter.template.prompts import SUFFIX, VERSION_MARK
    from drafter.template.resources import builtin_dir, override_dir

    _check_name(name, "prompt")
    wanted = source or name
    origin = builtin_dir("prompts") / f"{wanted}{SUFFIX}"
    if source is None and not origin.is_file():
        text = "{#- version: 1 -#}\n{# A custom prompt: jinja2, rendered with the chain's variables. #}\n"
    else:
        files = prompt_files(root)
        if wanted not in files:
            known = ", ".join(files)
            raise InputError(f"unknown prompt '{wanted}'", hint=f"use one of: {known}")
        text = files[wanted][0].read_text(encoding="utf-8")
        if not VERSION_MARK.search(text[:200]):
            text = "{#- version: 1 -#}\n" + text
    target = override_dir("prompts", root) / f"{name}{SUFFIX}"
    _copy_new(text, target, f"drafter prompts show {name}")
    return target


def _copy_new(text: str, target: Path, show: str) -> None:
    if target.exists():
        raise InputError(f"{target} already exists", hint=f"edit it, or see '{show}'")
    actions: list[Action] = []
    _write_new(target, text, actions)
    if actions[0].status != "created":  # pragma: no cover - created between the check and the write
        raise InputError(f"{target} already exists", hint=f"edit it, or see '{show}'")
