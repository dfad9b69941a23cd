"""The --max-context budget: keep title, body, first and last comments; drop and count the middle."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from drafter.sources import apply_budget, load_source, render_context_markdown
from drafter.sources.budget import gap_note
from drafter.sources.context import Comment, Fact, Gap, IssueContext

from .conftest import make_settings

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "corpus"
HIKARI = CORPUS / "brettwooldridge__HikariCP__664.json"


def _size(ctx: IssueContext) -> int:
    return len(ctx.title) + len(ctx.body) + sum(len(c.body) + len(c.author) + 80 for c in ctx.comments)


def test_corpus_thread_fits_untouched_by_default() -> None:
    ctx = load_source(str(HIKARI), make_settings())
    assert len(ctx.comments) == 8 and ctx.omitted_comments == 0


def test_corpus_thread_keeps_the_decisive_comments_and_drops_the_middle() -> None:
    full = load_source(str(HIKARI), make_settings())
    ctx = load_source(str(HIKARI), make_settings(max_context=9_500))
    assert ctx.title == full.title
    assert ctx.body == full.body  # 5.5k body fits in the body share
    assert 0 < ctx.omitted_comments < 8
    assert len(ctx.comments) + ctx.omitted_comments == 8
    kept = [c.id for c in ctx.comments]
    assert kept == [c.id for c in full.comments if c.id in kept]  # order preserved
    # The maintainer's comments (which carry the decisions) and the last word always stay.
    maintainers = [c.id for c in full.comments if c.role == "maintainer"]
    assert set(maintainers) <= set(kept) and kept[-1] == full.comments[-1].id
    # Each run of dropped comments is one gap that says where and how much.
    assert sum(gap.comments for gap in ctx.gaps) == ctx.omitted_comments
    dropped_chars = sum(len(c.body) for c in full.comments if c.id not in kept)
    assert sum(gap.chars for gap in ctx.gaps) == dropped_chars
    text = render_context_markdown(ctx)
    for gap in ctx.gaps:
        marker = gap_note(gap)
        assert marker in text
        if 0 < gap.at < len(ctx.comments):  # between the comments around it
            before = ctx.comments[gap.at - 1].body[:30]
            after = ctx.comments[gap.at].body[:30]
            assert text.index(before) < text.index(marker) < text.index(after)


def test_decisions_outrank_participants_under_a_tight_budget() -> None:
    comments = tuple(
        Comment(id=str(i), author=f"user{i}", body=f"participant chat {i} " + "x" * 400, role="participant")
        for i in range(10)
    )
    decision = Comment(id="d", author="lead", body="We won't add the flag. " + "y" * 300, role="maintainer")
    ctx = IssueContext(title="t", body="b", comments=comments[:5] + (decision,) + comments[5:])
    ctx = replace(ctx, facts=(Fact("decision", "We won't add the flag.", "comment:d", "lead", "maintainer"),))
    out = apply_budget(ctx, 1_500)
    ids = [c.id for c in out.comments]
    assert "d" in ids and ids[-1] == "9"
    assert "4" not in ids and "5" not in ids  # the middle goes first


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
    earlier = (Gap(at=3, comments=5, chars=4_500),)
    ctx = replace(IssueContext(title="t", body="b", comments=comments), omitted_comments=5, gaps=earlier)
    out = apply_budget(ctx, 5_000)
    assert out.omitted_comments > 5
    assert len(out.comments) + out.omitted_comments == 25
    assert sum(gap.comments for gap in out.gaps) == out.omitted_comments


def test_a_thread_that_fits_is_not_cut_at_all() -> None:
    big_body = "B" * 40_000
    big_comment = Comment(id="1", author="lead", body="C" * 15_000, role="maintainer")
    ctx = IssueContext(title="t", body=big_body, comments=(big_comment,))
    assert apply_budget(ctx, 60_000) is ctx
    short = IssueContext(title="T" * 2_500, body="A short body of forty-one characters.")
    assert apply_budget(short, 2_000).body == short.body  # never a marker longer than the text
