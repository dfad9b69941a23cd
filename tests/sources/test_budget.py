"""The --max-context budget: keep title, body, first and last comments; drop and count the middle."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from drafter.context import Comment, IssueContext
from drafter.sources import apply_budget, load_source, render_context_markdown

from .conftest import make_settings

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "corpus"
HIKARI = CORPUS / "brettwooldridge__HikariCP__664.json"


def _size(ctx: IssueContext) -> int:
    return len(ctx.title) + len(ctx.body) + sum(len(c.body) + len(c.author) + 80 for c in ctx.comments)


def test_corpus_thread_fits_untouched_by_default() -> None:
    ctx = load_source(str(HIKARI), make_settings())
    assert len(ctx.comments) == 8 and ctx.omitted_comments == 0


def test_corpus_thread_drops_the_middle() -> None:
    full = load_source(str(HIKARI), make_settings())
    ctx = load_source(str(HIKARI), make_settings(max_context=9_500))
    assert ctx.title == full.title
    assert ctx.body == full.body  # 5.5k body fits in the body share
    assert 0 < ctx.omitted_comments < 8
    assert len(ctx.comments) + ctx.omitted_comments == 8
    assert ctx.comments[0].id == full.comments[0].id
    assert ctx.comments[-1].id == full.comments[-1].id
    kept = [c.id for c in ctx.comments]
    assert kept == [c.id for c in full.comments if c.id in kept]  # order preserved
    text = render_context_markdown(ctx)
    assert f"[{ctx.omitted_comments} comments omitted]" in text or "[1 comment omitted]" in text
    # The marker sits between the kept head and the kept tail.
    head = ctx.comments[ctx.omitted_at - 1].body[:30]
    tail = ctx.comments[ctx.omitted_at].body[:30]
    assert text.index(head) < text.index("omitted]") < text.index(tail)


def test_two_thousand_comments_and_a_5mb_body() -> None:
    comments = tuple(
        Comment(id=str(i), author=f"user{i}", body=f"comment {i} " + "x" * 300) for i in range(2000)
    )
    ctx = IssueContext(title="Huge", body="B" * 5_000_000 + "END", comments=comments)
    out = apply_budget(ctx, 60_000)
    assert _size(out) <= 60_000 + 200
    assert out.body.startswith("BBBB") and out.body.endswith("END")
    assert "characters omitted" in out.body
    assert out.comments[0].id == "0" and out.comments[-1].id == "1999"
    assert len(out.comments) + out.omitted_comments == 2000
    assert out.omitted_comments > 1800


def test_giant_single_comment_is_clipped_not_dropped() -> None:
    comments = (
        Comment(id="a", author="x", body="first"),
        Comment(id="b", author="y", body="z" * 1_000_000),
        Comment(id="c", author="w", body="last"),
    )
    out = apply_budget(IssueContext(title="t", body="b", comments=comments), 10_000)
    assert [c.id for c in out.comments] == ["a", "b", "c"]
    assert "characters omitted" in out.comments[1].body
    assert out.omitted_comments == 0


def test_small_thread_is_returned_unchanged() -> None:
    ctx = IssueContext(title="t", body="b", comments=(Comment(id="1", author="a", body="c"),))
    assert apply_budget(ctx, 2_000) is ctx


def test_budget_adds_to_an_earlier_omission() -> None:
    comments = tuple(Comment(id=str(i), author="a", body="y" * 900) for i in range(20))
    ctx = replace(IssueContext(title="t", body="b", comments=comments), omitted_comments=5, omitted_at=3)
    out = apply_budget(ctx, 5_000)
    assert out.omitted_comments > 5
    assert len(out.comments) + out.omitted_comments == 25
