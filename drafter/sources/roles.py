"""Who speaks for the project: the role of each author in a thread.

A request from a user and a decision by a maintainer read alike in a thread; only the author's
relation to the project tells them apart. Trackers say it in different ways (GitHub's
``author_association``; GitLab and Jira say nothing in their comment APIs), so this module turns
what there is into one of three roles that the prompts, the facts and ``drafter fetch`` share.
"""

from __future__ import annotations

from drafter.sources.context import MAINTAINER, PARTICIPANT, REPORTER, Comment, IssueContext

MAINTAINER_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})


def repo_owner(ctx: IssueContext) -> str:
    """The account or group that owns the repository (``owner`` of ``owner/repo``), if known."""
    return ctx.repo.split("/", 1)[0] if "/" in ctx.repo else ""


def role_of(author: str, association: str, ctx: IssueContext) -> str:
    """``maintainer``, ``reporter`` or ``participant``.

    A maintainer is an OWNER, MEMBER or COLLABORATOR, or the account that owns the repository.
    Maintainer wins over reporter: a maintainer who opened the issue still speaks for the project.
    """
    if association.upper() in MAINTAINER_ASSOCIATIONS:
        return MAINTAINER
    owner = repo_owner(ctx)
    if owner and author and author.lower() == owner.lower():
        return MAINTAINER
    if author and author == ctx.author:
        return REPORTER
    return PARTICIPANT


def author_role(ctx: IssueContext) -> str:
    """The role of the issue's own author: ``reporter``, or ``maintainer`` when they are one."""
    return MAINTAINER if role_of(ctx.author, ctx.author_association, ctx) == MAINTAINER else REPORTER


def role_label(comment: Comment, ctx: IssueContext) -> str:
    """``maintainer``, ``reporter`` or ``participant``; both words for a maintainer who reported."""
    if comment.role == MAINTAINER and comment.author and comment.author == ctx.author:
        return "maintainer, reporter"
    return comment.role
