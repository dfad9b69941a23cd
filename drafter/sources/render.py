"""What ``drafter fetch`` prints: the gathered context as markdown a person can check.

This is the user's view of exactly what the model will be given, so it shows everything the
IssueContext holds, marks where comments were dropped by the budget, and labels the notes as the
team's own words, apart from the (untrusted) thread.
"""

from __future__ import annotations

from drafter.context import Comment, IssueContext


def _meta(ctx: IssueContext) -> list[str]:
    kind = "pull request" if ctx.kind == "pull_request" else "issue"
    rows = [
        ("Reference", ctx.reference if (ctx.repo or ctx.number) else ""),
        ("Tracker", ctx.tracker),
        ("Kind", kind),
        ("State", ctx.state),
        ("URL", ctx.url),
        ("Author", f"@{ctx.author}" if ctx.author else ""),
        ("Created", ctx.created_at),
        ("Labels", ", ".join(ctx.labels)),
    ]
    return [f"- **{name}:** {value}" for name, value in rows if value]


def _comment(comment: Comment) -> list[str]:
    who = f"@{comment.author}" if comment.author else "(unknown author)"
    when = f" on {comment.created_at}" if comment.created_at else ""
    lines = [f"### {who}{when}", ""]
    if comment.url:
        lines += [f"<{comment.url}>", ""]
    lines += [comment.body.rstrip() or "_(empty comment)_", ""]
    return lines


def render_context_markdown(ctx: IssueContext) -> str:
    """Render ``ctx`` (title, metadata, body, comments, omitted marker, links, team notes)."""
    lines = [f"# {ctx.title}", "", *_meta(ctx), "", "## Description", ""]
    lines += [ctx.body.rstrip() or "_(no description)_", ""]
    total = len(ctx.comments) + ctx.omitted_comments
    if total:
        shown = f"{len(ctx.comments)} of {total}" if ctx.omitted_comments else str(total)
        lines += [f"## Comments ({shown})", ""]
        at = min(ctx.omitted_at, len(ctx.comments))
        for comment in ctx.comments[:at]:
            lines += _comment(comment)
        if ctx.omitted_comments:
            noun = "comment" if ctx.omitted_comments == 1 else "comments"
            lines += [f"**[{ctx.omitted_comments} {noun} omitted]** (over the --max-context budget)", ""]
        for comment in ctx.comments[at:]:
            lines += _comment(comment)
    if ctx.links:
        lines += ["## Linked issues and pull requests", ""]
        lines += [f"- {url}" for url in ctx.links]
        lines += [""]
    if ctx.notes:
        lines += ["## Team notes (the team's own words, not from the thread)", ""]
        for note in ctx.notes:
            source = "" if note.source == "cli" else f" _(from {note.source})_"
            lines += [f"### Note{source}", "", note.text.rstrip(), ""]
    return "\n".join(lines).rstrip() + "\n"
