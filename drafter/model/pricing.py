"""Rough model prices, for the cost column of ``drafter eval`` and the cost line of drafts and batches.

The prices are estimates in USD per one million tokens (input, output), copied from the vendor's
public price list at the time of writing; they change, and gateways or discounts change them again.
Override them in config rather than trusting them for billing. Offline drafts and models that are
not listed have no estimate (``None``), which the report shows as "n/a" rather than as free.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# USD per 1M tokens: (input, output). Estimates; override in config.
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "o4-mini": (1.10, 4.40),
}

# Dated snapshots ("gpt-4o-mini-2024-07-18") and "-latest" aliases cost what their base model costs.
_SNAPSHOT = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{4}|latest)")


def price_of(
    model_spec: str, prices: Mapping[str, tuple[float, float]] | None = None
) -> tuple[float, float] | None:
    """The ``(input, output)`` price per 1M tokens of ``openai:NAME`` or ``NAME``, if known.

    ``prices`` (the config's ``prices`` table) is consulted before, and wins over, :data:`PRICES`.
    """
    provider, sep, name = model_spec.strip().partition(":")
    if not sep:
        provider, name = "openai", provider
    if provider != "openai" or not name:
        return None
    name = name.lower()
    table = {**PRICES, **{k.lower(): v for k, v in (prices or {}).items()}}
    if name in table:
        return table[name]
    for base in sorted(table, key=len, reverse=True):
        if name.startswith(base) and _SNAPSHOT.fullmatch(name[len(base) :]):
            return table[base]
    return None


def estimate_cost(
    model_spec: str,
    prompt_tokens: int,
    completion_tokens: int,
    *,
    prices: Mapping[str, tuple[float, float]] | None = None,
) -> float | None:
    """Estimated USD cost of the given token counts, or ``None`` for offline/unknown models."""
    price = price_of(model_spec, prices)
    if price is None:
        return None
    return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000
