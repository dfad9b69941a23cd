"""The OpenAI-compatible provider: request bodies, strict schemas, answers and method fallback.

Logic is checked on plain data; the live path runs the real SDK against ``fault_server`` on
127.0.0.1 (no cassette: the server builds each answer from the schema it is sent).
"""

from __future__ import annotations

import asyncio
from typing import Any

import jsonschema
import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from drafter.drafting.chains import chain_schema, plan
from drafter.errors import ProviderError
from drafter.model.choice import resolve_model
from drafter.model.openai import answer_of, build_handle, request_body, strict_schema
from drafter.pipeline import DraftOptions, draft
from drafter.sources import SourceSettings, load_source
from drafter.template.outline import load_outline
from tests.support.fault_server import FaultServer, _instance
from tests.support.issues import write_issues
from tests.support.paths import EXAMPLE

pytestmark = pytest.mark.block_network(allowed_hosts=[r"^127\.0\.0\.1$"])  # the fault server only
TEMPLATES = ("technical-design", "rfc", "adr")
SCHEMAS = [
    pytest.param(chain_schema(spec), id=f"{name}-{spec.name}")
    for name in TEMPLATES
    for spec in plan(load_outline(name))
]


def _objects(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "object":
            found.append(node)
        for value in node.values():
            found.extend(_objects(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_objects(value))
    return found


def _refs(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        own = [node] if "$ref" in node else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


@pytest.mark.parametrize("schema", SCHEMAS)
def test_strict_schema_is_what_openai_strict_mode_accepts(schema: Any) -> None:
    strict = strict_schema(schema)
    jsonschema.Draft202012Validator.check_schema(strict)
    objects = _objects(strict)
    assert objects, "a chain answer is an object of section objects"
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert obj["required"] == list(obj["properties"])
    assert _refs(strict) == [] and "$defs" not in strict, "everything is inlined"
    # An answer built from the strict schema fits drafter's own model, and extra keys are refused.
    answer = _instance(strict, strict.get("$defs", {}))
    jsonschema.validate(answer, strict)
    schema.model_validate(answer)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**answer, "extra": "key"}, strict)


def _strings_under(node: Any, key: str) -> list[str]:
    if isinstance(node, dict):
        own = [node[key]] if isinstance(node.get(key), str) else []
        return own + [s for value in node.values() for s in _strings_under(value, key)]
    if isinstance(node, list):
        return [s for value in node for s in _strings_under(value, key)]
    return []


def test_strict_schema_is_compact() -> None:
    """Sent with every call: no pydantic titles, no definitions, keys in prompt order."""
    spec = plan(load_outline("technical-design"))[1]
    strict = strict_schema(chain_schema(spec))
    assert _strings_under(strict, "title") == [] and _strings_under(strict, "$ref") == []
    assert list(strict["properties"]) == list(spec.sections)


MESSAGES = [SystemMessage("be brief"), HumanMessage("draft it"), AIMessage("{"), HumanMessage("again")]


def test_request_body_per_method() -> None:
    schema = chain_schema(plan(load_outline())[0])
    choice = resolve_model("openai:gpt-4o-mini", {"OPENAI_API_KEY": "sk-test"})
    native = request_body(choice, MESSAGES, schema)
    assert [m["role"] for m in native["messages"]] == ["system", "user", "assistant", "user"]
    assert native["messages"][1]["content"] == "draft it"
    assert native["model"] == "gpt-4o-mini" and native["temperature"] == 0.2
    assert native["response_format"]["json_schema"] == {
        "name": schema.__name__,
        "schema": strict_schema(schema),
        "strict": True,
    }
    assert "tools" not in native and "max_tokens" not in native and "max_completion_tokens" not in native

    json_mode = request_body(choice, MESSAGES, schema, "json_mode")
    assert json_mode["response_format"] == {"type": "json_object"} and "tools" not in json_mode

    tools = request_body(choice, MESSAGES, schema, "function_calling")
    assert "response_format" not in tools
    assert tools["tools"][0]["function"] == {"name": schema.__name__, "parameters": strict_schema(schema)}
    assert tools["tool_choice"] == {"type": "function", "function": {"name": schema.__name__}}


def test_request_body_sends_the_classic_token_limit_only_to_other_servers() -> None:
    schema = chain_schema(plan(load_outline())[0])
    env = {"OPENAI_API_KEY": "sk-test", "DRAFTER_MAX_TOKENS": "300"}
    openai_body = request_body(resolve_model("openai:gpt-4o-mini", env), MESSAGES, schema)
    assert openai_body["max_completion_tokens"] == 300 and "max_tokens" not in openai_body
    local = resolve_model("openai:smollm2", env, base_url="http://127.0.0.1:8080/v1")
    assert request_body(local, MESSAGES, schema)["max_tokens"] == 300


def _completion(message: dict[str, Any], finish: str = "stop") -> dict[str, Any]:
    return {
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 30},
    }


SCHEMA = chain_schema(plan(load_outline("adr"))[0])
GOOD = _instance(strict_schema(SCHEMA), {})


def test_answer_of_a_good_answer_and_a_tool_call() -> None:
    import json

    reply = answer_of(_completion({"content": json.dumps(GOOD)}), SCHEMA)
    assert reply.error is None and isinstance(reply.parsed, SCHEMA)
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.calls) == (120, 30, 1)
    call = {"function": {"name": SCHEMA.__name__, "arguments": json.dumps(GOOD)}}
    tool = answer_of(_completion({"content": None, "tool_calls": [call]}, "tool_calls"), SCHEMA)
    assert tool.error is None and tool.parsed == reply.parsed


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        (_completion({"content": '{"context": '}, "length"), "cut off (finish_reason: length)"),
        (_completion({"content": ""}, "content_filter"), "cut off (finish_reason: content_filter)"),
        (_completion({"content": None, "refusal": "I can't\nhelp"}), "the model refused: I can't help"),
        (_completion({"content": "   "}), "empty or not a JSON object"),
        (_completion({"content": "not json at all"}), "Invalid JSON"),
        (_completion({"content": '{"unexpected": 1}'}), "Field required"),
        ({"choices": []}, "empty or not a JSON object"),
        ({}, "empty or not a JSON object"),
    ],
    ids=["length", "content-filter", "refusal", "blank", "not-json", "wrong-shape", "no-choices", "empty"],
)
def test_answer_of_a_bad_answer_is_a_reply_with_one_line_error(
    completion: dict[str, Any], expected: str
) -> None:
    reply = answer_of(completion, SCHEMA)
    assert reply.parsed is None and reply.error is not None
    assert expected in reply.error and "\n" not in reply.error


def _env(server: FaultServer) -> dict[str, str]:
    return {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test", "DRAFTER_MAX_RETRIES": "0"}


def _options(server: FaultServer) -> DraftOptions:
    choice = resolve_model("openai:fault", _env(server))
    return DraftOptions(model=choice, handle=build_handle(choice), author="Ada")


def _ctx() -> Any:
    return load_source(str(EXAMPLE), SourceSettings())


def test_a_server_without_json_schema_gets_json_mode_and_it_is_remembered() -> None:
    with FaultServer(unsupported={"json_schema"}) as server:
        result = draft(_ctx(), load_outline(), _options(server))
    # JSON mode sends no schema; this server then answers a JSON object that does not fit, so
    # each chain re-asks once and falls back to TODO markers: still a whole, valid draft.
    assert server.methods[0] == "json_schema" and server.methods.count("json_schema") == 1
    assert set(server.methods[1:]) == {"json_object"}
    assert result.report.valid() and result.fallbacks


def test_a_server_without_json_modes_gets_a_forced_tool_call() -> None:
    with FaultServer(unsupported={"json_schema", "json_object"}) as server:
        result = draft(_ctx(), load_outline(), _options(server))
    assert server.methods[:2] == ["json_schema", "json_object"]
    assert server.methods[2:] == ["tools"] * 3
    assert result.report.valid() and result.fallbacks == []


def test_a_server_that_rejects_every_method_is_one_line_error() -> None:
    with FaultServer(unsupported={"json_schema", "json_object", "tools"}) as server:
        with pytest.raises(
            ProviderError, match=r"refused the request \(HTTP 400\): response_format tools"
        ) as info:
            draft(_ctx(), load_outline(), _options(server))
    assert "\n" not in str(info.value) and "sk-test" not in str(info.value)


def test_a_page_that_is_not_a_chat_completion_is_one_line_error() -> None:
    with FaultServer(script=["html"]) as server:
        with pytest.raises(ProviderError, match="not JSON"):
            draft(_ctx(), load_outline(), _options(server))


def test_one_handle_serves_several_event_loops() -> None:
    """A library user may call draft() (one asyncio.run each) many times with one handle.

    The server keeps connections alive, so a pool shared across loops would reuse a connection
    of a closed loop ("Event loop is closed"), as langchain-openai's process-wide client did.
    """
    with FaultServer(keep_alive=True) as server:
        options = _options(server)
        first = draft(_ctx(), load_outline(), options)
        second = draft(_ctx(), load_outline(), options)
        assert first.text == second.text and server.calls == 6

        async def twice() -> None:  # and a caller's own loop, which closes the handle when done
            from drafter.pipeline import draft_async

            await draft_async(_ctx(), load_outline(), options)
            assert options.handle is not None
            await options.handle.aclose()

        asyncio.run(twice())
    assert server.calls == 9


def test_strict_schema_refuses_a_recursive_model() -> None:
    from pydantic import BaseModel

    from drafter.errors import ConfigError

    class Node(BaseModel):
        children: list[Node]

    with pytest.raises(ConfigError, match="recursive"):
        strict_schema(Node)


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("badjson", "not JSON"),
        ("error200", "answered with an error: upstream model overloaded"),
    ],
)
def test_a_200_that_is_not_a_usable_completion_fails_the_call(fault: str, expected: str) -> None:
    """Not a bad answer to re-ask (it would become a TODO draft that a re-run calls unchanged)."""
    with FaultServer(script=[fault]) as server:
        with pytest.raises(ProviderError, match=expected) as info:
            draft(_ctx(), load_outline(), _options(server))
    assert "\n" not in str(info.value) and server.calls == 1


def test_a_plain_server_error_fails_the_call_without_leaving_native_output() -> None:
    with FaultServer(script=["500"]) as server:
        options = _options(server)
        with pytest.raises(ProviderError, match="HTTP 500"):
            draft(_ctx(), load_outline(), options)
        result = draft(_ctx(), load_outline(), options)
    assert set(server.methods) == {"json_schema"}
    assert result.report.valid() and result.fallbacks == []


def test_concurrent_rejections_step_through_every_method(tmp_path: Any) -> None:
    """Calls rejected together each move one method on: none skips JSON mode, none fails."""
    from pathlib import Path

    from drafter.batch.runner import BatchOptions, run_batch

    sources = write_issues(Path(tmp_path) / "issues", 6)
    with FaultServer(unsupported={"json_schema"}) as server:
        run = run_batch(
            sources,
            load_outline(),
            BatchOptions(out_dir=Path(tmp_path) / "out", draft=_options(server), concurrency=6),
        )
    # No call fails. This server answers JSON mode with a placeholder object (it cannot know the
    # schema, which JSON mode sends only in the prompt), so the drafts are honest partials.
    assert {item.status for item in run.items} <= {"written", "partial"}, [i.reason for i in run.items]
    assert "tools" not in server.methods and 1 <= server.methods.count("json_schema") <= 6


def test_reasoning_models_are_sent_no_temperature() -> None:
    schema = chain_schema(plan(load_outline())[0])
    env = {"OPENAI_API_KEY": "sk-test"}
    for name in ("gpt-5-mini", "o3-mini", "o4-mini", "o1"):
        assert "temperature" not in request_body(resolve_model(f"openai:{name}", env), MESSAGES, schema)
    for name in ("gpt-4o-mini", "gpt-5-chat-latest", "smollm2"):
        assert request_body(resolve_model(f"openai:{name}", env), MESSAGES, schema)["temperature"] == 0.2


def test_a_tool_call_wins_over_text_sent_with_it() -> None:
    import json

    call = {"function": {"name": SCHEMA.__name__, "arguments": json.dumps(GOOD)}}
    reply = answer_of(_completion({"content": "\n", "tool_calls": [call]}, "tool_calls"), SCHEMA)
    assert reply.error is None and isinstance(reply.parsed, SCHEMA)
