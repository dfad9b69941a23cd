"""``drafter eval``: draft a fixed issue set with one or more models and prompt folders, and score it."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from drafter.cli._app import app, emit, examples
from drafter.cli._common import (
    BASE_URL,
    MAX_CONTEXT,
    MAX_WAIT,
    NO_CACHE,
    TEMPLATE,
    TRACE,
    attach_tracer,
    resolved,
)
from drafter.errors import EXIT_FINDINGS, EXIT_OK, InputError


class EvalFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


@app.command(
    "eval",
    epilog=examples(
        (
            "Compare two models on a labelled set of issues",
            "drafter eval --from-file issues.txt -m gpt-4o-mini -m gpt-4.1-mini",
        ),
        (
            "Gate a prompt change on the saved baseline",
            "drafter eval --from-file issues.txt --prompts .drafter/prompts --baseline eval.json --fail-on-regression",
        ),
    ),
)
def eval_command(
    sources: list[str] | None = typer.Argument(
        None, metavar="SOURCES...", help="Issues to draft (as for from-issue).", show_default=False
    ),
    from_file: list[Path] = typer.Option(
        [], "--from-file", help="Read SOURCES from a file, one a line (repeatable)."
    ),
    model: list[str] = typer.Option(
        [],
        "--model",
        "-m",
        help="offline, openai:NAME or a model name (repeatable; each is a variant; default as for from-issue).",
    ),
    prompts: list[Path] = typer.Option(
        [], "--prompts", help="A prompt folder to try (repeatable; each model runs with each folder)."
    ),
    template: str | None = TEMPLATE,
    judge: str | None = typer.Option(
        None, "--judge", help="Model that scores clarity, completeness and faithfulness per section."
    ),
    repeat: int = typer.Option(
        1, "--repeat", min=1, max=20, help="Ask the judge N times and report the spread."
    ),
    out_dir: Path | None = typer.Option(
        None, "--out-dir", help="Folder for the drafts (one sub-folder per variant) and eval.json."
    ),
    out: Path | None = typer.Option(None, "--out", hidden=True),  # the 0.1 spelling of --out-dir
    fmt: EvalFormat = typer.Option(EvalFormat.table, "--format", "-f", help="table, markdown or json."),
    baseline: Path | None = typer.Option(
        None, "--baseline", help="A saved run (eval.json or --format json output) to compare against."
    ),
    fail_on_regression: bool = typer.Option(
        False, "--fail-on-regression", help="Exit 1 when a metric regresses beyond its threshold."
    ),
    threshold: list[str] = typer.Option(
        [], "--threshold", help="METRIC=VALUE: override a metric's regression threshold (repeatable)."
    ),
    base_url: str | None = BASE_URL,
    max_context: int | None = MAX_CONTEXT,
    max_wait: float | None = MAX_WAIT,
    no_cache: bool | None = NO_CACHE,
    trace: Path | None = TRACE,
) -> None:
    """Draft a set of issues with each model and prompt folder, score the drafts, compare the variants.

    Metrics per draft: structure findings, TODO markers, words against length budgets, invented
    references and identifiers, coverage of the issue's terms, comments cited, tokens, calls, cost
    and time; with --judge, an LLM's scores per section. Exit 0 when done; 1 when --baseline and
    --fail-on-regression are given and a metric regressed; 2 on bad input; 3 when a model failed.
    """
    from drafter.batch.runner import read_sources_file
    from drafter.cli._common import load_context
    from drafter.evaluation import (
        EvalCase,
        EvalSettings,
        compare,
        load_run,
        make_variants,
        parse_thresholds,
        render_report,
        run_eval,
        save_run,
        unmatched_variants,
    )
    from drafter.model.choice import OFFLINE, ModelChoice, choose_model
    from drafter.model.openai import build_handle
    from drafter.template.outline import load_outline

    specs = list(sources or [])
    for path in from_file:
        specs.extend(read_sources_file(path))
    if not specs:
        raise InputError("no issues to evaluate", hint="give SOURCES or --from-file FILE")
    if fail_on_regression and baseline is None:
        raise InputError("--fail-on-regression needs --baseline PREVIOUS.json")
    if repeat > 1 and judge is None:
        raise InputError("--repeat needs --judge MODEL")
    for folder in prompts:
        if not folder.is_dir():
            raise InputError(
                f"--prompts {folder} is not a folder", hint="give a folder of *.md.j2 prompt files"
            )
    limits = parse_thresholds(threshold)
    previous = load_run(baseline) if baseline is not None else None
    config = resolved(
        template=template, base_url=base_url, max_context=max_context, max_wait=max_wait, no_cache=no_cache
    )
    choices = [choose_model(config, m) for m in model] or [choose_model(config)]

    def build(choice: ModelChoice) -> Any:
        handle = build_handle(choice)
        attach_tracer(handle, trace, config)
        return handle

    judge_handle = None
    if judge is not None:
        judge_choice = choose_model(config, judge)
        if judge_choice.provider == OFFLINE:
            raise InputError(
                "--judge needs a language model, not offline", hint="e.g. --judge openai:gpt-4o-mini"
            )
        judge_handle = build(judge_choice)
    outline = load_outline(config.template)
    cases = [EvalCase(spec, load_context(spec, [], [], config)) for spec in specs]
    variants = make_variants(choices, list(prompts) or [None], build)
    out = out_dir or out
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(
                f"cannot create --out-dir {out}: {exc.strerror}", hint="pick a writable folder"
            ) from None
    settings = EvalSettings(
        judge=judge_handle,
        repeat=repeat,
        out_dir=out,
        on_event=lambda message: emit(f"drafter: {message}", err=True),
    )
    run = run_eval(cases, variants, outline, settings)
    deltas = compare(run, previous, limits) if previous is not None else None
    if out is not None:
        save_run(run, out / "eval.json")
        emit(
            f"drafter: wrote {len(run.sources) * len(run.variants)} drafts and {out / 'eval.json'}", err=True
        )
    emit(render_report(run, deltas, fmt.value).rstrip("\n"))
    if previous is not None:
        for name in unmatched_variants(run, previous):
            emit(f"drafter: variant '{name}' is not in the baseline; not compared", err=True)
    regressed = [d for d in deltas or [] if d.regressed]
    if regressed:
        names = ", ".join(sorted({d.metric for d in regressed}))
        emit(f"drafter: {len(regressed)} regression(s) against {baseline}: {names}", err=True)
        if fail_on_regression:
            raise typer.Exit(EXIT_FINDINGS)
    raise typer.Exit(EXIT_OK)
