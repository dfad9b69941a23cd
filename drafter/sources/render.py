"""What ``drafter fetch`` prints: the distilled context as markdown a person can check.

This is the user's view of exactly what the model will be given: the thread with each author's
role and date, the typed facts with their sources, a marker wherever the budget dropped comments,
what distilling dropped as noise, and the notes labelled as the team's own words, apart from the
(untrusted) thread.
"""

from __future__ import annotations

from drafter.sources.budget import gap_note
from drafter.sources.context import FACT_KINDS, Comment, Fact, IssueContext
from drafter.sources.distill import noise_text
from drafter.sources.roles import author_role, role_label

FACT_TITLES = {
    "decision": "Decisions",
    "workaround": "Workarounds",
    "proposal": "Proposals",
    "error": "Errors",
    "repro": "Reproduction",
    "expected": "Expected behaviour",
    "actual": "Actual behaviour",
    "figure": "Figures",
    "link": "Links",
    "identifier": "Identifiers",
}


def _meta(ctx: IssueContext) -> list[str]:
    kind = "pull request" if ctx.kind == "pull_request" else "issue"
    state = ctx.state + (f" ({ctx.state_reason})" if ctx.state_reason else "")
    if ctx.closed_at and ctx.state == "closed":
        state += f" on {ctx.closed_at[:10]}"
    rows = [
        ("Reference", ctx.reference if (ctx.repo or ctx.number) else ""),
        ("Tracker", ctx.tracker),
        ("Kind", kind),
        ("State", state),
        ("URL", ctx.url),
        ("Author", f"@{ctx.author} ({author_role(ctx)})" if ctx.author else ""),
        ("Created", ctx.created_at),
        ("Labels", ", ".join(ctx.labels)),
    ]
    return [f"- **{name}:** {value}" for name, value in rows if value]


def _comment(comment: Comment, ctx: IssueContext) -> list[str]:
    who = f"@{comment.author}" if comment.author else "(unknown author)"
    role = role_label(comment, ctx)
    details = ", ".join(x for x in (role, comment.date, "edited" if comment.edited else "") if x)
    lines = [f"### {who}" + (f" ({details})" if details else ""), ""]
    if comment.url:
        lines += [f"<{comment.url}>", ""]
    lines += [comment.body.rstrip() or "_(empty comment)_", ""]
    return lines


def fact_line(fact: Fact) -> str:
    """One fact as a list item: status, text, and who said it where (each on one line)."""
    status = f"**{fact.status}:** " if fact.status else ""
    who = ", ".join(x for x in (f"@{fact.author}" if fact.author else "", fact.role, fact.date) if x)
    line = f"- {status}{fact.text} ({fact.source}" + (f"; {who})" if who else ")")
    return " ".join(line.split())


def _facts(ctx: IssueContext) -> list[str]:
    lines = ["## Facts found in the thread", ""]
    for kind in FACT_KINDS:
        found = [f for f in ctx.facts if f.kind == kind]
        if found:
            lines += [f"**{FACT_TITLES[kind]}**", "", *(fact_line(f) for f in found), ""]
    return lines


def render_context_markdown(ctx: IssueContext) -> str:
    """Render ``ctx``: metadata, body, comments with roles, gaps, facts, noise dropped, links, notes."""
    lines = [f"# {ctx.title}", "", *_meta(ctx), ""]
    if not ctx.roles_known:
        lines += [
            "_The tracker did not say who maintains the project: every commenter but the reporter "
            "is listed as a participant._",
            "",
        ]
    lines += ["## Description", "", ctx.body.rstrip() or "_(no description)_", ""]
    total = len(ctx.comments) + ctx.omitted_comments
    if total:
        shown = f"{len(ctx.comments)} of {total}" if ctx.omitted_comments else str(total)
        lines += [f"## Comments ({shown})", ""]
        gaps = {gap.at: gap for gap in ctx.gaps}
        for index, comment in enumerate(ctx.comments):
            if index in gaps:
                lines += [f"**{gap_note(gaps[index])}**", ""]
            lines += _comment(comment, ctx)
        if len(ctx.comments) in gaps:
            lines += [f"**{gap_note(gaps[len(ctx.comments)])}**", ""]
    if ctx.facts:
        lines += _facts(ctx)
    if ctx.dropped:
        lines += ["## Dropped as noise", "", f"{noise_text(ctx.dropped)}.", ""]
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
