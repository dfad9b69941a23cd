"""drafter: turn an issue plus notes into a technical design doc in your team's template.

The library behind the ``drafter`` command. Typical use::

    from drafter import load_outline, validate_text

    outline = load_outline("technical-design")
    report = validate_text(open("docs/design/my-doc.md").read(), outline)

Importing this package is cheap: the model stack (langchain, openai) and HTTP are imported only
by the functions that need them.
"""

from __future__ import annotations

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
