"""GitHub's own CLI as a token store: ``gh auth token`` when no GITHUB_TOKEN/GH_TOKEN is set.

Most GitHub users are already logged in with ``gh``, per host (github.com and each GitHub
Enterprise host). Asking it for the host's token saves them from copying a token into an
environment variable. The token is registered with :mod:`drafter.config.redaction` the moment
it is read, so it is cleaned from every output like a configured one, and it is only ever sent
to the API of the host ``gh`` gave it for (see :func:`drafter.sources.github.token_auth`).
"""

from __future__ import annotations

import functools
import shutil
import subprocess

GH_TIMEOUT = 15.0  # seconds; gh answers from its own config or the OS keyring


@functools.cache
def gh_token(host: str) -> str | None:
    """The token ``gh`` holds for ``host`` (``github.com`` or an Enterprise host), or None when
    gh is not installed, not logged in to that host, or fails in any way."""
    executable = shutil.which("gh")
    if executable is None:
        return None
    try:
        done = subprocess.run(
            [executable, "auth", "token", "--hostname", host],
            capture_output=True,
            text=True,
            timeout=GH_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError, UnicodeDecodeError):
        return None
    token = done.stdout.strip()
    if done.returncode != 0 or not token or any(ch.isspace() for ch in token):
        return None
    from drafter.config.redaction import register

    register([token])
    return token
