"""``drafter review --format html`` and ``batch --html-report``: the review page, without a browser.

What a browser does with the page (sorting, folding, scripts that must not run) is checked in
``tests/browser``; here: what the page says, that untrusted text is escaped, that it loads nothing,
and the excerpts the state file keeps for it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from drafter.cli import app
from drafter.document.provenance import attach, read_draft, split_provenance, state_path
from drafter.document.render import EXCERPT_CHARS, excerpt
from drafter.document.writer import write_draft
from drafter.drafting.chains import plan
from drafter.model.choice import resolve_model
from drafter.model.handle import ModelHandle
from drafter.pipeline import DraftOptions, draft
from drafter.revise.markup import to_html, web_url
from drafter.sources.context import Comment, IssueContext, Note
from drafter.template.outline import load_outline
from tests.support.chat import SchemaChat

runner = CliRunner()
URL = "https://github.com/acme/exports/issues/7"
HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>"


def issue(title: str = "Export job times out", extra: str = "") -> IssueContext:
    long = "Batching would fix it. " * 40
    return IssueContext(
        title=title,
        body="The export job times out on large accounts. " + extra,
        tracker="github",
        url=URL,
        number="7",
        repo="acme/exports",
        author="alice",
        created_at="2026-11-02T10:00:00Z",
        comments=(
            Comment("101", "bob", long, f"{URL}#issuecomment-101", "2026-11-03T09:00:00Z", role="maintainer"),
            Comment(
                "102", "eve", f"{HOSTILE} [click](javascript:alert(2))", "javascript:alert(3)", "2026-11-04"
            ),
        ),
        notes=(Note("Keep the API stable."),),
    )


def write_issue(folder: Path, ctx: IssueContext, name: str = "issue.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(ctx.to_dict()), encoding="utf-8")
    return path


def offline_draft(folder: Path, ctx: IssueContext, name: str = "draft.md") -> Path:
    source = write_issue(folder, ctx, name.replace(".md", ".json"))
    out = folder / "docs" / name
    out.parent.mkdir(exist_ok=True)
    result = runner.invoke(
        app, ["from-issue", str(source), "--model", "offline", "--author", "Ada", "--out", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    return out


def model_draft(folder: Path, ctx: IssueContext, failed: list[str] | None = None) -> Path:
    """A draft "by" gpt-4o-mini (a fake that answers every chain), so tokens and cost are known."""
    outline = load_outline(None)
    chat = SchemaChat(specs=plan(outline))
    options = DraftOptions(
        model=resolve_model("openai:gpt-4o-mini", {"OPENAI_API_KEY": "sk-test"}),
        handle=ModelHandle(chat, "openai:gpt-4o-mini"),
        author="Ada",
    )
    result = draft(ctx, outline, options)
    text, provenance = result.text, result.provenance
    if failed:  # as if these sections' answers had stayed unusable
        provenance.failed = failed
        text = attach(split_provenance(text)[0], provenance)
    out = folder / "docs" / "model.md"
    out.parent.mkdir(exist_ok=True)
    write_draft(out, text, provenance.state_json())
    return out


def batch_with_page(page: Path, *sources: str | Path) -> Any:
    """An offline batch into ./docs with ``--html-report page``."""
    argv = [
        "batch",
        *map(str, sources),
        "--out-dir",
        "docs",
        "--model",
        "offline",
        "--html-report",
        str(page),
    ]
    return runner.invoke(app, argv)


def review_html(*args: str | Path) -> Any:
    return runner.invoke(app, ["review", "--model", "offline", "-f", "html", *(str(a) for a in args)])


class Page(HTMLParser):
    """Every start tag with its attributes, and the text outside script and style."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._skip = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def test_excerpts_of_cited_inputs_are_kept_in_the_state_file(tmp_path: Path) -> None:
    out = offline_draft(tmp_path, issue())
    state = json.loads(state_path(out).read_text(encoding="utf-8"))
    cited = {source for ids in state["section_sources"].values() for source in ids}
    assert cited and set(state["excerpts"]) == cited
    assert state["excerpts"]["issue"]["author"] == "alice"
    assert state["excerpts"]["issue"]["url"] == URL
    for quote in state["excerpts"].values():
        assert len(quote["text"]) <= EXCERPT_CHARS
    assert state["usage"] == {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0}


def test_an_excerpt_is_cut_at_a_word_with_an_ellipsis() -> None:
    text = excerpt("word " * 200)
    assert len(text) <= EXCERPT_CHARS and text.endswith("word…")
    assert excerpt("  short\n\ntext ") == "short text"


def test_the_page_has_a_row_and_a_view_per_draft_and_loads_nothing(tmp_path: Path) -> None:
    offline_draft(tmp_path, issue(), "one.md")
    offline_draft(tmp_path, issue("Second issue"), "two.md")
    (tmp_path / "docs" / "README.md").write_text("# Not a draft\n", encoding="utf-8")
    out = tmp_path / "review.html"
    result = review_html(tmp_path / "docs", "--out", out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out)
    html = out.read_text(encoding="utf-8")
    page = Page(html)
    rows = re.findall(r'<tr data-anchor="(draft-\d+)"', html)
    assert rows == ["draft-1", "draft-2"]  # the README is not a draft
    assert len(re.findall(r'<article class="draft"', html)) == 2
    # Nothing is loaded: no src, no stylesheet link, no remote url() in the style.
    assert not [t for t, a in page.tags if "src" in a]
    assert not page.all("link")
    assert "url(" not in html and "@import" not in html
    assert page.all("main") and page.all("header") and page.all("footer")


def test_the_csp_allows_only_the_pages_own_style_and_script(tmp_path: Path) -> None:
    offline_draft(tmp_path, issue())
    html = review_html(tmp_path / "docs").stdout
    csp = next(
        a["content"] for a in Page(html).all("meta") if a.get("http-equiv") == "Content-Security-Policy"
    )
    assert csp is not None and "default-src 'none'" in csp and "unsafe-inline" not in csp
    style = re.search(r"<style>(.*?)</style>", html, re.DOTALL)
    script = re.search(r"<script>(.*?)</script>", html, re.DOTALL)
    assert style and script and html.count("<script") == 1
    for block, directive in ((style.group(1), "style-src"), (script.group(1), "script-src")):
        digest = base64.b64encode(hashlib.sha256(block.encode("utf-8")).digest()).decode("ascii")
        assert f"{directive} 'sha256-{digest}'" in csp
    # No inline handler anywhere: every attribute name on the page is a known, inert one.
    assert not [name for _, attrs in Page(html).tags for name in attrs if name.startswith("on")]


def test_untrusted_text_is_shown_as_text(tmp_path: Path) -> None:
    ctx = issue(title=f"Export {HOSTILE} times out", extra=HOSTILE)
    out = offline_draft(tmp_path, ctx)
    # A human (or a model) writes hostile markup into a section: still text.
    text = out.read_text(encoding="utf-8").replace(
        "## 1.1 Context\n", f"## 1.1 Context\n\n{HOSTILE} [x](javascript:alert(4))\n", 1
    )
    out.write_text(text, encoding="utf-8")
    hostile_name = tmp_path / "docs" / "<img src=x onerror=alert(5)>.md"
    hostile_name.write_text(text, encoding="utf-8")
    html = review_html(out, hostile_name).stdout
    page = Page(html)
    assert not page.all("img") and len(page.all("script")) == 1
    assert "onerror=alert(1)" in "".join(page.text)  # shown, as text
    assert "<img src=x onerror=alert(5)>.md" in "".join(page.text)
    hrefs = [a["href"] or "" for a in page.all("a")]
    assert not [h for h in hrefs if not h.startswith(("#", "https://", "http://"))]
    for attrs in page.all("a"):
        if not (attrs["href"] or "").startswith("#"):
            assert attrs["rel"] == "noopener noreferrer"
    assert "<title>drafter review: 2 drafts</title>" in html


def test_markup_keeps_web_links_only() -> None:
    html = to_html(
        "[a](https://e.org/x) [b](javascript:alert(1)) [c](docs/x.md) ![i](https://e.org/i.png) <b>x</b>"
    )
    assert html.count("<a ") == 2  # the image became text and a link, the others lost their target
    assert 'href="https://e.org/x" rel="noopener noreferrer"' in html
    assert "javascript" not in html.split("[b]")[0] or 'href="javascript' not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert web_url("HTTPS://e.org") and not web_url("data:text/html,x") and not web_url("//e.org/x")


def test_findings_sources_and_markers_sit_beside_their_section(tmp_path: Path) -> None:
    out = offline_draft(tmp_path, issue())
    text = out.read_text(encoding="utf-8")
    out.write_text(
        text.replace(
            "## 1.1 Context\n",
            "## 1.1 Context\n\nTODO(drafter): verify reference `https: //x.example/y`\n",
            1,
        ),
        encoding="utf-8",
    )
    html = review_html(out).stdout
    context = html.split(">1.1 Context</h4>", 1)[1].split('<div class="section', 1)[0]
    assert '<mark class="verify"' in context
    assert "edited by a human" in context
    assert "structure/todo-left" in context  # the finding about this section's TODO, beside it
    assert "@alice" in context and "reporter" in context and "2026-11-02" in context
    assert '<span class="badge edited">edited by a human</span>' in html.split("</tbody>")[0]


def test_tokens_and_cost_come_from_the_state_file(tmp_path: Path) -> None:
    out = model_draft(tmp_path, issue())
    record = read_draft(out.read_text(encoding="utf-8"), out)
    assert record.state == "file" and record.provenance is not None
    usage = record.provenance.usage
    assert usage["calls"] == 3 and usage["prompt_tokens"] > 0
    row = review_html(out).stdout.split("<tbody>")[1].split("</tbody>")[0]
    total = usage["prompt_tokens"] + usage["completion_tokens"]
    assert f'data-sort="{total}">{total:,}<' in row
    assert re.search(r'data-label="Cost" data-sort="[\d.]+">\$\d+\.\d{4}<', row)


def test_a_partial_draft_is_marked(tmp_path: Path) -> None:
    out = model_draft(tmp_path, issue(), failed=["risks"])
    row = review_html(out).stdout.split("<tbody>")[1].split("</tbody>")[0]
    assert '<span class="badge partial">partial</span>' in row


def test_a_stale_draft_is_marked_with_drift(tmp_path: Path) -> None:
    out = offline_draft(tmp_path, issue())
    source = tmp_path / "draft.json"
    base = issue()
    changed = replace(
        base, comments=(*base.comments, Comment("103", "zed", "New idea.", created_at="2099-01-01"))
    )
    source.write_text(json.dumps(changed.to_dict()), encoding="utf-8")
    stale = review_html(out, "--drift", "--source", source).stdout
    assert '<span class="badge stale">stale</span>' in stale
    assert "comment 103 by @zed new" in stale
    quiet = review_html(out, "--source", source).stdout
    assert "badge stale" not in quiet and "run with <code>--drift</code>" in quiet


def test_review_out_refuses_a_folder_and_a_folder_without_drafts(tmp_path: Path) -> None:
    out = offline_draft(tmp_path, issue())
    result = review_html(out, "--out", tmp_path)
    assert result.exit_code == 2 and "is a directory" in result.stderr and "Traceback" not in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    result = review_html(empty)
    assert result.exit_code == 2 and "holds no drafts" in result.stderr


def test_other_formats_write_to_out_too(tmp_path: Path) -> None:
    out = offline_draft(tmp_path, issue())
    target = tmp_path / "review.json"
    result = runner.invoke(
        app, ["review", str(out), "--model", "offline", "-f", "json", "--out", str(target)]
    )
    assert result.exit_code == 0 and result.stdout.strip() == str(target)
    assert json.loads(target.read_text(encoding="utf-8"))[0]["path"] == str(out)


@pytest.mark.parametrize(
    "env",
    [{}, {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "42"}],
)
def test_batch_html_report_covers_the_drafts_and_is_named_in_the_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    monkeypatch.chdir(tmp_path)
    summary = tmp_path / "step-summary.md"
    summary.write_text("", encoding="utf-8")
    for name, value in {**env, "GITHUB_STEP_SUMMARY": str(summary)}.items():
        monkeypatch.setenv(name, value)
    first = write_issue(tmp_path, issue(), "a.json")
    second = write_issue(tmp_path, issue("Second issue"), "b.json")
    page = tmp_path / "reports" / "review.html"
    result = batch_with_page(page, first, second)
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.split()) == 2  # stdout stays the list of drafts
    html = page.read_text(encoding="utf-8")
    assert len(re.findall(r"<tr data-anchor=", html)) == 2
    said = summary.read_text(encoding="utf-8")
    assert f"Review page: `{page}`" in said
    assert ("https://github.com/o/r/actions/runs/42#artifacts" in said) == bool(env)
    assert "review page of 2 drafts" in result.stderr


def test_batch_html_report_is_refused_up_front_when_it_names_a_folder(tmp_path: Path) -> None:
    source = write_issue(tmp_path, issue())
    result = runner.invoke(
        app,
        [
            "batch",
            str(source),
            "--out-dir",
            str(tmp_path / "docs"),
            "--model",
            "offline",
            "--html-report",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2 and "--html-report" in result.stderr
    assert not (tmp_path / "docs").exists()  # nothing drafted before the refusal


def test_secrets_are_redacted_without_breaking_the_page(tmp_path: Path) -> None:
    out = offline_draft(tmp_path, issue())
    text = out.read_text(encoding="utf-8")
    title = text.split("\n", 1)[0]
    text = text.replace(title, "# Deprecate the password:plaintext", 1)
    text = text.replace(
        "### 1.1 Context\n", '### 1.1 Context\n\n`password="hunter2secret"` and api_key: "abcd1234efgh"\n', 1
    )
    out.write_text(text, encoding="utf-8")
    page_path = tmp_path / "review.html"
    assert review_html(out, "--out", page_path).exit_code == 0
    html = page_path.read_text(encoding="utf-8")
    assert "plaintext" not in html and "hunter2secret" not in html and "abcd1234efgh" not in html
    row = html.split("<tbody>")[1].split("</tbody>")[0]
    assert '[REDACTED]</a><div class="path">' in row  # the markup around it is whole
    assert len(re.findall(r"<code[ >]", html)) == html.count("</code>") and html.count("<a ") == html.count(
        "</a>"
    )


def test_a_secret_in_a_cited_comment_leaves_the_state_file_usable(tmp_path: Path) -> None:
    token = "ghp_" + "A1b2C3d4" * 5
    base = issue()
    leaky = replace(base, comments=(replace(base.comments[0], body=f"Use {token} to reproduce. " * 3),))
    out = offline_draft(tmp_path, leaky)
    state = state_path(out).read_text(encoding="utf-8")
    assert token not in state and token not in out.read_text(encoding="utf-8")
    record = read_draft(out.read_text(encoding="utf-8"), out)
    assert record.state == "file"  # not "stale": the digest is of the redacted state
    status = runner.invoke(app, ["status", str(out), "--source", str(tmp_path / "draft.json")])
    assert "edited by a human" not in status.stdout


def test_markers_are_marked_in_text_only_and_bidi_controls_are_dropped() -> None:
    html = to_html(
        "[m](https://ok.example/TODO(drafter)) TODO(drafter) @eve\u202erelo\n\n```TODO(drafter)x\ny\n```"
    )
    assert 'href="https://ok.example/TODO(drafter)" rel="noopener noreferrer"' in html
    assert html.count('<mark class="todo">') == 1
    assert 'class="language-TODO(drafter)x"' in html
    assert "\u202e" not in html and "@everelo" in html


def test_the_todo_count_leaves_out_the_offline_banner(tmp_path: Path) -> None:
    out = offline_draft(tmp_path, issue())
    text = out.read_text(encoding="utf-8")
    banner = [line for line in text.splitlines() if line.startswith(">") and "TODO(drafter)" in line]
    assert len(banner) == 1
    row = review_html(out).stdout.split("<tbody>")[1]
    expected = text.count("TODO(drafter)") - 1
    assert f'data-label="TODOs" data-sort="{expected}">{expected}<' in row


def test_a_draft_without_a_usable_state_says_so(tmp_path: Path) -> None:
    out = offline_draft(tmp_path, issue())
    state_path(out).unlink()
    html = review_html(out).stdout
    assert '<span class="badge no-state">no state</span>' in html
    assert "its state file is missing" in html


def test_the_page_does_not_fetch_a_url_source_without_drift(tmp_path: Path) -> None:
    outline = load_outline(None)
    options = DraftOptions(model=resolve_model("offline", {}), source_spec=URL, author="Ada")
    result = draft(issue(), outline, options)
    out = tmp_path / "draft.md"
    write_draft(out, result.text, result.provenance.state_json())
    # --block-network: a fetch would fail, and the page would carry the failure as a note.
    html = review_html(out).stdout
    assert "could not be read" not in html and "inputs not available" in html
    assert (
        '<a href="https://github.com/acme/exports/issues/7" rel="noopener noreferrer">github.com/acme/exports/issues/7</a>'
        in html
    )


def test_the_batch_page_names_the_issues_that_have_no_draft(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    good = write_issue(tmp_path, issue(), "a.json")
    page = tmp_path / "review.html"
    result = batch_with_page(page, good, "missing.json")
    assert result.exit_code == 1
    html = page.read_text(encoding="utf-8")
    assert "missing.json: failed, no draft on the page" in html
    assert "--drift" not in html  # batch has no such option to suggest
    assert "review page of 1 draft:" in result.stderr
