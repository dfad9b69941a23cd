"""``--trace PATH``: one JSON line per model call, with secrets redacted, for debugging and audit.

Usage::

    tracer = Tracer(Path("trace.jsonl"), secrets=[os.environ["OPENAI_API_KEY"]])
    handle.tracer = tracer       # ModelHandle.ask calls it once per model call

Each line holds the time, model, chain, the prompt messages, the raw response text, token usage,
latency, whether the call was a retry and the error if it failed. Every string goes through
:func:`drafter.config.redaction.redact` first, like everything else drafter writes.

drafter calls OpenAI-compatible servers through the openai SDK, not a langchain chat model, so
LangSmith's langchain tracing does not see those calls: this file is the record.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drafter.config.redaction import REDACTED, redact
from drafter.errors import WriteError

__all__ = ["REDACTED", "Tracer", "redact", "redact_value"]


def redact_value(value: Any, secrets: Iterable[str] = ()) -> Any:
    """:func:`redact` applied to every string inside dicts, lists and tuples."""
    secrets = list(secrets)
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {str(k): redact_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v, secrets) for v in value]
    return value


class Tracer:
    """Appends one redacted JSON line per model call to ``path`` (created with its folder)."""

    def __init__(self, path: Path, secrets: Iterable[str] = ()) -> None:
        self.path = path
        self.secrets = [s for s in secrets if s]
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        except OSError as exc:
            raise WriteError(
                f"cannot write --trace {path}: {exc.strerror or exc}", hint="pick a writable file"
            ) from None

    def __call__(self, event: dict[str, Any]) -> None:
        record = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), **event}
        line = json.dumps(redact_value(record, self.secrets), ensure_ascii=False, default=str)
        with self._lock:
            try:
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(line + "\n")
            except OSError as exc:
                raise WriteError(f"cannot append to --trace {self.path}: {exc.strerror or exc}") from None
