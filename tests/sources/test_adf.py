"""ADF (Jira Cloud) to markdown: the node types drafter promises, and robustness to unknown ones."""

from __future__ import annotations

import json
from pathlib import Path

from drafter.sources.adf import adf_to_markdown

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "jira" / "adf-all-nodes.json"

EXPECTED = """\
## Context

The **exporter** drops *spans* when `flush()` fails; see [the runbook](https://wiki.example.com/runbook). \
Ping @Dana Lee ⚠️  
Related: <https://acme.atlassian.net/browse/OBS-7>

- retry with backoff
  3. first try
  4. second try
- keep the v1 format

```python
def flush():
    raise IOError
```

> quoted line

---

| metric | value |
| --- | --- |
| dropped | a\\|b |

[attachment]

still readable"""


def test_all_supported_nodes() -> None:
    assert adf_to_markdown(json.loads(SAMPLE.read_text(encoding="utf-8"))) == EXPECTED


def test_plain_strings_and_empty_values_pass_through() -> None:
    assert adf_to_markdown("h1. wiki text") == "h1. wiki text"
    assert adf_to_markdown(None) == ""
    assert adf_to_markdown({"type": "doc"}) == ""
    assert adf_to_markdown({"type": "doc", "content": [42, {"type": "paragraph", "content": "bad"}]}) == ""


def test_deep_nesting_does_not_recurse_forever() -> None:
    node: dict[str, object] = {"type": "paragraph", "content": [{"type": "text", "text": "deep"}]}
    for _ in range(500):
        node = {"type": "blockquote", "content": [node]}
    assert isinstance(adf_to_markdown({"type": "doc", "content": [node]}), str)
