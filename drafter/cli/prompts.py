"""``drafter prompts``: list the prompts, show one, copy one into .drafter/prompts/ to customise."""

from __future__ import annotations

import json

import typer

from drafter.cli._app import app, emit, examples
from drafter.cli._common import FORMAT, TextOrJson

prompts_app = typer.Typer(
    rich_markup_mode=None,
    help="List prompts, show the one drafter uses, copy one to .drafter/prompts/ to customise.",
    no_args_is_help=True,
)
app.add_typer(prompts_app, name="prompts")


@prompts_app.command(
    "list",
    epilog=examples(
        ("The prompts, their versions, and which the team overrides", "drafter prompts list"),
        ("The same for a script", "drafter prompts list -f json"),
    ),
)
def list_prompts(
    fmt: TextOrJson = FORMAT,
    as_json: bool = typer.Option(False, "--json", hidden=True),  # the 0.1 spelling of --format json
) -> None:
    """List the prompts: built-in, or overridden in .drafter/prompts/ (which wins), with versions."""
    from drafter.template.prompts import Prompts
    from drafter.template.scaffold import prompt_files

    prompts = Prompts()
    rows = [
        {"name": name, "origin": origin, "version": prompts.version(name), "path": str(path)}
        for name, (path, origin) in prompt_files().items()
    ]
    if as_json or fmt is TextOrJson.json:
        emit(json.dumps(rows, indent=2))
        return
    width = max((len(r["name"]) for r in rows), default=4)
    for row in rows:
        emit(f"{row['name']:<{width}}  {row['origin']:<8}  {row['version']:<12}  {row['path']}")


@prompts_app.command(
    "show",
    epilog=examples(
        ("The risks chain's prompt, as drafter will send it", "drafter prompts show risks"),
    ),
)
def show_prompt(name: str = typer.Argument(..., help="Prompt name, e.g. problem.")) -> None:
    """Print the prompt file drafter will use for NAME (the override if there is one)."""
    from drafter.template.prompts import Prompts

    prompts = Prompts()
    path = prompts.path(name)
    emit(f"drafter: {path} (version {prompts.version(name)})", err=True)
    emit(path.read_text(encoding="utf-8").rstrip("\n"))


@prompts_app.command(
    "new",
    epilog=examples(
        ("Customise the risks prompt in .drafter/prompts/", "drafter prompts new risks"),
        ("Start the problem prompt from the solution one", "drafter prompts new problem --from solution"),
    ),
)
def new_prompt(
    name: str = typer.Argument(..., help="Prompt to create in .drafter/prompts/NAME.md.j2."),
    source: str | None = typer.Option(
        None, "--from", help="Prompt to copy [default: the built-in prompt of the same name]."
    ),
) -> None:
    """Copy a prompt into .drafter/prompts/ to customise it; it then replaces the built-in one."""
    from drafter.template.scaffold import new_prompt as create

    path = create(name, source)
    emit(str(path))
    emit(f"drafter: created {path}; raise its '{{#- version: N -#}}' line when you change it", err=True)
