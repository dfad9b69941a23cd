"""``drafter from-issue`` end to end through the CLI (offline model, or a fake chat model)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from drafter.cli import app
from drafter.document.provenance import split_provenance, was_edited
from tests.support.paths import CORPUS, EXAMPLE

EXAMPLE_NAME = "github-brettwooldridge-hikaricp-664-null-poolentry-connection-causes-npe.md"


def invoke(*args: str | Path) -> Any:
    return CliRunner().invoke(app, ["from-issue", *(str(a) for a in args)])


def offline(out_dir: Path, *args: str | Path, source: Path = EXAMPLE) -> Any:
    return invoke(source, "--out-dir", out_dir, "--model", "offline", "--author", "Ada Lovelace", *args)


def one_error_line(result: Any) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


# -- success ---------------------------------------------------------------------------------------
def test_writes_a_valid_draft(tmp_path: Path) -> None:
    result = offline(tmp_path)
    assert result.exit_code == 0, result.stderr
    path = tmp_path / EXAMPLE_NAME
    assert result.stdout.strip() == str(path)
    state = EXAMPLE_NAME + ".drafter.json"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([EXAMPLE_NAME, state])
    text = path.read_text(encoding="utf-8")
    assert "> **Author:** Ada Lovelace" in text
    assert "> **Status:** Draft" in text
    assert "> **Related Issue/Story:** https://github.com/brettwooldridge/HikariCP/issues/664" in text
    assert "Offline draft" in text
    assert was_edited(text) is False
    assert "drafter: written (model offline); 0 errors" in result.stderr


def test_json_output(tmp_path: Path) -> None:
    result = offline(tmp_path, "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"path", "valid", "findings", "model", "usage"} <= set(data)
    assert data["path"] == str(tmp_path / EXAMPLE_NAME)
    assert data["valid"] is True
    assert data["model"] == "offline"
    assert data["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "calls": 0}
    assert data["status"] == "written"
    assert all(f["severity"] == "warning" and f["rule"] == "todo-left" for f in data["findings"])
    assert data["fallbacks"] == []


def test_no_model_configured_says_offline(tmp_path: Path) -> None:
    result = invoke(EXAMPLE, "--out-dir", tmp_path, "--author", "A")
    assert result.exit_code == 0, result.stderr
    assert "offline draft" in result.stderr.lower()
    assert "offline" not in result.stdout.lower()  # stdout is only the path
    explicit = invoke(EXAMPLE, "--out-dir", tmp_path / "b", "--model", "offline", "--author", "A")
    assert "no model configured" not in explicit.stderr


@pytest.mark.parametrize("template", ["technical-design", "rfc", "adr"])
@pytest.mark.parametrize("name", ["golang__go__36189", "rust-lang__cargo__10497", "react__react__33088"])
def test_corpus_templates(tmp_path: Path, template: str, name: str) -> None:
    result = offline(tmp_path, "--template", template, "--format", "json", source=CORPUS / f"{name}.json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["valid"] is True
    text = Path(data["path"]).read_text(encoding="utf-8")
    assert f"<!-- drafter:template {template} -->" in text


def test_rerun_unchanged_then_edited_then_force(tmp_path: Path) -> None:
    assert offline(tmp_path).exit_code == 0
    path = tmp_path / EXAMPLE_NAME
    again = offline(tmp_path, "--format", "json")
    assert again.exit_code == 0 and json.loads(again.stdout)["status"] == "unchanged"

    edited = path.read_text(encoding="utf-8").replace(
        "### 1.1 Context", "### 1.1 Context\n\nA human wrote this."
    )
    path.write_text(edited, encoding="utf-8")
    refused = offline(tmp_path)
    assert refused.exit_code == 2
    line = one_error_line(refused)
    assert "edited by a human" in line and "--force" in line
    assert refused.stdout == ""
    assert path.read_text(encoding="utf-8") == edited

    forced = offline(tmp_path, "--force")
    assert forced.exit_code == 0, forced.stderr
    assert "A human wrote this." not in path.read_text(encoding="utf-8")


def test_drafts_from_other_templates_sit_side_by_side(tmp_path: Path) -> None:
    """`-t adr` then `-t rfc` on one issue: two files, each named after its template (#20)."""
    assert offline(tmp_path, "--template", "adr").exit_code == 0
    result = offline(tmp_path, "--template", "rfc", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["status"] == "written"
    rfc = tmp_path / EXAMPLE_NAME.replace(".md", ".rfc.md")
    assert data["path"] == str(rfc)
    assert (tmp_path / EXAMPLE_NAME.replace(".md", ".adr.md")).is_file()
    _, marker = split_provenance(rfc.read_text(encoding="utf-8"))
    assert marker is not None and marker.template == "rfc"


def test_out_option(tmp_path: Path) -> None:
    target = tmp_path / "custom.md"
    result = offline(tmp_path / "unused", "--out", target)
    assert result.exit_code == 0, result.stderr
    assert target.is_file()
    assert result.stdout.strip() == str(target)


def test_missing_out_dir_is_created(tmp_path: Path) -> None:
    result = offline(tmp_path / "a" / "b")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "a" / "b" / EXAMPLE_NAME).is_file()


# -- bad input: exit 2, one line, nothing written ----------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--template", "no-such-template"], "unknown template"),
        (["--model", "anthropic:claude"], "unknown model provider 'anthropic'"),
        (["--model", "gpt-4o"], "needs an API key"),
    ],
)
def test_bad_options(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "out"
    result = invoke(EXAMPLE, "--out-dir", out, *args)
    assert result.exit_code == 2
    assert message in one_error_line(result)
    assert not out.exists()


def test_bad_source_path(tmp_path: Path) -> None:
    result = offline(tmp_path, source=tmp_path / "missing.json")
    assert result.exit_code == 2
    assert "missing.json" in one_error_line(result)
    assert list(tmp_path.iterdir()) == []


def test_malformed_source_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    out = tmp_path / "out"
    result = offline(out, source=bad)
    assert result.exit_code == 2
    one_error_line(result)
    assert not out.exists() or list(out.iterdir()) == []


def test_out_dir_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    result = offline(blocker / "sub")
    assert result.exit_code == 2
    assert "--out-dir" in one_error_line(result)
    assert blocker.read_text(encoding="utf-8") == "x"


def test_out_in_missing_directory(tmp_path: Path) -> None:
    result = offline(tmp_path, "--out", tmp_path / "missing" / "d.md")
    assert result.exit_code == 2
    assert "does not exist" in one_error_line(result)
    assert not (tmp_path / "missing").exists()


def test_out_is_a_directory(tmp_path: Path) -> None:
    result = offline(tmp_path, "--out", tmp_path)
    assert result.exit_code == 2
    assert "is a directory" in one_error_line(result)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_read_only_out_dir(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        result = offline(folder)
        assert result.exit_code == 2
        one_error_line(result)
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)


def test_read_only_out_dir_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_access = os.access

    def access(path: Any, mode: int, **kw: Any) -> bool:
        return False if Path(path) == tmp_path and mode & os.W_OK else real_access(path, mode, **kw)

    monkeypatch.setattr(os, "access", access)
    result = offline(tmp_path)
    assert result.exit_code == 2
    assert "permission denied" in one_error_line(result)
    assert list(tmp_path.iterdir()) == []


def test_hostile_title_stays_in_out_dir(tmp_path: Path) -> None:
    source = tmp_path / "issue.json"
    source.write_text(
        json.dumps({"title": "../../etc/passwd", "body": "Body {{ 7*7 }}\n\n## 2. Solution Overview"}),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    # ADR: its Context quotes the report's opening (technical-design quotes facts, not prose).
    result = offline(out, "--format", "json", "--template", "adr", source=source)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    path = Path(data["path"])
    assert path.parent == out and path.name.endswith("etc-passwd.adr.md")
    assert sorted(p.name for p in out.iterdir()) == sorted([path.name, path.name + ".drafter.json"])
    text = path.read_text(encoding="utf-8")
    assert "Body {{ 7*7 }}" in text
    assert not any(f["rule"] in ("unknown-section", "section-order") for f in data["findings"])


# -- with a (fake) model ------------------------------------------------------------------------------
def _fake_handle(replies: list[Any]) -> Any:
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

    from drafter.model.handle import ModelHandle

    return ModelHandle(GenericFakeChatModel(messages=iter(replies)), "openai:fake")


def _answers(template: str, **overrides: dict[str, Any]) -> list[Any]:
    from drafter.drafting.chains import plan
    from drafter.template.outline import load_outline
    from tests.support.chat import chain_answer, reply

    out = []
    for spec in plan(load_outline(template)):
        mine = {k: v for k, v in overrides.items() if k in spec.sections}
        out.append(reply(chain_answer(spec, **mine)))
    return out


def test_model_run_with_usage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from drafter.model import openai as providers

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr(providers, "build_handle", lambda choice: _fake_handle(_answers("adr")))
    result = invoke(
        EXAMPLE, "--out-dir", tmp_path, "--template", "adr", "--model", "openai:fake", "-f", "json"
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["model"] == "openai:fake"
    assert data["usage"] == {"prompt_tokens": 300, "completion_tokens": 60, "calls": 3}
    assert "no model configured" not in result.stderr
    assert "Offline draft" not in Path(data["path"]).read_text(encoding="utf-8")


def test_model_findings_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from drafter.model import openai as providers

    placeholder = {"goals": {"items": [{"sources": ["issue"], "goal": "[Goal 1]", "check": "[Goal 2]"}]}}
    replies = [*_answers("technical-design", **placeholder), _answers("technical-design", **placeholder)[1]]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr(providers, "build_handle", lambda choice: _fake_handle(replies))
    result = invoke(EXAMPLE, "--out-dir", tmp_path, "--model", "gpt-4o-mini")
    assert result.exit_code == 1, result.stderr
    path = tmp_path / EXAMPLE_NAME
    assert path.is_file()
    assert result.stdout.strip() == str(path)
    assert "error [placeholder-left]" in result.stderr
    assert "4 calls" in result.stderr


def test_model_fallbacks_are_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from drafter.model import openai as providers

    answers = _answers("adr")
    replies = ["not json", "still not json", *answers[1:]]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr(providers, "build_handle", lambda choice: _fake_handle(replies))
    result = invoke(EXAMPLE, "--out-dir", tmp_path, "--template", "adr", "--model", "openai:fake")
    # Two unusable answers in a row: the draft is written, but partial (exit 1), never "done".
    assert result.exit_code == 1, result.stderr
    assert "partial draft: 2 section(s) had no usable answer after retries (status, context)" in result.stderr
    assert "--failed" in result.stderr


def test_model_failure_exit_3_nothing_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from drafter.model import openai as providers

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr(providers, "build_handle", lambda choice: _fake_handle([]))
    result = invoke(EXAMPLE, "--out-dir", tmp_path, "--model", "openai:fake")
    assert result.exit_code == 3
    assert "model 'openai:fake' failed" in one_error_line(result)
    assert list(tmp_path.iterdir()) == []


def test_edited_target_refused_before_any_model_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from drafter.model import openai as providers

    (tmp_path / EXAMPLE_NAME).write_text("# Mine\n", encoding="utf-8")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr(providers, "build_handle", lambda choice: _fake_handle([]))  # would fail with exit 3
    result = invoke(EXAMPLE, "--out-dir", tmp_path, "--model", "openai:fake")
    assert result.exit_code == 2
    assert "edited by a human" in one_error_line(result)
