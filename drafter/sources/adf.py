"""Atlassian Document Format (Jira Cloud REST v3) to markdown.

Jira Cloud returns descriptions and comments as an ADF JSON tree, and the model reads markdown, so
this walks the tree once: paragraphs, headings, lists (nested), code blocks, quotes, rules, tables,
links, inline code/bold/italic, mentions, emoji and cards. Anything it does not know (media, macros)
becomes a short bracketed placeholder or its children's text, never a crash: ADF grows new nodes.
"""

from __future__ import annotations

from typing import Any

_MAX_DEPTH = 60


def adf_to_markdown(doc: Any) -> str:
    """Convert an ADF document (or a plain string, returned as-is) to markdown text."""
    if doc is None:
        return ""
    if isinstance(doc, str):
        return doc
    return _blocks(_children(doc), 0).strip()


def _children(node: Any) -> list[Any]:
    content = node.get("content") if isinstance(node, dict) else None
    return [c for c in content if isinstance(c, dict)] if isinstance(content, list) else []


def _attrs(node: dict[str, Any]) -> dict[str, Any]:
    attrs = node.get("attrs")
    return attrs if isinstance(attrs, dict) else {}


def _blocks(nodes: list[Any], depth: int, sep: str = "\n\n") -> str:
    return sep.join(part for part in (_block(n, depth) for n in nodes) if part.strip())


def _block(node: dict[str, Any], depth: int) -> str:
    if depth > _MAX_DEPTH:
        return ""
    kind = node.get("type")
    attrs = _attrs(node)
    if kind == "paragraph":
        return _inline(_children(node))
    if kind == "heading":
        level = attrs.get("level")
        hashes = "#" * (level if isinstance(level, int) and 1 <= level <= 6 else 2)
        return f"{hashes} {_inline(_children(node))}"
    if kind in ("bulletList", "orderedList"):
        return _list(node, depth)
    if kind == "codeBlock":
        language = attrs.get("language") if isinstance(attrs.get("language"), str) else ""
        code = "".join(str(c.get("text") or "") for c in _children(node))
        fence = "````" if "```" in code else "```"
        return f"{fence}{language}\n{code}\n{fence}"
    if kind == "blockquote":
        inner = _blocks(_children(node), depth + 1)
        return "\n".join(f"> {line}" if line else ">" for line in inner.splitlines())
    if kind == "rule":
        return "---"
    if kind == "table":
        return _table(node)
    if kind == "panel":
        panel = str(attrs.get("panelType") or "info").upper()
        inner = _blocks(_children(node), depth + 1)
        return "\n".join(f"> {line}" if line else ">" for line in f"**{panel}:**\n{inner}".splitlines())
    if kind in ("mediaSingle", "mediaGroup", "media"):
        return "[attachment]"
    if kind == "blockCard" or kind == "embedCard":
        return str(attrs.get("url") or "")
    if kind in ("text", "hardBreak", "mention", "emoji", "inlineCard", "status", "date"):
        return _inline([node])
    return _blocks(_children(node), depth + 1)


def _list(node: dict[str, Any], depth: int) -> str:
    ordered = node.get("type") == "orderedList"
    start = _attrs(node).get("order")
    number = start if isinstance(start, int) else 1
    lines: list[str] = []
    for item in _children(node):
        marker = f"{number}." if ordered else "-"
        number += 1
        body = _blocks(_children(item), depth + 1, sep="\n")  # tight list: no blank lines
        pad = " " * (len(marker) + 1)
        for index, line in enumerate(body.splitlines() or [""]):
            lines.append(f"{marker} {line}" if index == 0 else (f"{pad}{line}" if line else ""))
    return "\n".join(lines)


def _table(node: dict[str, Any]) -> str:
    rows = []
    for row in _children(node):
        cells = [
            _blocks(_children(cell), 1).replace("\n", " ").replace("|", "\\|") for cell in _children(row)
        ]
        rows.append(cells)
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * width]
    lines.extend("| " + " | ".join(r) + " |" for r in rows[1:])
    return "\n".join(lines)


def _inline(nodes: list[Any]) -> str:
    out: list[str] = []
    for node in nodes:
        kind = node.get("type")
        attrs = _attrs(node)
        if kind == "text":
            out.append(_marked(str(node.get("text") or ""), node.get("marks")))
        elif kind == "hardBreak":
            out.append("  \n")
        elif kind == "mention":
            text = str(attrs.get("text") or attrs.get("id") or "someone")
            out.append(text if text.startswith("@") else f"@{text}")
        elif kind == "emoji":
            out.append(str(attrs.get("text") or attrs.get("shortName") or ""))
        elif kind in ("inlineCard", "blockCard"):
            url = str(attrs.get("url") or "")
            out.append(f"<{url}>" if url else "")
        elif kind == "status":
            out.append(f"[{attrs.get('text') or ''}]")
        elif kind == "date":
            out.append(str(attrs.get("timestamp") or ""))
        else:
            out.append(_inline(_children(node)))
    return "".join(out)


def _marked(text: str, marks: Any) -> str:
    if not isinstance(marks, list) or not text:
        return text
    link = ""
    for mark in marks:
        if not isinstance(mark, dict):
            continue
        kind = mark.get("type")
        if kind == "code":
            text = f"`{text}`"
        elif kind == "strong":
            text = f"**{text}**"
        elif kind == "em":
            text = f"*{text}*"
        elif kind == "strike":
            text = f"~~{text}~~"
        elif kind == "link":
            href = _attrs(mark).get("href")
            link = href if isinstance(href, str) else ""
    return f"[{text}]({link})" if link else text
