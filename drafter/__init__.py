"""drafter: turn an issue plus notes into a technical design doc in your team's template.

The library behind the ``drafter`` command. Typical use::

    from drafter import load_outline, validate_text

    outline = load_outline("technical-design")
    report = validate_text(open("docs/design/my-doc.md").read(), outline)

Importing this package is cheap: the model stack (langchain, openai) and HTTP are imported only
by the functions that need them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from drafter.errors import (
        ConfigError,
        DrafterError,
        EditedDraftError,
        InputError,
        ProviderError,
        SourceError,
        TemplateError,
        WriteError,
    )
    from drafter.sources.context import Comment, IssueContext, Note
    from drafter.template.findings import Finding, Report
    from drafter.template.outline import Outline, Section, load_outline, parse_template
    from drafter.template.validate import validate_text

# Public name -> module. Resolved on first use so that `import drafter.cli` (and so
# `drafter --help`) does not pay for the markdown parser.
_EXPORTS = {
    "Comment": "drafter.sources.context",
    "ConfigError": "drafter.errors",
    "DrafterError": "drafter.errors",
    "EditedDraftError": "drafter.errors",
    "Finding": "drafter.template.validate",
    "InputError": "drafter.errors",
    "IssueContext": "drafter.sources.context",
    "Note": "drafter.sources.context",
    "Outline": "drafter.template.outline",
    "ProviderError": "drafter.errors",
    "Report": "drafter.template.validate",
    "Section": "drafter.template.outline",
    "SourceError": "drafter.errors",
    "TemplateError": "drafter.errors",
    "WriteError": "drafter.errors",
    "load_outline": "drafter.template.outline",
    "parse_template": "drafter.template.outline",
    "validate_text": "drafter.template.validate",
}
__all__ = [
    "Comment",
    "ConfigError",
    "DrafterError",
    "EditedDraftError",
    "Finding",
    "InputError",
    "IssueContext",
    "Note",
    "Outline",
    "ProviderError",
    "Report",
    "Section",
    "SourceError",
    "TemplateError",
    "WriteError",
    "load_outline",
    "parse_template",
    "validate_text",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'drafter' has no attribute {name!r}")
