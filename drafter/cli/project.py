"""``drafter config`` and ``drafter init``: see the effective settings, set a repository up."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from drafter.cli._app import app, emit, examples
from drafter.cli._common import FORMAT, TextOrJson, resolved


@app.command(
    "config",
    epilog=examples(
        ("The settings in effect, and where each came from", "drafter config"),
        ("The same for a script", "drafter config -f json"),
    ),
)
def show_config(
    fmt: TextOrJson = FORMAT,
) -> None:
    """Show the effective settings and where each comes from: flag, env, config file or default.

    The config file is the nearest pyproject.toml with [tool.drafter], or drafter.toml, from the
    working directory up to the repository root; below it, the user's own drafter.toml in the
    platform's config folder (~/.config/drafter/ on Linux; DRAFTER_USER_CONFIG names another).
    Paths in a config file are relative to that file. Secrets are shown masked.
    """
    from drafter.config import SECRET_VARS
    from drafter.model.choice import settings_in_effect

    data = settings_in_effect(resolved())
    if fmt is TextOrJson.json:
        emit(json.dumps(data, indent=2))
        return
    files = ", ".join(data["config_files"]) or "none found (run 'drafter init')"
    lines = [f"config file: {files}"]
    if data["user_config"] and data["user_config"] not in data["config_files"]:
        lines.append(f"user config: {data['user_config']} (not present)")
    lines.append(f"tracker cache: {data['cache_dir'] or 'off (no_cache)'}")
    width = max(len(key) for key in [*data["settings"], *SECRET_VARS])
    for key, entry in data["settings"].items():
        value = entry["value"]
        if key == "prices":
            shown = ", ".join(f"{n}={i:g}/{o:g}" for n, (i, o) in value.items()) or "(built-in table)"
        else:
            shown = str(value)
        lines.append(f"{key:<{width}}  {shown}  ({entry['origin']})")
    for name in SECRET_VARS:
        masked = data["secrets"].get(name)
        lines.append(f"{name:<{width}}  {masked or 'not set'}" + ("  (env)" if masked else ""))
    emit("\n".join(lines))


@app.command(
    "init",
    epilog=examples(
        (
            "Set up this repository, with the CI workflow and the pre-commit hook",
            "drafter init --workflow --pre-commit",
        ),
        (
            "Another repository, with drafter.toml rather than pyproject.toml",
            "drafter init --root ../service --toml",
        ),
    ),
)
def init(
    workflow: bool = typer.Option(
        False, "--workflow", help="Also write .github/workflows/drafter.yml (drafts labelled issues)."
    ),
    pre_commit: bool = typer.Option(
        False, "--pre-commit", help="Also write .pre-commit-config.yaml with the drafter-validate hook."
    ),
    toml: bool = typer.Option(
        False, "--toml", help="Write drafter.toml even when there is a pyproject.toml."
    ),
    root: Path = typer.Option(Path("."), "--root", help="The repository to set up.", file_okay=False),
) -> None:
    """Set up a repository: config block, docs/design/, .drafter/templates/ and .drafter/prompts/.

    Never overwrites a file; running it again changes nothing. The [tool.drafter] block is
    appended to pyproject.toml only when it has none (else, or with --toml, drafter.toml is written).
    """
    from drafter.template.scaffold import init_project

    actions = init_project(root, toml=toml, workflow=workflow, pre_commit=pre_commit)
    for action in actions:
        reason = f" ({action.reason})" if action.reason else ""
        emit(f"{action.status:<8} {action.path}{reason}")
    created = sum(a.status != "skipped" for a in actions)
    emit(
        f"drafter: {created} created, {len(actions) - created} left as they were; "
        "'drafter config' shows the settings",
        err=True,
    )
