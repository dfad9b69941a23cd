"""Fit a thread into the ``--max-context`` character budget without losing its shape.

The model needs the problem statement (title and body), how the discussion started and where it
ended up; the middle of a 2,000-comment thread matters least. So the title is always kept, an
oversized body is cut in the middle, and comments are taken alternately from the start and the end
until the budget is spent. What is dropped is counted in ``omitted_comments`` (with its position in
``omitted_at``) so renderers print an explicit "[N comments omitted]" marker instead of a silent gap.
"""

from __future__ import annotations

from dataclasses import replace

from drafter.context import Comment, IssueContext

COMMENT_OVERHEAD = 80  # author, date and permalink lines a renderer adds per comment
BODY_SHARE = 0.6  # at most this share of the budget goes to the body when there are comments


def clip(text: str, limit: int) -> str:
    """Cut ``text`` to about ``limit`` characters, keeping its start and end around a marker."""
    if len(text) <= limit:
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


def apply_budget(ctx: IssueContext, max_chars: int) -> IssueContext:
    """Return ``ctx`` trimmed to roughly ``max_chars`` characters of thread text (notes excluded)."""
    remaining = max(max_chars - len(ctx.title), 0)
    comments = list(ctx.comments)
    body_cap = int(remaining * BODY_SHARE) if comments else remaining
    body = clip(ctx.body, body_cap)
    remaining -= len(body)
    if not comments:
        return replace(ctx, body=body) if body != ctx.body else ctx

    # No single comment may eat more than a quarter of what is left, so first and last both fit.
    per_comment = max(remaining // 4 - COMMENT_OVERHEAD, 200)
    clipped = [
        replace(c, body=clip(c.body, per_comment)) if len(c.body) > per_comment else c for c in comments
    ]
    front: list[Comment] = []
    back: list[Comment] = []
    low, high = 0, len(clipped) - 1
    take_front = True
    while low <= high:
        candidate = clipped[low] if take_front else clipped[high]
        cost = _cost(candidate)
        must_keep = (take_front and low == 0) or (not take_front and high == len(clipped) - 1)
        if cost > remaining and not must_keep:
            break
        remaining -= cost
        if take_front:
            front.append(candidate)
            low += 1
        else:
            back.append(candidate)
            high -= 1
        take_front = not take_front
    dropped = high - low + 1
    kept = tuple(front + back[::-1])
    if dropped == 0 and body == ctx.body and kept == ctx.comments:
        return ctx
    omitted_at = len(front) if dropped else ctx.omitted_at
    return replace(
        ctx,
        body=body,
        comments=kept,
        omitted_comments=ctx.omitted_comments + dropped,
        omitted_at=omitted_at,
    )
