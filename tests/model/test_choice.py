"""Choosing the model from settings: a defaulted model gets the same settings as a named one."""

from __future__ import annotations

from drafter.model.choice import resolve_model


def test_defaulted_openai_model_keeps_timeout_and_retries() -> None:
    env = {"OPENAI_API_KEY": "sk-test", "DRAFTER_TIMEOUT": "5", "DRAFTER_MAX_RETRIES": "0"}
    defaulted = resolve_model(None, env)
    named = resolve_model("gpt-4o-mini", env)
    assert defaulted.defaulted and not named.defaulted
    assert (defaulted.timeout, defaulted.max_retries) == (named.timeout, named.max_retries) == (5.0, 0)
