"""What the validator reports: its rules, one finding, and a document's report.

Kept apart from :mod:`drafter.template.validate` (the checks) because everything that shows a
validation result (the CLI's formats, batch reports, review, eval) needs these types and the rule
list, and none of them needs the checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]

RULES: dict[str, str] = {
    "missing-section": "a required section of the template is absent",
    "section-order": "sections appear in a different order than in the template",
    "heading-level": "a section's heading level differs from the template",
    "section-number": "a numbered heading carries a different number than in the template",
    "unknown-section": "a section the template does not have (warning)",
    "empty-section": "a required section has no content, or says N/A",
    "placeholder-left": "a template placeholder or example was left in",
    "guidance-left": "the template's guidance text was left in",
    "table-missing": "a table the template requires is absent",
    "table-columns": "a required table has different columns",
    "fence-missing": "a required diagram or code block is absent",
    "title-missing": "the document has no title heading",
    "metadata-missing": "a header metadata field is absent",
    "metadata-invalid": "a header metadata value is not allowed or malformed",
    "todo-left": "a TODO marker is left (warning; error with --strict)",
    "html-unbalanced": "block-level HTML (<details>, <div> ...) is opened and not closed, or the reverse",
}


@dataclass(frozen=True)
class Finding:
    """One problem found in a document."""

    rule: str
    severity: Severity
    line: int
    message: str
    section: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "rule": self.rule,
            "severity": self.severity,
            "line": self.line,
            "message": self.message,
        }
        if self.section:
            data["section"] = self.section
        return data


@dataclass(frozen=True)
class Report:
    """The result of validating one document."""

    path: str
    template: str
    findings: tuple[Finding, ...]

    def valid(self, strict: bool = False) -> bool:
        """No errors (and, when ``strict``, no warnings either)."""
        return not any(f.severity == "error" or strict for f in self.findings)

    def to_dict(self, strict: bool = False) -> dict[str, Any]:
        return {
            "path": self.path,
            "template": self.template,
            "valid": self.valid(strict),
            "findings": [f.to_dict() for f in self.findings],
        }
