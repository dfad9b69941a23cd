"""Fit a thread into the ``--max-context`` character budget without losing what decides the design.

What a design doc cannot do without is the problem statement (title and body), what the
maintainers said, the comments that carry a decision, and the last word of the thread. Those are
kept first. The rest is filled in from both ends of the thread, so what goes is the middle of the
discussion by participants, which matters least. An oversized body or comment is cut in its middle
rather than dropped. Every run of dropped comments becomes a :class:`~drafter.sources.context.Gap` at the
place it was dropped, with how many comments and characters it held, so renderers print an
explicit marker there instead of a silent hole.
"""

from __future__ import annotations

from dataclasses import replace

from drafter.sources.context import MAINTAINER, Comment, Gap, IssueContext

COMMENT_OVERHEAD = 80  # author, role, date and permalink a renderer adds per comment
BODY_SHARE = 0.6  # at most this share of the budget goes to the body when there are comments


def clip(text: str, limit: int) -> str:
    """Cut ``text`` to about ``limit`` characters, keeping its start and end around a marker.

    Text no longer than the marker itself is never cut: the marker would be longer than the cut.
    """
    if len(text) <= max(limit, 96):
        return text
    marker_len = 48
    keep = max(limit - marker_len, 0)
    head = keep * 3 // 4
    tail = keep - head
    omitted = len(text) - head - tail
    end = text[len(text) - tail :] if tail else ""
    return f"{text[:head]}\n\n[... {omitted} characters omitted ...]\n\n{end}"


def _cost(comment: Comment) -> int:
    return len(comment.body) + len(comment.author) + COMMENT_OVERHEAD


def _essentials(ctx: IssueContext) -> list[int]:
    """Indices of the comments to keep first, most important first: the last word, then the
    comments carrying decisions, then the other maintainers' comments (newest first, since a
    later statement overrides an earlier one)."""
    deciding = {f.source for f in ctx.facts if f.kind == "decision"}
    last = len(ctx.comments) - 1
    order = [last] if last >= 0 else []
    newest_first = range(last - 1, -1, -1)
    order += [i for i in newest_first if f"comment:{ctx.comments[i].id}" in deciding]
    chosen = set(order)
    order += [i for i in newest_first if ctx.comments[i].role == MAINTAINER and i not in chosen]
    return order


def _from_the_ends(count: int, taken: set[int]) -> list[int]:
    """The other indices, alternately from the start and the end: the middle comes last."""
    order: list[int] = []
    low, high = 0, count - 1
    while low <= high:
        for index in (low, high) if low != high else (low,):
            if index not in taken:
                order.append(index)
        low += 1
        high -= 1
    return order


def apply_budget(ctx: IssueContext, max_chars: int) -> IssueContext:
    """Return ``ctx`` trimmed to roughly ``max_chars`` characters of thread text (notes excluded).

    A thread that fits is returned whole: nothing is cut from a body or a comment for a share
    it did not need.
    """
    if len(ctx.title) + len(ctx.body) + sum(_cost(c) for c in ctx.comments) <= max_chars:
        return ctx
    remaining = max(max_chars - len(ctx.title), 0)
    comments = list(ctx.comments)
    body_cap = int(remaining * BODY_SHARE) if comments else remaining
    body = clip(ctx.body, body_cap)
    remaining -= len(body)
    if not comments:
        return replace(ctx, body=body) if body != ctx.body else ctx

    # No single comment may eat more than a quarter of what is left, so several essentials fit.
    per_comment = max(remaining // 4 - COMMENT_OVERHEAD, 200)
    clipped = [
        replace(c, body=clip(c.body, per_comment)) if len(c.body) > per_comment else c for c in comments
    ]
    kept: set[int] = set()
    essentials = _essentials(replace(ctx, comments=tuple(clipped)))
    for index in essentials + _from_the_ends(len(clipped), set(essentials)):
        cost = _cost(clipped[index])
        if cost > remaining and index != len(clipped) - 1:
            continue  # a later, smaller comment may still fit
        remaining -= cost
        kept.add(index)
    if len(kept) == len(clipped) and body == ctx.body and clipped == comments:
        return ctx

    # Gaps from an earlier trim (a saved context read again) merge with the new ones around them.
    earlier: dict[int, list[Gap]] = {}
    for gap in ctx.gaps:
        earlier.setdefault(min(gap.at, len(comments)), []).append(gap)
    result: list[Comment] = []
    gaps: list[Gap] = []
    count = chars = 0
    for index in range(len(clipped) + 1):
        for gap in earlier.get(index, []):
            count, chars = count + gap.comments, chars + gap.chars
        if index == len(clipped):
            break
        if index in kept:
            if count:
                gaps.append(Gap(at=len(result), comments=count, chars=chars))
                count = chars = 0
            result.append(clipped[index])
        else:
            count, chars = count + 1, chars + len(comments[index].body)
    if count:
        gaps.append(Gap(at=len(result), comments=count, chars=chars))
    dropped = len(comments) - len(kept)
    return replace(
        ctx,
        body=body,
        comments=tuple(result),
        omitted_comments=ctx.omitted_comments + dropped,
        gaps=tuple(gaps),
    )


def gap_note(gap: Gap) -> str:
    """The marker text for one gap: how many comments, how many characters, and why."""
    noun = "comment" if gap.comments == 1 else "comments"
    size = f", {gap.chars:,} characters" if gap.chars else ""
    return f"[{gap.comments} {noun} omitted here{size}, to fit --max-context]"
