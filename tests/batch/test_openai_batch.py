"""``drafter batch --via openai-batch``: staged drafting through the OpenAI Batch API.

Two layers. Fast tests drive :func:`run_openai_batch` with the fixture server's in-memory
:class:`~tests.support.batch_api_server.Store` as the client (no HTTP), to check the JSONL
requests, the stage order, the state file and the TODO fallback. Cassette tests run the real SDK
over HTTP against ``tests/support/batch_api_server.py``, replayed from ``cassettes/openai_batch/``.
Re-record with::

    python -m pytest tests/batch/test_openai_batch.py --record-mode=once   # after deleting the cassettes

(the tests start the fixture server on 127.0.0.1:8767 themselves while recording).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from drafter.batch.openai_batch import STATE_FILE, StagedOptions, run_openai_batch, stages
from drafter.batch.runner import BatchOptions
from drafter.cli import app
from drafter.document.provenance import read_draft
from drafter.drafting.chains import chain_schema, plan
from drafter.errors import InputError
from drafter.model.choice import resolve_model
from drafter.model.openai import strict_schema
from drafter.pipeline import DraftOptions
from drafter.template.outline import load_outline
from tests.support import batch_api_server
from tests.support.batch_api_server import Store
from tests.support.paths import CORPUS, ROOT

MARKERS = ROOT / "tests" / "fixtures" / "openai_batch"
ISSUES = [
    str(CORPUS / "golang__go__36189.json"),
    str(CORPUS / "brettwooldridge__HikariCP__664.json"),
    str(CORPUS / "pypa__pip__10235.json"),
]


class Killed(BaseException):
    """Stands in for a process killed while it waits for a batch."""


class MemoryBatches:
    """The Batch API client protocol over the fixture's in-memory store; records what it was asked."""

    def __init__(self, mangle: str | None = None, finish: str | None = None) -> None:
        self.store = Store()
        self.calls: list[str] = []
        self.mangle = mangle  # answers of this chain come back as text that is not JSON
        self.finish = finish  # ... or, if set, cut off with this finish_reason

    def upload(self, name: str, data: bytes) -> str:
        self.calls.append("upload")
        return str(self.store.add_file(name, data)["id"])

    def create(self, file_id: str, metadata: dict[str, str]) -> dict[str, Any]:
        self.calls.append("create")
        request = {"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"}
        return self.store.add_batch({**request, "metadata": metadata})

    def retrieve(self, batch_id: str) -> dict[str, Any]:
        self.calls.append("retrieve")
        return self.store.poll(batch_id)

    def content(self, file_id: str) -> str:
        self.calls.append("content")
        text = self.store.files[file_id][1].decode("utf-8")
        if self.mangle is None:
            return text
        lines = []
        for raw in text.splitlines():
            line = json.loads(raw)
            if line["custom_id"].endswith(f"-{self.mangle}"):
                choice = line["response"]["body"]["choices"][0]
                if self.finish:
                    choice["finish_reason"] = self.finish
                    choice["message"]["content"] = choice["message"]["content"][:40]
                else:
                    choice["message"]["content"] = "Sorry, no JSON today."
            lines.append(json.dumps(line))
        return "\n".join(lines) + "\n"

    def requests(self) -> list[dict[str, Any]]:
        """Every JSONL line uploaded, in order."""
        out = []
        for name, data, _ in self.store.files.values():
            if not name.startswith("batch_"):
                out.extend(json.loads(line) for line in data.splitlines())
        return out


def _options(out_dir: Path, **extra: Any) -> BatchOptions:
    choice = resolve_model("openai:gpt-4o-mini", {"OPENAI_API_KEY": "sk-test"})
    return BatchOptions(out_dir=out_dir, draft=DraftOptions(model=choice, author="Ada"), **extra)


def _staged(client: Any, events: list[str] | None = None, **extra: Any) -> StagedOptions:
    sink = events if events is not None else []
    return StagedOptions(poll_interval=0, sleep=lambda _: None, on_event=sink.append, client=client, **extra)


# -- in memory ---------------------------------------------------------------------------------------
def test_the_default_template_runs_in_three_stages() -> None:
    groups = stages(plan(load_outline()))
    assert [[spec.name for spec in group] for group in groups] == [["problem"], ["solution"], ["risks"]]


def test_requests_are_chat_completions_with_the_chain_schema_stage_by_stage(tmp_path: Path) -> None:
    client = MemoryBatches()
    events: list[str] = []
    run = run_openai_batch(ISSUES[:2], load_outline(), _options(tmp_path), _staged(client, events))

    assert [item.status for item in run.items] == ["written", "written"]
    assert client.calls.count("create") == 3  # one batch per stage, both issues in each
    specs = {spec.name: spec for spec in plan(load_outline())}
    requests = client.requests()
    assert [r["custom_id"].rsplit("-", 1)[1] for r in requests] == ["problem"] * 2 + ["solution"] * 2 + [
        "risks"
    ] * 2
    for request in requests:
        assert request["method"] == "POST" and request["url"] == "/v1/chat/completions"
        body = request["body"]
        spec = specs[request["custom_id"].rsplit("-", 1)[1]]
        assert body["model"] == "gpt-4o-mini"
        assert [m["role"] for m in body["messages"]] == ["system", "user", "user"]  # rules, evidence, task
        assert body["response_format"]["type"] == "json_schema"
        sent = body["response_format"]["json_schema"]
        assert sent["strict"] is True and sent["schema"] == strict_schema(chain_schema(spec))
    # solution (stage 2) is asked with the problem draft that stage 1 returned
    assert "within what the inputs say" not in requests[0]["body"]["messages"][2]["content"]
    assert "within what the inputs say" in requests[2]["body"]["messages"][2]["content"]
    # The rules and the evidence are the same for every chain of an issue: a cacheable prefix.
    first, later = requests[0]["body"]["messages"], requests[2]["body"]["messages"]
    assert first[:2] == later[:2] and "<issue_data" in first[1]["content"]
    assert len({r["custom_id"] for r in requests}) == len(requests)
    assert any("stage 3/3 (risks): submitted 2 requests" in e for e in events)

    for item in run.items:
        assert item.usage["calls"] == 3 and item.usage["prompt_tokens"] > 0
        path = Path(item.path or "")
        record = read_draft(path.read_text(encoding="utf-8"), path)
        text, provenance = record.body, record.provenance
        assert record.state == "file" and provenance is not None and provenance.model == "openai:gpt-4o-mini"
        assert "TODO(drafter)" not in text
    assert not (tmp_path / STATE_FILE).exists()  # nothing pending: the state is gone


def test_a_rerun_of_finished_drafts_makes_no_batch_call(tmp_path: Path) -> None:
    run_openai_batch(ISSUES[:1], load_outline(), _options(tmp_path), _staged(MemoryBatches()))
    again = MemoryBatches()
    run = run_openai_batch(ISSUES[:1], load_outline(), _options(tmp_path), _staged(again))
    assert [item.status for item in run.items] == ["unchanged"]
    assert again.calls == []


def test_an_answer_that_is_not_json_becomes_todo_markers(tmp_path: Path) -> None:
    client = MemoryBatches(mangle="solution")
    run = run_openai_batch(ISSUES[:1], load_outline(), _options(tmp_path), _staged(client))
    item = run.items[0]
    assert item.status == "partial" and run.exit_code() == 1
    path = Path(item.path or "")
    record = read_draft(path.read_text(encoding="utf-8"), path)
    text, provenance = record.body, record.provenance
    assert provenance is not None and provenance.fallbacks
    assert "solution-overview/goals" in provenance.failed
    assert not any(sid.startswith("problem-statement") for sid in provenance.failed)
    assert "TODO(drafter)" in text and "the model's answer did not fit this section; see --trace" in text
    assert "input_value" not in text and "Expecting value" not in text  # no parser error, no raw answer


def test_a_cut_off_answer_is_judged_as_on_the_live_path(tmp_path: Path) -> None:
    """The Batch API output keeps finish_reason, so a truncated answer says so in its TODOs."""
    client = MemoryBatches(mangle="risks", finish="length")
    run = run_openai_batch(ISSUES[:1], load_outline(), _options(tmp_path), _staged(client))
    text = Path(run.items[0].path or "").read_text(encoding="utf-8")
    assert "the model's answer was cut off at the length limit; see --trace" in text
    assert "finish_reason" not in text


def test_an_interrupted_run_resumes_from_the_state_file(tmp_path: Path) -> None:
    client = MemoryBatches()
    events: list[str] = []

    def killed_in_stage_2(_: float) -> None:
        if any(e.startswith("stage 2/3") for e in events):
            raise Killed

    with pytest.raises(Killed):
        run_openai_batch(
            ISSUES[:2],
            load_outline(),
            _options(tmp_path),
            StagedOptions(poll_interval=0, sleep=killed_in_stage_2, on_event=events.append, client=client),
        )
    state = json.loads((tmp_path / STATE_FILE).read_text(encoding="utf-8"))
    assert [b["stage"] for b in state["batches"]] == ["problem", "solution"]
    assert [b["done"] for b in state["batches"]] == [True, False]
    assert len(state["results"]) == 2
    created = client.calls.count("create")

    events.clear()
    run = run_openai_batch(ISSUES[:2], load_outline(), _options(tmp_path), _staged(client, events))
    assert [item.status for item in run.items] == ["written", "written"]
    assert client.calls.count("create") == created + 1  # only risks is submitted
    assert "stage 1/3 (problem): all 2 answers already received" in events
    assert any(e.startswith("stage 2/3 (solution): resuming OpenAI batch") for e in events)
    assert not (tmp_path / STATE_FILE).exists()


def test_offline_and_budgets_are_refused(tmp_path: Path) -> None:
    offline = BatchOptions(out_dir=tmp_path, draft=DraftOptions(model=resolve_model("offline", {})))
    with pytest.raises(InputError, match="needs an OpenAI model"):
        run_openai_batch(ISSUES[:1], load_outline(), offline)
    with pytest.raises(InputError, match="--max-total-tokens does not apply"):
        run_openai_batch(ISSUES[:1], load_outline(), _options(tmp_path, max_total_tokens=10))
    with pytest.raises(InputError, match="--poll-interval"):
        StagedOptions(poll_interval=-1)


def test_a_corrupt_state_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="cannot read the batch state"):
        run_openai_batch(ISSUES[:1], load_outline(), _options(tmp_path), _staged(MemoryBatches()))


# -- over HTTP, from cassettes ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(ROOT / "cassettes" / "openai_batch")


@pytest.fixture(scope="module")
def vcr_config(vcr_config: dict[str, Any]) -> dict[str, Any]:
    # "json_body" (tests/conftest.py): batch bodies must match; the uploaded JSONL (prompts) need not.
    return {**vcr_config, "match_on": ["method", "scheme", "host", "port", "path", "query", "json_body"]}


@pytest.fixture
def fixture_server(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point drafter at the fixture; start it only when recording (replay never connects)."""
    monkeypatch.setenv("OPENAI_BASE_URL", batch_api_server.URL)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("DRAFTER_MAX_RETRIES", "0")
    if request.config.getoption("--record-mode") in ("none", None):
        yield
        return
    server = batch_api_server.serve()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def _cli(*args: str) -> Any:
    base = ["batch", "--via", "openai-batch", "--poll-interval", "0", "--model", "openai:gpt-4o-mini"]
    return CliRunner().invoke(app, [*base, "--author", "Ada", *args])


@pytest.mark.vcr
@pytest.mark.usefixtures("fixture_server")
def test_cli_drafts_three_issues_through_three_batches(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = _cli(*ISSUES, "--out-dir", str(tmp_path / "out"), "--report", str(report))
    assert result.exit_code == 0, result.output
    items = json.loads(report.read_text(encoding="utf-8"))["items"]
    assert [item["status"] for item in items] == ["written"] * 3
    assert all(item["usage"]["calls"] == 3 for item in items)
    for stage in ("1/3 (problem)", "2/3 (solution)", "3/3 (risks)"):
        assert f"drafter: stage {stage}: submitted 3 requests as OpenAI batch" in result.stderr
    for item in items:
        check = CliRunner().invoke(app, ["validate", item["path"]])
        assert check.exit_code == 0, check.output
    assert not (tmp_path / "out" / STATE_FILE).exists()


@pytest.mark.vcr
@pytest.mark.usefixtures("fixture_server")
def test_resume_after_stage_one_does_not_resubmit_it(tmp_path: Path) -> None:
    events: list[str] = []

    def killed_in_stage_2(_: float) -> None:
        if any(e.startswith("stage 2/3") for e in events):
            raise Killed

    choice = resolve_model(
        "openai:gpt-4o-mini",
        {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": batch_api_server.URL, "DRAFTER_MAX_RETRIES": "0"},
    )
    options = BatchOptions(out_dir=tmp_path, draft=DraftOptions(model=choice, author="Ada"))
    with pytest.raises(Killed):
        run_openai_batch(ISSUES, load_outline(), options, StagedOptions(0, killed_in_stage_2, events.append))
    state = json.loads((tmp_path / STATE_FILE).read_text(encoding="utf-8"))
    assert [(b["stage"], b["done"]) for b in state["batches"]] == [("problem", True), ("solution", False)]

    events.clear()
    run = run_openai_batch(ISSUES, load_outline(), options, StagedOptions(0, lambda _: None, events.append))
    assert [item.status for item in run.items] == ["written"] * 3
    submitted = [e for e in events if "submitted" in e]
    assert len(submitted) == 1 and submitted[0].startswith("stage 3/3 (risks)")
    assert "stage 1/3 (problem): all 3 answers already received" in events
    assert f"stage 2/3 (solution): resuming OpenAI batch {state['batches'][1]['id']}" in events


@pytest.mark.vcr
@pytest.mark.usefixtures("fixture_server")
def test_a_failed_batch_fails_its_issues_with_one_line_reasons(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = _cli(
        ISSUES[0], str(MARKERS / "batch-fail.md"), "--out-dir", str(tmp_path), "--report", str(report)
    )
    assert result.exit_code == 1, result.output
    items = json.loads(report.read_text(encoding="utf-8"))["items"]
    assert [item["status"] for item in items] == ["failed", "failed"]
    for item in items:
        assert "\n" not in item["reason"]
        assert (
            item["reason"].startswith("OpenAI batch batch_")
            and " failed: invalid_request (line 2): " in item["reason"]
        )
    assert not list(tmp_path.glob("*.md"))


@pytest.mark.vcr
@pytest.mark.usefixtures("fixture_server")
def test_a_failed_request_fails_only_its_issue(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = _cli(
        ISSUES[0], str(MARKERS / "request-fail.md"), "--out-dir", str(tmp_path), "--report", str(report)
    )
    assert result.exit_code == 1, result.output
    items = json.loads(report.read_text(encoding="utf-8"))["items"]
    assert [item["status"] for item in items] == ["written", "failed"]
    assert items[1]["reason"] == (
        "request failed in OpenAI batch batch_2: HTTP 400: the fixture rejects this request"
    )


def test_cli_offline_model_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["batch", "--via", "openai-batch", "--model", "offline", ISSUES[0], "--out-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: --via openai-batch needs an OpenAI model (--model openai:NAME, OPENAI_API_KEY)"
    )
    assert not list(tmp_path.iterdir())
