"""SourceSettings: every knob of the sources layer, resolved once from flags and the environment.

The library never reads ``os.environ``; the CLI calls :meth:`SourceSettings.from_env` and passes the
frozen result down. Tokens are held in :class:`Secret` so that no ``repr``, log line or error message
can print them by accident, and the callables (``sleep``, ``clock``, ``notify``, ``resolve``) are
here so tests can run rate-limit and retry paths without real waiting or DNS.
"""

from __future__ import annotations

import math
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from drafter.config import DEFAULT_MAX_CONTEXT, Settings, flag
from drafter.errors import ConfigError
from drafter.sources.gh import gh_token

MIN_MAX_CONTEXT = 2_000
DEFAULT_MAX_WAIT = 60.0
DEFAULT_TIMEOUT = 20.0
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
# Comment pages of one thread in flight at once. GitHub asks clients to keep concurrency low
# (secondary rate limits); a batch's shared pool also caps the requests per host across issues.
DEFAULT_PAGE_CONCURRENCY = 4


class Secret:
    """A credential that prints as ``***``; call :meth:`reveal` only where it goes on the wire."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _resolve(host: str) -> Sequence[str]:
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def _secret(env: Mapping[str, str], *names: str) -> Secret | None:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return Secret(value)
    return None


def _use_gh(env: Mapping[str, str]) -> bool:
    """Ask ``gh`` for a GitHub token only when none is configured and DRAFTER_NO_GH is not on."""
    return _secret(env, "GITHUB_TOKEN", "GH_TOKEN") is None and not flag(env.get("DRAFTER_NO_GH", ""))


def _api_url(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip().rstrip("/")
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{name} must be an http(s) URL, got {value!r}",
            hint=f"for example {name}=https://example.com/api or unset it",
        )
    if parts.username or parts.password:
        raise ConfigError(f"{name} must not contain credentials", hint="put the token in the token variable")
    return value


@dataclass(frozen=True)
class SourceSettings:
    """How to reach the trackers: tokens, API bases, budgets, and injectable time/DNS functions.

    Usage::

        settings = SourceSettings.from_env(os.environ, max_wait=10)
        ctx = load_source("https://github.com/owner/repo/issues/12", settings)
    """

    github_token: Secret | None = field(default=None, repr=False)
    github_api_url: str | None = None
    gitlab_token: Secret | None = field(default=None, repr=False)
    gitlab_api_url: str | None = None
    jira_email: str | None = None
    jira_api_token: Secret | None = field(default=None, repr=False)
    jira_pat: Secret | None = field(default=None, repr=False)
    jira_base_url: str | None = None
    jira_api_version: str | None = None
    max_context: int = DEFAULT_MAX_CONTEXT
    max_wait: float = DEFAULT_MAX_WAIT
    timeout: float = DEFAULT_TIMEOUT
    retries: int = 3
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    # Folder of the conditional-request cache of tracker GETs (drafter.sources.cache); None = off.
    cache_dir: Path | None = None
    page_concurrency: int = DEFAULT_PAGE_CONCURRENCY
    # Asked for a GitHub host's token when no GITHUB_TOKEN/GH_TOKEN is set (``gh auth token``).
    token_helper: Callable[[str], str | None] | None = field(default=None, repr=False, compare=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)
    notify: Callable[[str], None] | None = field(default=None, repr=False, compare=False)
    resolve: Callable[[str], Sequence[str]] = field(default=_resolve, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_context < MIN_MAX_CONTEXT:
            raise ConfigError(
                f"--max-context must be at least {MIN_MAX_CONTEXT} characters, got {self.max_context}",
                hint=f"use --max-context {MIN_MAX_CONTEXT} or more",
            )
        if not 0 <= self.max_wait < math.inf:  # also refuses nan
            raise ConfigError(
                f"--max-wait must be a finite number of seconds, 0 or more; got {self.max_wait:g}"
            )
        if self.page_concurrency < 1:
            raise ConfigError(f"page_concurrency must be 1 or more, got {self.page_concurrency}")
        if self.jira_api_version not in (None, "2", "3"):
            raise ConfigError(
                f"JIRA_API_VERSION must be 2 or 3, got {self.jira_api_version!r}",
                hint="use 3 for Jira Cloud and 2 for Jira Server/Data Center",
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides: object) -> SourceSettings:
        """Read tokens and API bases from ``env``; keyword ``overrides`` (flag values) win."""
        version = env.get("JIRA_API_VERSION", "").strip() or None
        settings = cls(
            github_token=_secret(env, "GITHUB_TOKEN", "GH_TOKEN"),
            github_api_url=_api_url(env, "GITHUB_API_URL"),
            gitlab_token=_secret(env, "GITLAB_TOKEN"),
            gitlab_api_url=_api_url(env, "GITLAB_API_URL"),
            jira_email=env.get("JIRA_EMAIL", "").strip() or None,
            jira_api_token=_secret(env, "JIRA_API_TOKEN"),
            jira_pat=_secret(env, "JIRA_PAT"),
            jira_base_url=_api_url(env, "JIRA_BASE_URL"),
            jira_api_version=version,
        )
        return replace(settings, **overrides) if overrides else settings  # type: ignore[arg-type]

    @classmethod
    def from_settings(cls, settings: Settings, notify: Callable[[str], None] | None = None) -> SourceSettings:
        """The tracker settings of a run whose :class:`~drafter.config.Settings` are resolved: its
        environment's tokens and API bases, its ``max_context``, ``max_wait`` and cache folder,
        and, when no GitHub token is set, ``gh auth token`` (:mod:`drafter.sources.gh`)."""
        return cls.from_env(
            settings.env,
            max_context=settings.max_context,
            max_wait=settings.max_wait,
            notify=notify,
            cache_dir=settings.cache_dir,
            token_helper=gh_token if _use_gh(settings.env) else None,
        )

    def configured_hosts(self) -> frozenset[str]:
        """Hosts the user named explicitly; only these may be private or loopback addresses."""
        hosts = set()
        for url in (self.github_api_url, self.gitlab_api_url, self.jira_base_url):
            if url:
                hosts.add((urlsplit(url).hostname or "").lower())
        return frozenset(hosts)

    def say(self, message: str) -> None:
        """Tell the user something (a rate-limit wait) without making it part of the output."""
        if self.notify is not None:
            self.notify(message)
