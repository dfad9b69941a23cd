"""Where a credential may travel: over https, or over plain http only to this machine.

A token sent over ``http://`` is readable by every hop and proxy on the way. Local servers are the
exception people rely on (a mirror or a fake on 127.0.0.1, llama.cpp or Ollama on localhost), and
a loopback connection never leaves the machine, so only those keep plain http. Both the trackers
(:mod:`drafter.sources.http`) and the model server (:mod:`drafter.model.openai`) ask here before a
credential goes out, so the rule is written once.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback(host: str) -> bool:
    """``localhost`` (and its subdomains) or a loopback IP literal; names are not resolved."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_http_host(url: str) -> str | None:
    """The host of ``url`` when a credential sent to it would cross the network unencrypted."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return None
    if parts.scheme.lower() != "http" or is_loopback(host):
        return None
    return host or "?"
