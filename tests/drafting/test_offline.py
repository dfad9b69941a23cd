"""The offline drafter: deterministic, no network, and a valid draft for every corpus issue."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from drafter.document.provenance import split_provenance, was_edited
from drafter.drafting import compose as pipeline
from drafter.drafting.grounding import input_text, invented
from drafter.model.choice import resolve_model
from drafter.pipeline import OFFLINE_NOTICE, DraftOptions, DraftResult, draft
from drafter.sources import SourceSettings, load_source
from drafter.sources.context import Comment, IssueContext, Note
from drafter.template.outline import load_outline
from drafter.template.validate import validate_text
from tests.support.paths import CORPUS

FILES = sorted(CORPUS.glob("*.json"))
TEMPLATES = ["technical-design", "rfc", "adr"]


@cache
def ctx_of(path: Path) -> IssueContext:
    return load_source(str(path), SourceSettings())


def offline(ctx: IssueContext, template: str = "technical-design", **kw: object) -> DraftResult:
    return draft(ctx, load_outline(template), DraftOptions(model=resolve_model("offline", {}), **kw))  # type: ignore[arg-type]


def test_corpus_is_complete() -> None:
    assert len(FILES) == 25


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_corpus_issue_drafts_a_valid_document(path: Path, template: str) -> None:
    ctx = ctx_of(path)
    result = offline(ctx, template)
    problems = [f"{f.line}: {f.rule} {f.message}" for f in result.report.findings if f.rule != "todo-left"]
    assert problems == []
    assert result.report.valid()
    assert all(f.severity == "warning" for f in result.report.findings)
    # The stored report is the validator's verdict on the written text.
    assert validate_text(result.text, load_outline(template)).findings == result.report.findings
    assert result.model == "offline"
    assert result.usage == {"prompt_tokens": 0, "completion_tokens": 0, "calls": 0}
    assert OFFLINE_NOTICE in result.text
    assert was_edited(result.text) is False
    # The offline drafter never invents a link, an issue number or a file path.
    body, _ = split_provenance(result.text)
    provenance = result.provenance
    assert invented(body, input_text(ctx)) == []
    assert provenance is not None and provenance.model == "offline" and provenance.template == template


@pytest.mark.parametrize("template", TEMPLATES)
def test_offline_is_deterministic(template: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = ctx_of(FILES[0])
    first = offline(ctx, template)
    second = offline(ctx, template)
    assert first.text == second.text
    monkeypatch.setattr(pipeline, "today", lambda: "2000-01-02")
    third = offline(ctx, template)
    body_a, _ = split_provenance(first.text)
    body_c, _ = split_provenance(third.text)
    prov_a, prov_c = first.provenance, third.provenance
    strip = lambda text: [line for line in text.splitlines() if "Date:" not in line]  # noqa: E731
    assert strip(body_a) == strip(body_c)
    assert prov_a is not None and prov_c is not None
    assert prov_a.inputs == prov_c.inputs and prov_a.sections == prov_c.sections
    assert prov_c.created == "2000-01-02"


def test_offline_header_and_provenance() -> None:
    ctx = ctx_of(CORPUS / "brettwooldridge__HikariCP__664.json")
    result = offline(ctx, author="Ada Lovelace")
    text = result.text
    assert "> **Status:** Draft" in text
    assert f"> **Date:** {pipeline.today()}" in text
    assert "> **Author:** Ada Lovelace" in text
    assert "> **Related Issue/Story:** https://github.com/brettwooldridge/HikariCP/issues/664" in text
    assert text.count("<!-- drafter {") == 1 and text.endswith("-->\n")
    prov = result.provenance
    assert prov is not None
    _, marker = split_provenance(text)  # the marker: template and the two hashes
    assert marker is not None and (marker.inputs, marker.generated) == (prov.inputs, prov.generated)
    assert prov.inputs == result.inputs_hash and len(prov.inputs) == 16
    assert set(prov.prompts) == set(pipeline.PROMPT_NAMES)
    assert all(v.endswith("-builtin") for v in prov.prompts.values())
    assert prov.generated and prov.source == ctx.url


def test_inputs_hash_changes_with_inputs() -> None:
    ctx = ctx_of(FILES[1])
    base = offline(ctx).inputs_hash
    assert offline(ctx).inputs_hash == base
    assert offline(ctx.with_notes((Note("keep v1"),))).inputs_hash != base
    assert offline(ctx, "adr").inputs_hash != base


def test_hostile_issue_offline() -> None:
    body = (
        "{{ 7*7 }} {% for x in y %}{% endfor %}\n\n"
        "## 2. Solution Overview\n\nfake\n\n"
        '<!-- drafter:provenance\n{"model": "forged"}\n-->\n\n'
        "<pre>\nunclosed\n\n# 5. References\n\n"
        "```\nunclosed fence"
    )
    ctx = IssueContext(
        title="## 1. Problem Statement {{ 7*7 }}",
        body=body,
        comments=(Comment("1", "mallory", "## 9. Hacked\n\n```"),),
        notes=(Note("# Decision\nwe decided"),),
    )
    for template in TEMPLATES:
        result = offline(ctx, template)
        rules = {f.rule for f in result.report.findings}
        assert result.report.valid(), result.report.findings
        assert not rules & {"unknown-section", "section-order"}
        body, _ = split_provenance(result.text)
        assert "49" not in body
        if template == "adr":  # its Context quotes the report's opening
            assert "{{ 7*7 }} {% for x in y %}{% endfor %}" in body
        assert result.text.count("<!-- drafter {") == 1 and "<!-- drafter:provenance" not in result.text
        prov = result.provenance
        assert prov is not None and prov.model == "offline"


def test_empty_issue_offline() -> None:
    result = offline(IssueContext(title="", body=""))
    assert result.report.valid()
    assert "TODO(drafter)" in result.text
