"""Nothing blocks on a target or an input that will never be opened (issue 18, item 6).

A FIFO, socket or device as ``--out``, ``--trace``, a state file, a batch report or a draft's
place is refused in one line before anything is opened; ``--out -`` prints the draft on stdout;
SOURCE and ``--notes-file`` refuse FIFOs, and ``-`` refuses a terminal on stdin.

Commands that could block run in a child process. The child's ``timeout`` is only a hang guard
(far above the few seconds a run takes on a loaded machine): every outcome here is decided by
``stat`` and ``isatty``, never by a clock.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drafter.cli import app
from drafter.document.provenance import split_provenance
from drafter.document.writer import check_regular, write_atomic
from drafter.errors import WriteError
from drafter.template.outline import load_outline
from drafter.template.validate import validate_text
from tests.support.paths import EXAMPLE

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")

HANG_GUARD = 300  # seconds; a run takes a few. Reaching it means something blocked.


def drafter(
    *args: str | Path, cwd: Path, stdin: int | None = subprocess.DEVNULL
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "drafter", *(str(a) for a in args)],
        cwd=cwd,
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=False,
    )


def one_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


def leftovers(folder: Path, *keep: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.md"
    os.mkfifo(path)
    return path


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "s.md"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))
        yield path


# -- --out ------------------------------------------------------------------------------------------
def test_out_on_a_fifo_is_refused_in_one_line_and_the_fifo_is_left_alone(tmp_path: Path, fifo: Path) -> None:
    proc = drafter("from-issue", EXAMPLE, "-m", "offline", "--out", fifo, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    line = one_error(proc)
    assert "pipe.md is a FIFO or pipe, not a regular file" in line and "--out -" in line
    assert proc.stdout == ""
    assert fifo.is_fifo() and leftovers(tmp_path, "pipe.md") == []


def test_out_on_a_device_or_a_socket_is_refused(tmp_path: Path, unix_socket: Path) -> None:
    for target, kind in (("/dev/null", "a character device"), (unix_socket, "a socket")):
        proc = drafter("from-issue", EXAMPLE, "-m", "offline", "--out", target, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert f"is {kind}, not a regular file" in one_error(proc)
    assert leftovers(tmp_path, "s.md") == []


def test_out_dev_stdout_into_a_pipe_is_refused_with_the_way_to_print(tmp_path: Path) -> None:
    """``--out /dev/stdout | cat`` hung: it is a pipe, so it is refused and ``--out -`` is named."""
    proc = drafter("from-issue", EXAMPLE, "-m", "offline", "--out", "/dev/stdout", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "pass --out - to print the draft on stdout" in one_error(proc)
    assert proc.stdout == "" and leftovers(tmp_path) == []


def test_out_dash_prints_the_draft_with_its_marker_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    args = ["from-issue", str(EXAMPLE), "-m", "offline", "--author", "Ada"]
    printed = CliRunner().invoke(app, [*args, "--out", "-"])
    assert printed.exit_code == 0, printed.stderr
    assert leftovers(work) == []  # no draft, no state file, no temporary file
    assert "drafter: written to stdout" in printed.stderr
    body, provenance = split_provenance(printed.stdout)
    assert provenance is not None and printed.stdout.startswith("# ")
    assert validate_text(printed.stdout, load_outline(None)).valid()

    saved = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "d.md")])
    assert saved.exit_code == 0, saved.stderr
    # The same draft as a file would hold; stdout carries nothing else (the path goes unprinted).
    assert split_provenance((tmp_path / "d.md").read_text(encoding="utf-8"))[0] == body


def test_out_dash_refuses_what_needs_a_file(tmp_path: Path) -> None:
    base = ["from-issue", str(EXAMPLE), "-m", "offline", "--out", "-"]
    for extra, fragment in ((["--format", "json"], "--format json"), (["--edit"], "--edit")):
        result = CliRunner().invoke(app, [*base, *extra])
        assert result.exit_code == 2 and result.stdout == "", result.output
        assert fragment in result.stderr and "--out FILE" in result.stderr


def test_a_fifo_as_the_state_file_is_refused_before_drafting(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "d.md.drafter.json")
    proc = drafter("from-issue", EXAMPLE, "-m", "offline", "--out", "d.md", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "state file d.md.drafter.json is a FIFO" in one_error(proc)
    assert leftovers(tmp_path, "d.md.drafter.json") == []


def test_trace_on_a_fifo_is_refused(tmp_path: Path, fifo: Path) -> None:
    proc = drafter("from-issue", EXAMPLE, "-m", "offline", "--out", "d.md", "--trace", fifo, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "--trace" in one_error(proc) and "FIFO" in proc.stderr


def test_batch_skips_a_fifo_where_a_draft_goes_and_refuses_a_fifo_report(tmp_path: Path) -> None:
    issue = tmp_path / "issue.md"
    issue.write_text("# Pool leaks\n\nOpening a widget leaks a handle.\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "local-pool-leaks.md")
    proc = drafter("batch", issue, "-m", "offline", "--out-dir", out, cwd=tmp_path)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "is a FIFO or pipe" in proc.stderr

    os.mkfifo(tmp_path / "report.json")
    proc = drafter(
        "batch", issue, "-m", "offline", "--out-dir", tmp_path / "o2", "--report", "report.json", cwd=tmp_path
    )
    assert proc.returncode == 2, proc.stderr
    assert "report.json is a FIFO or pipe" in one_error(proc)
    assert (tmp_path / "report.json").is_fifo()


# -- inputs -----------------------------------------------------------------------------------------
def test_source_and_notes_file_fifos_are_refused(tmp_path: Path, fifo: Path) -> None:
    for args in (
        ["from-issue", fifo, "-m", "offline", "--out", "d.md"],
        ["from-issue", EXAMPLE, "-m", "offline", "--out", "d.md", "--notes-file", fifo],
        ["fetch", EXAMPLE, "--notes-file", fifo],
    ):
        proc = drafter(*args, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert "not a regular file" in one_error(proc)
    assert leftovers(tmp_path, "pipe.md") == []


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_stdin_dash_on_a_terminal_is_refused_with_a_hint(tmp_path: Path) -> None:
    controller, terminal = os.openpty()
    try:
        for args, fragment in (
            (["from-issue", "-", "-m", "offline", "--out", "-"], "SOURCE -"),
            (["fetch", str(EXAMPLE), "--notes-file", "-"], "--notes-file -"),
        ):
            proc = drafter(*args, cwd=tmp_path, stdin=terminal)
            assert proc.returncode == 2, proc.stderr
            line = one_error(proc)
            assert fragment in line and "is a terminal" in line and "pipe" in line
    finally:
        os.close(controller)
        os.close(terminal)


def test_stdin_dash_from_a_pipe_still_works(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "drafter", "from-issue", "-", "-m", "offline", "--out", "-"],
        cwd=tmp_path,
        input="# Pool leaks\n\nOpening a widget leaks a handle.\n",
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("# Pool leaks") and leftovers(tmp_path) == []


# -- the writer -------------------------------------------------------------------------------------
def test_check_regular_and_write_atomic_never_open_a_special_file(tmp_path: Path, fifo: Path) -> None:
    assert check_regular(tmp_path / "missing.md", "x", hint="h") is False
    assert check_regular(tmp_path / "missing" / "deeper.md", "x", hint="h") is False
    (tmp_path / "file.md").write_text("x", encoding="utf-8")
    assert check_regular(tmp_path / "file.md", "x", hint="h") is True
    with pytest.raises(WriteError, match="is a FIFO or pipe"):
        write_atomic(fifo, "text\n")  # would block on open(), or os.replace the FIFO away
    with pytest.raises(WriteError, match="is a directory"):
        write_atomic(tmp_path, "text\n")
    assert fifo.is_fifo() and leftovers(tmp_path, "pipe.md", "file.md") == []


def test_every_reader_of_a_draft_or_a_list_refuses_a_fifo(tmp_path: Path, fifo: Path) -> None:
    """review, status, redraft and validate read drafts; batch and eval read source lists."""
    for args in (
        ["review", fifo],
        ["status", fifo],
        ["redraft", fifo, "--section", "2.1", "-m", "offline"],
        ["redraft", fifo, "--failed", "-m", "offline"],
        ["validate", fifo],
        ["batch", "--from-file", fifo, "-m", "offline", "--out-dir", "out"],
        ["eval", "--from-file", fifo, "-m", "offline"],
    ):
        proc = drafter(*args, cwd=tmp_path)
        assert proc.returncode in (1, 2), (args, proc.stderr)
        said = proc.stdout + proc.stderr  # validate lists an unreadable file among its results
        assert "not a regular file" in said and "Traceback" not in said, (args, said)


def test_a_fifo_as_the_step_summary_is_refused(tmp_path: Path, fifo: Path) -> None:
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(fifo)}
    proc = subprocess.run(
        [sys.executable, "-m", "drafter", "batch", str(EXAMPLE), "-m", "offline", "--out-dir", "out"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        env=env,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "GITHUB_STEP_SUMMARY" in one_error(proc) and "not a regular file" in proc.stderr


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_batch_notes_from_a_terminal_are_refused(tmp_path: Path) -> None:
    controller, terminal = os.openpty()
    try:
        proc = drafter("batch", EXAMPLE, "-m", "offline", "--notes-file", "-", cwd=tmp_path, stdin=terminal)
    finally:
        os.close(controller)
        os.close(terminal)
    assert proc.returncode == 2, proc.stderr
    assert "--notes-file -" in one_error(proc) and "is a terminal" in proc.stderr
