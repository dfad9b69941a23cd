"""``drafter validate``: check design docs against their template, for humans, CI and pre-commit."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer

from drafter.cli._app import app, emit, examples
from drafter.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE


class Format(StrEnum):
    text = "text"
    json = "json"
    github = "github"


def gh_escape(value: str, *, prop: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


@app.command(
    epilog=examples(
        ("Check every design doc against its template", "drafter validate docs/design/*.md"),
        (
            "Against a team template, warnings as errors",
            "drafter validate docs/rfcs/*.md -t .drafter/templates/rfc.md --strict",
        ),
        ("Inline annotations in GitHub Actions", "drafter validate -f github docs/design/*.md"),
    ),
)
def validate(
    paths: list[Path] = typer.Argument(..., help="Markdown design docs to check.", show_default=False),
    template: str | None = typer.Option(
        None,
        "--template",
        "-t",
        envvar="DRAFTER_TEMPLATE",
        help="Template name (see 'drafter templates list') or path. Default: the draft's "
        "'<!-- drafter:template NAME -->' marker, which may only name a known template (a "
        "built-in, .drafter/templates/ or the config's), else technical-design.",
    ),
    fmt: Format = typer.Option(
        Format.text, "--format", "-f", help="text, json (one array) or github (annotations)."
    ),
    strict: bool = typer.Option(False, "--strict", help="Treat warnings (e.g. TODO markers) as errors."),
    concurrency: int | None = typer.Option(
        None,
        "--concurrency",
        "-j",
        min=1,
        help="Files checked at once, each in its own process. Default: one per CPU for 64 or more "
        "files, else 1.",
        show_default=False,
    ),
    jobs: int | None = typer.Option(None, "--jobs", min=1, hidden=True),  # the 0.1 spelling
) -> None:
    """Check design docs against their template's structure.

    Reports missing or misordered sections, wrong heading levels and numbers, empty sections,
    placeholders and guidance left in, missing tables/diagrams, bad header metadata and TODOs.
    Exit 0 when all are valid, 1 when any has errors (or warnings with --strict), 2 when a file
    or the template cannot be read, or a draft's marker names a path or an unknown template.
    """
    from drafter.template.documents import Unreadable, validate_paths

    results: list[dict[str, object]] = []
    lines: list[str] = []
    errors = warnings = invalid = unreadable = 0
    for outcome in validate_paths(paths, template=template, strict=strict, jobs=concurrency or jobs):
        if isinstance(outcome, Unreadable):
            unreadable += 1
            results.append({"path": outcome.path, "valid": False, "error": outcome.message, "findings": []})
            if fmt is Format.github:
                lines.append(
                    f"::error file={gh_escape(outcome.path, prop=True)}::{gh_escape(outcome.message)}"
                )
            else:
                lines.append(f"{outcome.path}: error: {outcome.message}")
            continue
        report, path = outcome, outcome.path
        result = report.to_dict(strict)
        if strict:  # --strict: every warning is an error, in every format
            for finding in result["findings"]:
                finding["severity"] = "error"
        results.append(result)
        if not report.valid(strict):
            invalid += 1
        for finding in report.findings:
            severity = "error" if finding.severity == "error" or strict else "warning"
            errors += severity == "error"
            warnings += severity == "warning"
            if fmt is Format.github:
                lines.append(
                    f"::{severity} file={gh_escape(path, prop=True)},line={finding.line},"
                    f"title={gh_escape('drafter ' + finding.rule, prop=True)}::{gh_escape(finding.message)}"
                )
            else:
                lines.append(f"{path}:{finding.line}: {severity} [{finding.rule}] {finding.message}")

    if fmt is Format.json:
        emit(json.dumps(results, indent=2))
    else:
        if lines:
            emit("\n".join(lines))
        if fmt is Format.text:
            checked = len(paths)
            summary = (
                f"{checked} file{'s' if checked != 1 else ''} checked: {checked - invalid - unreadable} valid"
            )
            summary += f", {invalid} invalid ({errors} errors, {warnings} warnings)"
            emit(summary, err=True)
    if unreadable:
        raise typer.Exit(EXIT_USAGE)
    raise typer.Exit(EXIT_FINDINGS if invalid else EXIT_OK)
