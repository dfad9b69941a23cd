"""Markdown to HTML for the review page, with nothing from the draft able to act in the browser.

A draft's text comes from an issue thread and a model, so it is untrusted. It is rendered with
markdown-it-py (already drafter's markdown parser) with raw HTML off, so ``<script>`` or
``<img onerror=…>`` in a draft come out as text; images are off, so nothing is fetched; and a link
is made clickable only when it is ``http`` or ``https``, with ``rel="noopener noreferrer"``. Any
other link (``javascript:``, ``data:``, a relative path) keeps its text and loses its target.

drafter's own markers are then highlighted in the escaped HTML: a reference the drafter could not
find in the inputs (``TODO(drafter): verify reference `…```) and every other ``TODO(drafter)``.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token

from drafter.config.redaction import redact
from drafter.document.content import TODO
from drafter.drafting.grounding import VERIFY_LEAD, VERIFY_MARKER

_VERIFY_TITLE = "not found in the issue, its comments or the notes: check it"
# Bidirectional overrides and isolates: in a login or title they would reorder what follows
# ("@eve\u202e..." reverses the role and date printed after it).
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def clean(text: str) -> str:
    """Untrusted text as the page may show it: secrets redacted, bidi controls removed.

    Redaction runs here, before escaping, because escaping hides the shapes it looks for
    (``password: "x"`` becomes ``&quot;x&quot;``); the writer redacts the whole file again.
    """
    return redact(_BIDI.sub("", text))


def web_url(url: str) -> str | None:
    """``url`` if it is an absolute ``http``/``https`` address, else ``None`` (not clickable)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url.strip()


def _link_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: dict[str, Any]) -> str:
    token = tokens[idx]
    href = web_url(str(token.attrGet("href") or ""))
    env.setdefault("links", []).append(href is not None)
    if href is None:
        return '<span class="dead-link">'
    token.attrs = {"href": href, "rel": "noopener noreferrer"}
    return str(self.renderToken(tokens, idx, options, env))


def _link_close(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: dict[str, Any]) -> str:
    stack = env.get("links") or [False]
    return "</a>" if stack.pop() else "</span>"


@functools.cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"]).disable("image")
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("link_close", _link_close)
    md.add_render_rule("text", _text)
    md.add_render_rule("code_inline", _code_inline)
    return md


def to_html(markdown: str) -> str:
    """Safe HTML for a section body, with drafter's markers highlighted."""
    return str(_parser().render(clean(markdown), {}))


def inline_html(markdown: str) -> tuple[str, str]:
    """A heading's markdown as safe inline HTML, and as plain text (for sorting and filtering)."""
    rendered = _parser().renderInline(clean(markdown), {})
    return rendered, html.unescape(_TAG.sub("", rendered))


_TAG = re.compile(r"<[^>]*>")


def _text(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: dict[str, Any]) -> str:
    """Text with ``TODO(drafter)`` marked; a verify marker's ``<mark>`` spans its code span.

    Done on text tokens, never on the rendered HTML, so an attribute (a link's ``href``, a code
    fence's language) is never rewritten.
    """
    content = tokens[idx].content
    following = tokens[idx + 1] if idx + 1 < len(tokens) else None
    verify = content.endswith(VERIFY_LEAD) and following is not None and following.type == "code_inline"
    head = content[: -len(VERIFY_LEAD)] if verify else content
    out = '<mark class="todo">TODO(drafter)</mark>'.join(
        escapeHtml(part) for part in head.split("TODO(drafter)")
    )
    if verify:
        env["close_mark"] = idx + 1
        out += f'<mark class="verify" title="{_VERIFY_TITLE}">{escapeHtml(VERIFY_LEAD)}'
    return out


def _code_inline(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: dict[str, Any]) -> str:
    code = f"<code>{escapeHtml(tokens[idx].content)}</code>"
    if env.get("close_mark") == idx:
        env["close_mark"] = None
        return code + "</mark>"
    return code


def count_markers(markdown: str) -> tuple[int, int]:
    """(references to verify, other TODO markers) in a section's markdown."""
    verify = len(VERIFY_MARKER.findall(markdown))
    return verify, markdown.count(TODO) - verify
