"""``drafter batch``: draft many issues in one run (CI), with reports, caching and sharding."""

from __future__ import annotations

import functools
import gc
import sys
from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from drafter.cli._app import OUTPUT, app, emit, examples, fail_usage, stderr_console
from drafter.cli._common import (
    BASE_URL,
    DEADLINE,
    MAX_CONTEXT,
    MAX_WAIT,
    MODEL,
    NO_CACHE,
    NOTES,
    NOTES_FILE,
    TEMPLATE,
    TRACE,
    attach_tracer,
    cost_text,
    finite,
    refuse_terminal_stdin,
    resolved,
)
from drafter.errors import InputError

if TYPE_CHECKING:
    from drafter.batch.runner import BatchItem, BatchRun


BATCH_SOURCE_HELP = (
    "Issues to draft: GitHub issue URL or OWNER/REPO#N, GitLab issue/MR URL, Jira https://SITE/browse/KEY-1, "
    "or a .md/.txt/.json file (not stdin). Duplicates are drafted once."
)


class IssueState(StrEnum):
    open = "open"
    closed = "closed"
    all = "all"


class Via(StrEnum):
    direct = "direct"
    openai_batch = "openai-batch"


def _collect(
    sources: list[str],
    from_file: list[Path],
    repo: str | None,
    label: str | None,
    state: IssueState,
    include_prs: bool,
    settings: Any,
) -> list[str]:
    from drafter.batch.runner import read_sources_file

    collected = list(sources)
    for path in from_file:
        collected.extend(read_sources_file(path))
    if repo is not None:
        from drafter.sources.github_query import list_issues

        assert label is not None
        collected.extend(list_issues(repo, label, settings, state=state.value, include_prs=include_prs))
    return collected


def _plain_line(item: BatchItem, done: int, total: int) -> str:
    where = Path(item.path).name if item.path else item.source
    calls = item.usage.get("calls", 0)
    detail = f"{calls} call{'s' if calls != 1 else ''}, {item.seconds:.1f} s"
    line = f"[{done}/{total}] {item.status} {where} ({detail})"
    if item.reason and item.status != "unchanged":
        line += f": {item.reason}"
    return line


class _Progress:
    """A rich progress bar on a terminal, else one plain line per finished item on stderr."""

    def __init__(self, total: int, interactive: bool) -> None:
        self.total = total
        self.bar: Any = None
        self.task: Any = None
        if interactive and total:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("drafting"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
                console=stderr_console(),
                transient=False,
            )
            self.task = self.bar.add_task("", total=total)

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def __call__(self, item: BatchItem, done: int, total: int) -> None:
        if self.bar is not None:
            from drafter.config.redaction import for_terminal

            said = for_terminal(f"{item.status} {item.source}")
            self.bar.update(self.task, completed=done, description=said)
            if item.status in ("failed", "invalid", "partial"):
                line = for_terminal(_plain_line(item, done, total))
                self.bar.console.print(line, markup=False, highlight=False)
        else:
            emit(_plain_line(item, done, total), err=True)


def _reports(
    run: BatchRun,
    report: Path | None,
    junit: Path | None,
    summary: Path | None,
    env: Mapping[str, str],
    page: Path | None = None,
) -> None:
    from drafter.batch.reports import (
        append_step_summary,
        github_annotations,
        json_report,
        junit_report,
        markdown_summary,
        write_report,
    )

    if report is not None:
        write_report(report, json_report(run))
    if junit is not None:
        write_report(junit, junit_report(run))
    text = markdown_summary(run, page=page, env=env)
    if summary is not None:
        write_report(summary, text)
    if append_step_summary(text, env):
        # stderr: stdout is the list of written drafts (`git add $(drafter batch ...)`); the
        # Actions runner reads workflow commands from both streams.
        for line in github_annotations(run):
            emit(line, err=True)


@app.command(
    "batch",
    epilog=examples(
        (
            "Every open issue labelled design, 8 model calls at a time",
            "drafter batch --repo OWNER/REPO --label design -j 8",
        ),
        (
            "A list of issues; stage the drafts that were written",
            "git add $(drafter batch --from-file issues.txt -q)",
        ),
        (
            "This CI job's quarter of the list, with a JSON report",
            "drafter batch --from-file issues.txt --shard 2/4 --report report.json",
        ),
    ),
)
def batch(
    sources: list[str] = typer.Argument(
        None, metavar="SOURCES...", help=BATCH_SOURCE_HELP, show_default=False
    ),
    from_file: list[Path] = typer.Option(
        [], "--from-file", help="Read sources from a file, one per line; '#' starts a comment (repeatable)."
    ),
    repo: str | None = typer.Option(None, "--repo", help="GitHub OWNER/REPO whose labelled issues to draft."),
    label: str | None = typer.Option(None, "--label", help="With --repo: the label that marks issues."),
    state: IssueState = typer.Option(IssueState.open, "--state", help="With --repo: open, closed or all."),
    include_prs: bool = typer.Option(False, "--include-prs", help="With --repo: also draft pull requests."),
    out_dir: Path | None = typer.Option(
        None,
        "--out-dir",
        help="Folder for the drafts [env: DRAFTER_OUT_DIR; config out_dir; default docs/design].",
        show_default=False,
    ),
    concurrency: int | None = typer.Option(
        None,
        "--concurrency",
        "-j",
        help="Model calls in flight at once, across issues; up to twice as many issues are in progress [env: DRAFTER_CONCURRENCY; config concurrency; default 4, or 1 for a model server on this machine].",
        show_default=False,
    ),
    notes: list[str] = NOTES,
    notes_file: list[str] = NOTES_FILE,
    template: str | None = TEMPLATE,
    model: str | None = MODEL,
    base_url: str | None = BASE_URL,
    author: str | None = typer.Option(
        None,
        "--author",
        help="Author for the header [env: DRAFTER_AUTHOR; config author; default: git config user.name].",
    ),
    shard: str | None = typer.Option(
        None, "--shard", help="K/N: draft only this job's share (stable hash) of the sources."
    ),
    report: Path | None = typer.Option(None, "--report", help="Write a JSON report here."),
    junit: Path | None = typer.Option(None, "--junit", help="Write a JUnit XML report here."),
    summary: Path | None = typer.Option(None, "--summary", help="Write a markdown summary here."),
    html_report: Path | None = typer.Option(
        None,
        "--html-report",
        help="Write the review page of the drafts here: one self-contained HTML file (a CI artifact).",
    ),
    max_total_tokens: int | None = typer.Option(
        None, "--max-total-tokens", help="Start no new draft once this many tokens were used."
    ),
    max_cost: float | None = typer.Option(
        None,
        "--max-cost",
        min=0.0,
        callback=finite,
        help="USD: start no new draft once the estimated cost reached this (needs a priced model).",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite drafts even if a human edited them."),
    max_context: int | None = MAX_CONTEXT,
    max_wait: float | None = MAX_WAIT,
    deadline: float | None = DEADLINE,
    no_cache: bool | None = NO_CACHE,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print each issue's prompts and schemas; call no model, write nothing."
    ),
    trace: Path | None = TRACE,
    via: Via = typer.Option(
        Via.direct,
        "--via",
        help="direct: call the model per issue; openai-batch: submit the section requests through the "
        "OpenAI Batch API (about half the price, up to 24 h per stage; re-run to resume).",
    ),
    poll_interval: float = typer.Option(
        30.0, "--poll-interval", help="With --via openai-batch: seconds between batch status checks."
    ),
) -> None:
    """Draft every issue given (arguments, --from-file, or --repo --label) into --out-dir.

    Each issue ends as written, partial (written, but some sections' answers stayed unusable; a
    re-run redrafts only those), unchanged (inputs unchanged: no model call), skipped-edited (a
    human edited the draft), skipped-budget, not-run (interrupted), invalid (written with
    findings) or failed. Exit 0 when every issue is written, unchanged or skipped-edited; 1
    otherwise; 2 on usage errors; 130 or 143 when interrupted (the report is still written).
    """
    sources = sources or []
    config = resolved(
        model=model,
        template=template,
        out_dir=out_dir,
        base_url=base_url,
        author=author,
        concurrency=concurrency,
        max_context=max_context,
        max_wait=max_wait,
        no_cache=no_cache,
        deadline=deadline,
    )
    out_dir, concurrency = config.out_dir, config.concurrency
    if concurrency < 1:
        raise fail_usage(f"--concurrency must be 1 or more, got {concurrency}")
    if max_total_tokens is not None and max_total_tokens < 1:
        raise fail_usage(f"--max-total-tokens must be 1 or more, got {max_total_tokens}")
    if max_cost is not None and not max_cost > 0:
        raise fail_usage(f"--max-cost must be more than 0 USD, got {max_cost}")
    if (repo is None) != (label is None):
        raise fail_usage("--repo and --label go together (draft the issues of REPO carrying LABEL)")
    if not sources and not from_file and repo is None:
        raise fail_usage(
            "no sources: give SOURCE arguments, --from-file FILE, or --repo OWNER/REPO --label L"
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out-dir {out_dir} is not a folder", hint="pick a folder for the drafts")
    if "-" in [s.strip() for s in sources]:
        raise InputError("batch cannot read an issue from standard input", hint="save it to a file")

    from drafter.batch.runner import STATUSES, BatchOptions, dedupe, parse_shard, run_batch, select_shard
    from drafter.config import git_author
    from drafter.model.choice import OFFLINE, choose_model
    from drafter.model.openai import build_handle
    from drafter.pipeline import DraftOptions
    from drafter.sources import SourceSettings, load_notes
    from drafter.template.outline import load_outline

    shard_range = parse_shard(shard) if shard is not None else None
    choice = choose_model(config)
    if choice.local and config.origin("concurrency") == "default":
        concurrency = 1  # a server on this machine answers one call at a time; a flag overrides it
    if via is Via.openai_batch and not dry_run:
        if choice.provider == OFFLINE:
            raise fail_usage("--via openai-batch needs an OpenAI model (--model openai:NAME, OPENAI_API_KEY)")
        if max_total_tokens is not None or max_cost is not None:
            raise fail_usage("--max-total-tokens and --max-cost do not apply to --via openai-batch")
        if not 0 <= poll_interval <= 3600:
            raise fail_usage(f"--poll-interval must be between 0 and 3600 seconds, got {poll_interval:g}")
    outline = load_outline(config.template)
    if max_cost is not None and not dry_run:
        from drafter.model.pricing import price_of

        if price_of(choice.spec, config.prices) is None:
            raise fail_usage(
                f"--max-cost needs a model with a known price, and {choice.spec} has none; "
                'add it to the config, e.g. [tool.drafter.prices] "NAME" = [input, output] USD per 1M tokens'
            )
    settings = SourceSettings.from_settings(
        config, notify=lambda message: emit(f"drafter: {message}", err=True)
    )
    refuse_terminal_stdin("", notes_file)
    from drafter.document.writer import check_regular, default_template

    for flag, target in (
        ("--report", report),
        ("--junit", junit),
        ("--summary", summary),
        ("--html-report", html_report),
    ):
        if target is not None:  # refused now, not after every draft was paid for
            check_regular(target, flag, hint="name a regular file")
    team_notes = load_notes(notes, notes_file)
    wanted = select_shard(
        dedupe(_collect(sources, from_file, repo, label, state, include_prs, settings), settings),
        shard_range,
        settings,
    )
    if dry_run:
        _dry_run(wanted, outline, choice.spec, settings, team_notes)
        return
    if choice.defaulted and choice.provider == OFFLINE:
        emit("drafter: no model configured (set OPENAI_API_KEY or --model); writing offline drafts", err=True)
    make_handle: Callable[[], Any] | None = None
    if choice.provider != OFFLINE:

        @functools.cache
        def make_handle() -> Any:  # built on the first draft: a re-run that drafts nothing skips it
            handle = build_handle(choice)
            attach_tracer(handle, trace, config)
            # The model stack is loaded and stays for the whole run: keep its hundreds of
            # thousands of objects out of the collector's full passes over the batch's garbage.
            gc.freeze()
            return handle

    interactive = sys.stderr.isatty() and not OUTPUT.quiet
    with _Progress(len(wanted), interactive) as progress:
        options = BatchOptions(
            out_dir=out_dir,
            draft=DraftOptions(
                model=choice,
                make_handle=make_handle,
                author=config.author or git_author(),
                deadline=config.deadline,
            ),
            settings=settings,
            notes=team_notes,
            concurrency=concurrency,
            force=force,
            max_total_tokens=max_total_tokens,
            max_cost=max_cost,
            prices=config.prices,
            on_item=progress,
            default_template=default_template(config),
        )
        if via is Via.openai_batch:
            from drafter.batch.openai_batch import StagedOptions, run_openai_batch

            staged = StagedOptions(
                poll_interval, on_event=lambda message: emit(f"drafter: {message}", err=True)
            )
            run = run_openai_batch(wanted, outline, options, staged)
        else:
            run = run_batch(wanted, outline, options)
    if html_report is not None:
        from drafter.batch.reports import review_page

        shown = review_page(run, html_report, outline, config.prices)
        emit(f"drafter: review page of {shown} draft{'' if shown == 1 else 's'}: {html_report}", err=True)
    _reports(run, report, junit, summary, config.env, html_report)
    for item in run.items:
        if item.status in ("written", "invalid", "partial") and item.path:
            emit(item.path)
    totals = run.totals()
    counts = ", ".join(f"{totals[name]} {name}" for name in STATUSES if totals[name])
    cost = cost_text(choice.spec, totals, config)
    emit(
        f"drafter: batch of {totals['items']} done in {totals['seconds']:.1f} s ({counts or 'nothing to do'}); "
        f"{totals['calls']} model calls, {totals['prompt_tokens']}+{totals['completion_tokens']} tokens"
        + (f", {cost} estimated" if cost else ""),
        err=True,
    )
    if run.interrupted:
        emit(
            f"drafter: {run.interrupted} stopped the batch: {totals['not-run']} issue(s) not run; "
            "run the same command again to finish them",
            err=True,
        )
    raise typer.Exit(run.exit_code())


def _dry_run(wanted: list[str], outline: Any, model: str, settings: Any, notes: Any) -> None:
    """``batch --dry-run``: each issue's prompts, as ``from-issue --dry-run`` prints them; no model call."""
    from drafter.cli.from_issue import DraftFormat, print_dry_run
    from drafter.sources import load_source

    for spec in wanted:
        ctx = load_source(spec, settings)
        emit(f"########## {spec}")
        print_dry_run(ctx.with_notes(notes) if notes else ctx, outline, model, DraftFormat.text)
    emit(f"drafter: dry run of {len(wanted)} issue(s); no model called, nothing written", err=True)
