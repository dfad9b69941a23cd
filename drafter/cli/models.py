"""``drafter models``: which models the configured endpoint serves, before a run picks one.

Thin by design: the listing, prices and structured-output knowledge are in
:mod:`drafter.model.catalog`, imported inside the command so that ``drafter --help`` imports
neither the model stack nor httpx2.
"""

from __future__ import annotations

import json

import typer

from drafter.cli._app import app, emit, examples
from drafter.cli._common import BASE_URL, MODEL, TextOrJson, resolved


@app.command(
    "models",
    epilog=examples(
        ("OpenAI's models, with OPENAI_API_KEY set", "drafter models"),
        ("A local Ollama: no key needed", "drafter models --base-url http://localhost:11434/v1"),
        ("The models that honour strict structured output", "drafter models -f json"),
    ),
)
def models(
    model: str | None = MODEL,
    base_url: str | None = BASE_URL,
    fmt: TextOrJson = typer.Option(
        TextOrJson.text, "--format", "-f", help="text (a table), or json (a list of objects) for machines."
    ),
) -> None:
    """List the models of the configured OpenAI-compatible endpoint (GET BASE_URL/models).

    Shows each model's price per 1M tokens (drafter's estimates; config 'prices' overrides them)
    and whether it honours strict structured output (yes, no, or unknown: drafter asks for it
    first and falls back to JSON mode, then a tool call). The configured model is marked with *.
    Exit 0 when listed; 2 on bad configuration (no key for OpenAI, a key over plain http to
    another machine); 3 when the server cannot be reached, refuses the key, times out or does
    not answer with a list of models.
    """
    from drafter.config.redaction import redact
    from drafter.model.catalog import list_models

    catalog = list_models(resolved(model=model, base_url=base_url))
    if fmt is TextOrJson.json:
        emit(json.dumps(catalog.to_list(), indent=2, ensure_ascii=False))
        return
    rows = [("", "MODEL", "INPUT $/1M", "OUTPUT $/1M", "STRICT OUTPUT")]
    for listed in catalog.models:
        prices = (_usd(listed.price[0]), _usd(listed.price[1])) if listed.price else ("unknown",) * 2
        strict = {True: "yes", False: "no", None: "unknown"}[listed.strict_output]
        # Redacted before measuring: a server may echo the key in an id, and emit would then
        # shorten the row after its column width was set.
        rows.append(("*" if listed.configured else "", redact(listed.id), *prices, strict))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"endpoint: {catalog.endpoint}", f"configured model: {catalog.configured} ({catalog.origin})"]
    lines += [
        f"{mark:<1} {name:<{widths[1]}}  {cost_in:>{widths[2]}}  {cost_out:>{widths[3]}}  {strict}"
        for mark, name, cost_in, cost_out, strict in rows
    ]
    emit("\n".join(lines))
    if not catalog.models:
        emit("drafter: the endpoint lists no models", err=True)
    elif catalog.configured != "offline" and not catalog.configured_is_listed:
        emit(f"drafter: the configured model {catalog.configured} is not in this endpoint's list", err=True)


def _usd(price: float) -> str:
    """``0.60``, ``10.00``; more digits only when the price has them (``0.075``)."""
    cents = f"{price:.2f}"
    return cents if float(cents) == price else f"{price:g}"
