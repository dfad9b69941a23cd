"""Reports of a batch: JSON, JUnit XML, a markdown summary and GitHub Actions annotations.

Usage::

    run = run_batch(...)
    write_text(Path("report.json"), json_report(run))
    write_text(Path("junit.xml"), junit_report(run))
    append_step_summary(markdown_summary(run), os.environ)
    for line in github_annotations(run):
        print(line)

The JSON report is ``{"schema", "items": [{"source", "path", "status", "reason", "findings",
"usage", "seconds"}], "totals": {...}}``. In JUnit each issue is one testcase; ``failed`` and
``invalid`` and ``partial`` items are failures, ``skipped-*`` and ``not-run`` items are skipped.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from drafter.batch.runner import STATUSES, BatchItem, BatchRun
from drafter.config.redaction import redact
from drafter.document.writer import check_regular, write_atomic
from drafter.errors import WriteError
from drafter.template.outline import Outline

REPORT_SCHEMA = "drafter.batch.runner-report/1"
FAILURES = frozenset({"failed", "invalid", "partial"})
SKIPS = frozenset({"skipped-edited", "skipped-budget", "not-run"})
ANNOTATION_LIMIT = 50


def report_data(run: BatchRun) -> dict[str, Any]:
    """The JSON report as data."""
    return {"schema": REPORT_SCHEMA, "items": [item.to_dict() for item in run.items], "totals": run.totals()}


def json_report(run: BatchRun) -> str:
    return json.dumps(report_data(run), indent=2, ensure_ascii=False) + "\n"


def _errors(item: BatchItem) -> list[dict[str, Any]]:
    return [f for f in item.findings if f.get("severity") == "error"]


def _finding_line(finding: Mapping[str, Any]) -> str:
    return f"line {finding.get('line', 0)}: {finding.get('severity')} [{finding.get('rule')}] {finding.get('message')}"


def junit_report(run: BatchRun, *, suite: str = "drafter batch") -> str:
    """JUnit XML: one testcase per issue, named by its source."""
    totals = run.totals()
    failures = sum(1 for item in run.items if item.status in FAILURES)
    skipped = sum(1 for item in run.items if item.status in SKIPS)
    root = ET.Element("testsuites", name=suite, tests=str(len(run.items)), failures=str(failures))
    root.set("errors", "0")
    root.set("time", f"{totals['seconds']:.3f}")
    node = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(run.items)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=f"{totals['seconds']:.3f}",
    )
    for item in run.items:
        case = ET.SubElement(
            node, "testcase", classname="drafter.batch.runner", name=item.source, time=f"{item.seconds:.3f}"
        )
        if item.path:
            case.set("file", item.path)
        if item.status in FAILURES:
            failure = ET.SubElement(case, "failure", type=item.status, message=item.reason or item.status)
            failure.text = "\n".join(_finding_line(f) for f in _errors(item)) or (item.reason or "")
        elif item.status in SKIPS:
            ET.SubElement(case, "skipped", message=item.reason or item.status)
        out = ET.SubElement(case, "system-out")
        out.text = f"status: {item.status}" + (f"\npath: {item.path}" if item.path else "")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def markdown_summary(
    run: BatchRun,
    *,
    title: str = "drafter batch",
    page: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """A short markdown report for humans (and ``$GITHUB_STEP_SUMMARY``), naming the review
    ``page`` if one was written, with a link to the run's artifacts under GitHub Actions."""
    totals = run.totals()
    counts = ", ".join(f"{totals[name]} {name}" for name in STATUSES if totals[name])
    verdict = "all drafts ok" if run.ok else "some drafts need attention"
    lines = [
        f"## {title}: {verdict}",
        "",
        f"{totals['items']} issues: {counts or 'none'}. "
        f"{totals['calls']} model calls, {totals['prompt_tokens']}+{totals['completion_tokens']} tokens, "
        f"{totals['seconds']:.1f} s.",
        "",
    ]
    if run.items:
        lines += ["| Status | Source | Draft | Errors | Warnings | Note |", "|---|---|---|---:|---:|---|"]
        for item in run.items:
            errors = len(_errors(item))
            warnings = len(item.findings) - errors
            path = f"`{_cell(item.path)}`" if item.path else ""
            lines.append(
                f"| {item.status} | {_cell(item.source)} | {path} | {errors} | {warnings} | {_cell(item.reason or '')} |"
            )
        lines.append("")
    if page is not None:
        lines += [f"Review page: `{_cell(str(page))}`{_artifacts(env or {})}.", ""]
    return "\n".join(lines)


def _artifacts(env: Mapping[str, str]) -> str:
    """ ", uploaded with this run's artifacts (link)" under GitHub Actions, else nothing."""
    server, repo, run_id = (
        env.get(k, "").strip() for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    if not (server.startswith("https://") and repo and run_id.isdigit()):
        return ""
    return f", in [this run's artifacts]({server}/{repo}/actions/runs/{run_id}#artifacts) if the workflow uploads it"


PAGE_STATUSES = frozenset({"written", "unchanged", "invalid", "partial", "skipped-edited"})


def review_page(
    run: BatchRun, path: Path, outline: Outline, prices: Mapping[str, tuple[float, float]]
) -> int:
    """Write the review page (``--html-report``) of every draft the batch left on disk; their count."""
    from drafter.revise.page import offline_page

    drafts = [
        item.path
        for item in run.items
        if item.path and item.status in PAGE_STATUSES and Path(item.path).is_file()
    ]
    missing = [
        f"{item.source}: {item.status}, no draft on the page" + (f" ({item.reason})" if item.reason else "")
        for item in run.items
        if item.path not in drafts
    ]
    write_report(path, offline_page(drafts, outline, prices, notes=missing))
    return len(drafts)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(level: str, message: str, **properties: str | int | None) -> str:
    """One GitHub Actions workflow command: ``::error file=F,line=N,title=T::message``."""
    props = ",".join(f"{k}={_escape_property(str(v))}" for k, v in properties.items() if v not in (None, ""))
    return f"::{level}{' ' + props if props else ''}::{_escape_data(message)}"


def github_annotations(run: BatchRun, *, limit: int = ANNOTATION_LIMIT) -> Iterator[str]:
    """``::error``/``::warning`` lines: failed items, then validation findings of written drafts.

    Errors come before warnings, and at most ``limit`` lines are produced (GitHub shows only the
    first few per step anyway); a final ``::notice`` says how many were left out.
    """
    lines: list[str] = []
    for item in run.items:
        if item.status in ("failed", "partial"):
            title = f"drafter batch: {item.status}"
            lines.append(annotation("error", f"{item.source}: {item.reason}", title=title, file=item.path))
    for level in ("error", "warning"):
        for item in run.items:
            for finding in item.findings:
                if finding.get("severity") != level:
                    continue
                lines.append(
                    annotation(
                        level,
                        str(finding.get("message", "")),
                        file=item.path,
                        line=int(finding.get("line") or 1),
                        title=f"drafter [{finding.get('rule')}]",
                    )
                )
    yield from lines[:limit]
    if len(lines) > limit:
        yield annotation("notice", f"{len(lines) - limit} more drafter findings; see the batch report")


def append_step_summary(markdown: str, env: Mapping[str, str]) -> bool:
    """Append ``markdown`` to ``$GITHUB_STEP_SUMMARY`` when it is set; True if it was written."""
    target = env.get("GITHUB_STEP_SUMMARY", "").strip()
    if not target:
        return False
    check_regular(Path(target), "GITHUB_STEP_SUMMARY", hint="point it at a regular file, or unset it")
    try:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(redact(markdown.rstrip("\n")) + "\n\n")
    except OSError as exc:
        raise WriteError(f"cannot append to GITHUB_STEP_SUMMARY {target}: {exc.strerror or exc}") from None
    return True


def write_report(path: Path, text: str) -> None:
    """Write a report file atomically, creating its folder."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(
            f"cannot create the folder of {path}: {exc.strerror or exc}", hint="pick a writable path"
        ) from None
    write_atomic(path, text)
