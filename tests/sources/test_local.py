"""Local sources: markdown/text files, corpus JSON, drafter JSON, stdin, notes, and their errors."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from drafter.errors import InputError, SourceError
from drafter.sources import load_notes, load_source
from drafter.sources.context import IssueContext
from drafter.sources.distill import TEMPLATE, strip_html_comments

from .conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
LOCAL = ROOT / "tests" / "fixtures" / "local"


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.json")), ids=lambda p: p.stem)
def test_every_corpus_file_loads(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    ctx = load_source(str(path), make_settings())
    assert ctx.title == data["title"]
    assert ctx.body == strip_html_comments(data["body"])[0]
    assert ctx.tracker == "github"
    assert ctx.url == data["html_url"]
    # Comments are kept in order; the bots', "+1"s and tool output are dropped and counted.
    noise = sum(count for kind, count in ctx.dropped if kind != TEMPLATE)
    assert len(ctx.comments) + noise == len(data["comments_list"])
    logins = iter(c["user"]["login"] for c in data["comments_list"])
    assert all(any(c.author == login for login in logins) for c in ctx.comments)
    assert all(c.role in ("reporter", "maintainer", "participant") for c in ctx.comments)
    assert ctx.kind == ("pull_request" if data.get("pull_request") else "issue")
    assert ctx.labels == tuple(label["name"] for label in data["labels"])


def test_markdown_title_is_first_heading() -> None:
    ctx = load_source(str(LOCAL / "heading-issue.md"), make_settings())
    assert ctx.title == "Cache invalidation for the pricing service"
    assert ctx.tracker == "local"
    assert ctx.body.startswith("Some preface text")
    assert "# Cache invalidation" not in ctx.body
    assert "## What we want" in ctx.body
    assert "https://github.com/golang/go/issues/36189" in ctx.links
    assert "https://github.com/pypa/pip/issues/10235" in ctx.links


def test_text_title_is_first_line() -> None:
    ctx = load_source(str(LOCAL / "first-line.txt"), make_settings())
    assert ctx.title == "Add retries to the exporter"
    assert ctx.body.startswith("The exporter gives up")


def test_stdin_markdown_and_json() -> None:
    ctx = load_source("-", make_settings(), stdin=lambda: io.BytesIO(b"# From a pipe\n\nbody text\n"))
    assert (ctx.title, ctx.body) == ("From a pipe", "body text")
    data = (CORPUS / "golang__go__36189.json").read_bytes()
    ctx = load_source("-", make_settings(), stdin=lambda: io.BytesIO(data))
    assert ctx.repo == "golang/go" and ctx.number == "36189"


def test_drafter_json_round_trip(tmp_path: Path) -> None:
    ctx = IssueContext(title="T", body="B", labels=("x",), links=("https://github.com/a/b/issues/2",))
    path = tmp_path / "ctx.json"
    path.write_text(json.dumps(ctx.to_dict()), encoding="utf-8")
    assert load_source(str(path), make_settings()) == ctx


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"  \n\n", "is empty"),
        (b"# Title\x00\x01", "NUL bytes"),
        (b"# Caf\xe9\n", "not valid UTF-8"),
    ],
)
def test_bad_text_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "issue.md"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        load_source(str(path), make_settings())


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ('{"title": "x", "body": "y"', "not valid JSON \\(line 1"),
        ("[1, 2]", "holds a JSON list"),
        ('{"name": "not an issue"}', "no string 'title'"),
        ('{"title": "x", "body": "y", "comments_list": {"a": 1}}', "not a list of objects"),
        ('{"schema": "drafter.issue-context/1", "title": "x"}', "not a valid drafter issue context"),
        ('{"schema": "drafter.issue-context/9", "title": "x"}', "does not read"),
        ('{"title": "x", "body": 5}', "no string 'title'"),
    ],
)
def test_wrong_json_shapes(tmp_path: Path, payload: str, message: str) -> None:
    path = tmp_path / "issue.json"
    path.write_text(payload, encoding="utf-8")
    with pytest.raises(SourceError, match=message):
        load_source(str(path), make_settings())


def test_directory_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "issue.md"
    folder.mkdir()
    with pytest.raises(InputError, match="is a directory"):
        load_source(str(folder), make_settings())


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "issue.md"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        load_source(str(fifo), make_settings())
    with pytest.raises(InputError, match="not a regular file"):
        load_notes(files=[str(fifo)])


def test_missing_and_unsupported_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_source(str(tmp_path / "nope.md"), make_settings())
    with pytest.raises(SourceError, match="not a file or a supported URL"):
        load_source("just-words", make_settings())
    other = tmp_path / "issue.pdf"
    other.write_bytes(b"%PDF")
    with pytest.raises(SourceError, match="unsupported file type '.pdf'"):
        load_source(str(other), make_settings())


def test_notes_from_flags_files_and_stdin() -> None:
    notes = load_notes(
        ["keep the v1 API", "ship behind a flag"],
        [str(LOCAL / "notes.md"), "-"],
        stdin=lambda: io.BytesIO(b"from a pipe\n"),
    )
    assert [n.text for n in notes] == [
        "keep the v1 API",
        "ship behind a flag",
        "The exporter must keep the v1 wire format.",
        "from a pipe",
    ]
    assert [n.source for n in notes] == ["cli", "cli", str(LOCAL / "notes.md"), "stdin"]


def test_notes_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="empty text"):
        load_notes(["  "])
    empty = tmp_path / "n.md"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="is empty"):
        load_notes(files=[str(empty)])
    with pytest.raises(InputError, match="does not exist"):
        load_notes(files=[str(tmp_path / "missing.md")])
    with pytest.raises(InputError, match="more than once"):
        load_notes(files=["-", "-"])
