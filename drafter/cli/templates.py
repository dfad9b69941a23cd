"""``drafter templates``: list the templates drafter knows and show how it reads one."""

from __future__ import annotations

import json

import typer

from drafter.cli._app import app, emit, examples
from drafter.cli._common import FORMAT, TextOrJson

templates_app = typer.Typer(
    rich_markup_mode=None,
    help="List templates, show the outline drafter derives from one, copy one to customise.",
    no_args_is_help=True,
)
app.add_typer(templates_app, name="templates")


@templates_app.command(
    "list",
    epilog=examples(
        ("The templates drafter knows, and which are the team's", "drafter templates list"),
        ("The same for a script", "drafter templates list -f json"),
    ),
)
def list_templates(
    fmt: TextOrJson = FORMAT,
    as_json: bool = typer.Option(False, "--json", hidden=True),  # the 0.1 spelling of --format json
) -> None:
    """List built-in templates and team overrides (.drafter/templates/ wins over built-ins)."""
    from drafter.template.outline import load_outline
    from drafter.template.resources import builtin_dir, template_names

    builtin = builtin_dir("templates")
    rows: list[dict[str, str | int]] = []
    for name, path in template_names().items():
        outline = load_outline(name)
        origin = "built-in" if path.parent == builtin else "override"
        rows.append(
            {"name": name, "origin": origin, "path": str(path), "sections": len(list(outline.walk()))}
        )
    if as_json or fmt is TextOrJson.json:
        emit(json.dumps(rows, indent=2))
        return
    width = max(len(str(r["name"])) for r in rows) if rows else 4
    for row in rows:
        emit(f"{row['name']:<{width}}  {row['origin']:<8}  {row['sections']:>3} sections  {row['path']}")


@templates_app.command(
    "show",
    epilog=examples(
        ("How drafter reads the RFC template: sections, tables, chains", "drafter templates show rfc"),
        ("A team's template file, as JSON", "drafter templates show .drafter/templates/kep.md -f json"),
    ),
)
def show_template(
    name: str = typer.Argument(..., help="Template name or path."),
    fmt: TextOrJson = FORMAT,
    as_json: bool = typer.Option(False, "--json", hidden=True),  # the 0.1 spelling of --format json
) -> None:
    """Print the outline drafter derives from a template: sections, optional ones, tables, fences, chains."""
    from drafter.template.outline import load_outline, outline_to_dict

    outline = load_outline(name)
    data = outline_to_dict(outline)
    if as_json or fmt is TextOrJson.json:
        emit(json.dumps(data, indent=2))
        return
    emit(f"template: {outline.name}")
    if outline.title_level:
        placeholder = ", ".join(outline.title_placeholders)
        emit(
            f"title: level-{outline.title_level} heading"
            + (f", placeholder {placeholder}" if placeholder else "")
        )
    for field in outline.metadata:
        extra = f" one of {'/'.join(field.choices)}" if field.choices else ""
        extra = " YYYY-MM-DD" if field.kind == "date" else extra
        emit(f"metadata: {field.name} ({field.kind}{extra})")
    chains = {id(s): chain for chain, sections in outline.chains().items() for s in sections}
    for section in outline.walk():
        indent = "  " * (section.level - 1)
        flags = ["optional" if not section.required else "required"]
        if section.parent is None:
            flags.append(f"chain={chains[id(section)]}")
        if section.tables:
            flags.extend(f"table: {' | '.join(t.columns)}" for t in section.tables)
        if section.fences:
            flags.extend(
                f"fence: {f.info or 'any'}" + (f" ({f.label})" if f.label else "") for f in section.fences
            )
        if section.guidance:
            flags.append(f"{len(section.guidance)} guidance")
        if section.placeholders:
            flags.append(f"{len(section.placeholders)} placeholders")
        emit(f"{indent}{'#' * section.level} {section.heading}  [{'; '.join(flags)}]")


@templates_app.command(
    "new",
    epilog=examples(
        ("Customise the ADR template for this repository", "drafter templates new adr"),
        ("A new team template that starts from the RFC one", "drafter templates new team-rfc --from rfc"),
    ),
)
def new_template(
    name: str = typer.Argument(..., help="Name of the new template (file .drafter/templates/NAME.md)."),
    source: str = typer.Option(
        "technical-design", "--from", help="Template to copy: a built-in or override name, or a path."
    ),
) -> None:
    """Copy a template into .drafter/templates/ to customise it; refuses to overwrite."""
    from drafter.template.scaffold import new_template as create

    path = create(name, source)
    emit(str(path))
    emit(f"drafter: created {path}; 'drafter templates show {name}' shows how drafter reads it", err=True)
