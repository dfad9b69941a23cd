"""The one output boundary: every text drafter writes or prints passes through here first.

A server, gateway or proxy can echo the ``Authorization`` header back: in an answer, an error
object, a 4xx/5xx message or an HTML error page. From there a key would reach a draft, a state
file, a report, a trace or the terminal. Rather than trust every path to remember, the writers
(:func:`drafter.document.writer.write_atomic`, the trace, the reports) and the printer (the CLI's ``emit``)
all call this module, which removes:

* the secrets configured for this run, registered once by the CLI (:func:`register_env`): the
  OpenAI, GitHub, GitLab and Jira tokens, the userinfo of configured URLs and proxies, and their
  ``user:password`` and base64 (HTTP Basic) forms;
* well-known token shapes (``sk-…``, ``ghp_…``, ``github_pat_…``, ``glpat-…``, ``xox…-``),
  ``Bearer``/``Basic``/``token`` header values and ``api_key=…``-style assignments.

Text for a terminal also loses its control sequences (:func:`for_terminal`): an issue title can
carry CSI colour codes, OSC window titles, OSC 8 hyperlinks or BEL, which a terminal would obey.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from urllib.parse import unquote, urlsplit

REDACTED = "[REDACTED]"
# Each token shape with the literal text it cannot match without: a text holding none of them is
# not scanned (a draft and its state file pass through here on every write).
_PATTERNS = [
    (re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), ("sk-",)),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{16,}"), ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{16,}"), ("github_pat_",)),
    (re.compile(r"\bglpat-[A-Za-z0-9_-]{16,}"), ("glpat-",)),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"), ("xox",)),
]
_BEARER = re.compile(r"(\b(?:Bearer|Basic|token)\s+)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)
_ASSIGNED = re.compile(
    r"(\b(?:api[_-]?key|access[_-]?token|private[_-]?token|auth[_-]?token|password|secret)\b"
    r"[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&<>]{4,}",
    re.IGNORECASE,
)
# The same for the two case-blind patterns, looked for in the text folded as re.IGNORECASE
# matches: lower case, and the four non-ASCII letters it matches to ASCII ones ("K" is the Kelvin
# sign, which lower() already folds; "İ" lowers to "i" and a combining dot, which goes).
_BEARER_NEEDS = ("bearer", "basic", "token")
_ASSIGNED_NEEDS = ("key", "token", "password", "secret")
_FOLD = str.maketrans({"\u0131": "i", "\u017f": "s", "\u0307": None})


def _folded(text: str) -> str:
    lowered = text.lower()
    if lowered.isascii() or not any(c in lowered for c in "\u0131\u017f\u0307"):
        return lowered  # translate() walks every character: only when one of the three is there
    return lowered.translate(_FOLD)


# ESC-introduced sequences (CSI, OSC up to BEL or ST, and two-character ones), then the other C0
# and C1 controls but tab and newline.
_ESCAPES = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)

TOKEN_VARIABLES = (
    "OPENAI_API_KEY",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITLAB_TOKEN",
    "JIRA_API_TOKEN",
    "JIRA_PAT",
    "LANGSMITH_API_KEY",
)
URL_VARIABLES = (
    "OPENAI_BASE_URL",
    "GITHUB_API_URL",
    "GITLAB_API_URL",
    "JIRA_BASE_URL",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "ALL_PROXY",
    "https_proxy",
    "http_proxy",
    "all_proxy",
)

_secrets: list[str] = []


def _forms(secret: str) -> list[str]:
    """A secret and the forms it travels in: as is, URL-decoded, and base64 (HTTP Basic)."""
    found = {secret, unquote(secret)}
    found.add(base64.b64encode(secret.encode("utf-8")).decode("ascii"))
    return [s for s in found if len(s) >= 4]


def userinfo(url: str) -> list[str]:
    """The ``user:password`` and the password in ``url``'s userinfo, if any."""
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
    except ValueError:
        return []
    found: list[str] = []
    if parts.password:
        found += [f"{parts.username or ''}:{parts.password}", parts.password]
    elif parts.username and "@" in parts.netloc:
        found.append(parts.username)
    return found


def secrets_in(env: Mapping[str, str]) -> list[str]:
    """The secrets a run is configured with, in every form they may appear in."""
    raw = [env.get(name, "").strip() for name in TOKEN_VARIABLES]
    if env.get("JIRA_EMAIL") and env.get("JIRA_API_TOKEN"):
        raw.append(f"{env['JIRA_EMAIL'].strip()}:{env['JIRA_API_TOKEN'].strip()}")
    for name in URL_VARIABLES:
        raw += userinfo(env.get(name, ""))
    return [form for secret in raw if secret for form in _forms(secret)]


def register(secrets: Iterable[str]) -> None:
    """Add secrets that every later output is cleaned of (for this process)."""
    for secret in secrets:
        for form in _forms(secret):
            if form not in _secrets:
                _secrets.append(form)
    _secrets.sort(key=len, reverse=True)  # a secret inside a longer one goes with the longer


def register_env(env: Mapping[str, str]) -> None:
    """Register the secrets configured in ``env``: what the CLI does once, at start."""
    register(secrets_in(env))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without the registered and given ``secrets`` and without token shapes."""
    extra = sorted({f for s in secrets for f in _forms(s)}, key=len, reverse=True)
    for secret in (*extra, *_secrets):
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, needs in _PATTERNS:
        if any(need in text for need in needs):
            text = pattern.sub(REDACTED, text)
    folded = _folded(text)
    if any(need in folded for need in _BEARER_NEEDS):
        text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
        folded = _folded(text)
    if any(need in folded for need in _ASSIGNED_NEEDS):
        text = _ASSIGNED.sub(lambda m: m.group(1) + REDACTED, text)
    return text


def for_terminal(text: str) -> str:
    """:func:`redact`, and no terminal control sequence survives."""
    return _ESCAPES.sub("", redact(text))
