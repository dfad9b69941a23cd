"""No credential ever lands in a cassette: scrubbed headers, and no token-shaped strings anywhere."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
SECRET_HEADERS = {
    "authorization",
    "private-token",
    "api-key",
    "x-api-key",
    "openai-organization",
    "openai-project",
}
TOKEN_SHAPES = re.compile(
    r"(?<![A-Za-z0-9])(sk-[A-Za-z0-9_-]{16,}|ghp_[A-Za-z0-9]{16,}|gh[ousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{16,}"
    r"|glpat-[A-Za-z0-9_-]{8,}|org-[A-Za-z0-9]{16,})"
)


def _cassettes() -> list[Path]:
    return sorted(p for p in CASSETTES.rglob("*") if p.is_file())


def test_secret_headers_are_redacted_everywhere() -> None:
    seen_redacted: set[str] = set()
    for path in _cassettes():
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for interaction in data.get("interactions", []) if isinstance(data, dict) else []:
            for section in ("request", "response"):
                headers = interaction.get(section, {}).get("headers", {}) or {}
                for name, values in headers.items():
                    if name.lower() in SECRET_HEADERS:
                        assert values == ["REDACTED"], f"{path}: {section} header {name} is not redacted"
                        seen_redacted.add(name.lower())
                    if name.lower() in ("set-cookie", "cookie"):
                        raise AssertionError(f"{path}: {section} keeps a {name} header")
    # The sources cassettes were recorded with fake tokens, so scrubbing really ran on both kinds.
    assert {"authorization", "private-token"} <= seen_redacted


def test_no_token_shaped_strings_in_any_cassette() -> None:
    for path in _cassettes():
        match = TOKEN_SHAPES.search(path.read_text(encoding="utf-8", errors="replace"))
        assert match is None, f"{path} contains a token-like string: {match.group(0)[:12]}..."
