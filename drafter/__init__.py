"""drafter: turn an issue plus notes into a technical design doc in your team's template.

The library behind the ``drafter`` command. Typical use::

    import os
    from drafter import FromIssueRequest, from_issue, load_outline, resolve_settings, validate_text

    outcome = from_issue(FromIssueRequest("owner/repo#12", resolve_settings({}, os.environ)))
    print(outcome.path, outcome.exit_code)

    report = validate_text(open("docs/design/my-doc.md").read(), load_outline("technical-design"))

Importing this package is cheap: the model stack (langchain, openai) and HTTP are imported only
by the functions that need them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from drafter.config import Settings, resolve_settings
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
    from drafter.pipeline import (
        DraftOptions,
        DraftResult,
        FromIssueOutcome,
        FromIssueRequest,
        draft,
        from_issue,
    )
    from drafter.sources import SourceSettings, load_source
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
    "DraftOptions": "drafter.pipeline",
    "DraftResult": "drafter.pipeline",
    "Finding": "drafter.template.findings",
    "FromIssueOutcome": "drafter.pipeline",
    "FromIssueRequest": "drafter.pipeline",
    "Settings": "drafter.config",
    "SourceSettings": "drafter.sources",
    "draft": "drafter.pipeline",
    "from_issue": "drafter.pipeline",
    "load_source": "drafter.sources",
    "resolve_settings": "drafter.config",
    "InputError": "drafter.errors",
    "IssueContext": "drafter.sources.context",
    "Note": "drafter.sources.context",
    "Outline": "drafter.template.outline",
    "ProviderError": "drafter.errors",
    "Report": "drafter.template.findings",
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
    "DraftOptions",
    "DraftResult",
    "DrafterError",
    "EditedDraftError",
    "Finding",
    "FromIssueOutcome",
    "FromIssueRequest",
    "InputError",
    "IssueContext",
    "Note",
    "Outline",
    "ProviderError",
    "Report",
    "Section",
    "Settings",
    "SourceError",
    "SourceSettings",
    "TemplateError",
    "WriteError",
    "draft",
    "from_issue",
    "load_outline",
    "load_source",
    "parse_template",
    "resolve_settings",
    "validate_text",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'drafter' has no attribute {name!r}")
