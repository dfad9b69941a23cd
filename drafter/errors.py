"""The one exception tree of drafter, and the exit code each branch maps to.

Every failure the user can act on is a :class:`DrafterError` whose message is one line that says
what went wrong *and how to fix it*. The CLI turns it into that line on stderr and the exit code
below; nothing else in the package prints or exits. Set ``DRAFTER_DEBUG=1`` to get tracebacks.

    DrafterError                      exit 1 unless a subclass says otherwise
    +-- InputError                    exit 2  bad flag value, unreadable file, malformed input
    |   +-- TemplateError             exit 2  unknown template, template that cannot be parsed
    |   |   +-- TemplateMarkerError   exit 2  a document's template marker names a path or unknown name
    |   +-- SourceError               exit 2  issue cannot be fetched (URL, 404, 401/403, shape)
    |   |   +-- TrackerUnavailableError  exit 3  tracker unreachable or failing after retries
    |   +-- ConfigError               exit 2  bad configuration value
    |   +-- WriteError                exit 2  the output path cannot be written (missing, read-only)
    +-- EditedDraftError              exit 2  refusing to overwrite a draft a human edited
    +-- ProviderError                 exit 3  the model failed after retries

Exit codes, documented in the README: 0 success; 1 written/checked but findings remain (a gate
failed); 2 nothing done because of bad input or usage, including an output path that cannot be
written; 3 a runtime failure outside the user's input (the model or network after retries).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_RUNTIME = 3


class DrafterError(Exception):
    """Root of every error drafter raises on purpose; its message is shown to the user as-is."""

    exit_code: int = EXIT_FINDINGS

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        text = " ".join(self.message.split())
        if self.hint:
            text = f"{text} ({' '.join(self.hint.split())})"
        return text


class InputError(DrafterError):
    """Raised when the user's input (a flag, a path, a file's content) cannot be used."""

    exit_code = EXIT_USAGE


class TemplateError(InputError):
    """Raised when a template is unknown or has no usable structure (e.g. no headings)."""


class TemplateMarkerError(TemplateError):
    """Raised when a document's ``<!-- drafter:template NAME -->`` marker names a file path or a
    template the project does not know; only ``--template`` and config may name a file."""


class SourceError(InputError):
    """Raised when an issue source cannot be read or fetched: bad URL, HTTP error, wrong shape."""

    def __init__(self, message: str, *, hint: str | None = None, status: int | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class TrackerUnavailableError(SourceError):
    """Raised when the tracker cannot be reached, or keeps failing, after the retries: a network
    error, a timeout, HTTP 5xx, or a rate limit that outlasts ``--max-wait``.

    A :class:`SourceError` (code that catches those still does), but exit 3 like the model's
    failures: nothing in the user's input is wrong, and a later run may well succeed.
    """

    exit_code = EXIT_RUNTIME


class ConfigError(InputError):
    """Raised when a configuration value (flag, environment variable, config file) is invalid."""


class EditedDraftError(DrafterError):
    """Raised when the target draft was edited by a human and ``--force`` was not given."""

    exit_code = EXIT_USAGE


class ProviderError(DrafterError):
    """Raised when the language model cannot produce an answer after the retries."""

    exit_code = EXIT_RUNTIME


class WriteError(InputError):
    """Raised when a draft or report cannot be written (missing or read-only directory, disk)."""
