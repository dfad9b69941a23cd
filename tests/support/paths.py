"""Where the repository's files are, wherever a test module sits under ``tests/``."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
CORPUS = FIXTURES / "corpus"
DOCS = FIXTURES / "docs"
CASSETTES = ROOT / "cassettes"
EXAMPLE = ROOT / "examples" / "issue-hikaricp-664.json"
