"""The items of a batch and what became of them: one status per issue, and the run's totals.

:mod:`drafter.batch.runner` fills them in; the reports (:mod:`drafter.batch.reports`) read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from drafter.model.meter import empty_usage

Status = Literal[
    "written", "partial", "unchanged", "skipped-edited", "skipped-budget", "not-run", "invalid", "failed"
]
# In report order. "partial": written, but some sections' answers stayed unusable (a re-run
# redrafts only those); "not-run": the batch was interrupted before the item finished.
STATUSES: tuple[Status, ...] = (
    "written",
    "partial",
    "unchanged",
    "skipped-edited",
    "skipped-budget",
    "not-run",
    "invalid",
    "failed",
)
OK_STATUSES = frozenset({"written", "unchanged", "skipped-edited"})


@dataclass
class BatchItem:
    """One source of the batch and what became of it."""

    source: str
    key: str = ""
    path: str | None = None
    status: Status = "failed"
    reason: str | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=empty_usage)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "path": self.path,
            "status": self.status,
            "reason": self.reason,
            "findings": self.findings,
            "usage": dict(self.usage),
            "seconds": round(self.seconds, 3),
        }


@dataclass
class BatchRun:
    """The items of a finished batch, in source order, and the wall-clock time it took."""

    items: list[BatchItem]
    seconds: float = 0.0
    # The signal that stopped the run (SIGINT, SIGTERM), if one did; its items left are not-run.
    interrupted: str | None = None

    def totals(self) -> dict[str, Any]:
        counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        usage = empty_usage()
        for item in self.items:
            counts[item.status] += 1
            for name in usage:
                usage[name] += int(item.usage.get(name, 0))
        return {"items": len(self.items), **counts, **usage, "seconds": round(self.seconds, 3)}

    @property
    def ok(self) -> bool:
        return all(item.ok for item in self.items)

    def exit_code(self) -> int:
        """0 when every item is written/unchanged/skipped-edited, else 1; 130/143 if interrupted."""
        if self.interrupted is not None:
            from drafter.batch.interrupt import exit_code

            return exit_code(self.interrupted)
        return 0 if self.ok else 1
