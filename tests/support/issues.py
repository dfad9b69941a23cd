"""Sample issues: corpus threads, a small GitHub-like issue in memory, and local markdown issues."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drafter.sources.context import Comment, IssueContext
from tests.support.paths import CORPUS

ISSUE_URL = "https://github.com/acme/widgets/issues/42"

# Four corpus threads of different sizes, for runs over several issues.
ISSUES = [
    CORPUS / "golang__go__36189.json",
    CORPUS / "brettwooldridge__HikariCP__664.json",
    CORPUS / "pypa__pip__10235.json",
    CORPUS / "readysettech__readyset__5.json",
]


def make_ctx(body: str = "", title: str = "Widgets leak file handles", **kw: Any) -> IssueContext:
    """A short open GitHub issue about a leaking widget pool, with one comment."""
    default_body = (
        "Opening many widgets leaks file handles in `WidgetPool`.\n\n"
        "We should close them in `WidgetPool.release`. See https://example.org/docs/widgets for the pool."
    )
    return IssueContext(
        title=title,
        body=body or default_body,
        tracker="github",
        url=ISSUE_URL,
        number="42",
        repo="acme/widgets",
        state="open",
        author="alice",
        comments=(
            Comment("c1", "bob", "I think the cause is the retry path.", ISSUE_URL + "#issuecomment-1"),
        ),
        **kw,
    )


def write_issues(folder: Path, count: int) -> list[str]:
    """``count`` small local issues (markdown files) in ``folder``, for batch and fault tests."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = []
    for index in range(count):
        path = folder / f"issue-{index:02d}.md"
        path.write_text(
            f"# Pool leaks handle number {index}\n\nOpening widget {index} leaks a file handle in the pool.\n",
            encoding="utf-8",
        )
        sources.append(str(path))
    return sources
