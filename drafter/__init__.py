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
    from drafter.context import Comment, IssueContext, Note
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
    from drafter.outline import Outline, Section, load_outline, parse_template
    from drafter.validate import Finding, Report, validate_text

# Public name -> module. Resolved on first use so that `import drafter.cli` (and so
# `drafter --help`) does not pay for the markdown parser.
_EXPORTS = {
    "Comment": "drafter.context",
    "ConfigError": "drafter.errors",
    "DrafterError": "drafter.errors",
    "EditedDraftError": "drafter.errors",
    "Finding": "drafter.validate",
    "InputError": "drafter.errors",
    "IssueContext": "drafter.context",
    "Note": "drafter.context",
    "Outline": "drafter.outline",
    "ProviderError": "drafter.errors",
    "Report": "drafter.validate",
    "Section": "drafter.outline",
    "SourceError": "drafter.errors",
    "TemplateError": "drafter.errors",
    "WriteError": "drafter.errors",
    "load_outline": "drafter.outline",
    "parse_template": "drafter.outline",
    "validate_text": "drafter.validate",
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
