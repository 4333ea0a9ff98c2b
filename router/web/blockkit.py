"""A Slack message's Block Kit as HTML, for the alert page: the message as Slack shows it.

Without a Slack token the router keeps its messages in /alerts only; with one, the
page still shows what was posted. Only the pieces the router's own messages use
are drawn: header, section (text and fields), context, divider and actions.

Safety rests on how the mrkdwn was made (router/render/mrkdwn.py): alert text
is escaped there, so ``&``, ``<`` and ``>`` in it are already entities and every
``<...>`` left is one of the router's own links, dates or mentions. Those are
turned into elements here, with their URLs checked again and attribute-escaped;
everything else stays the entity-escaped text it was.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from router.render.mrkdwn import unescape

_TOKEN = re.compile(r"<([^<>]*)>")
_FENCE = re.compile(r"```\n?(.*?)\n?```", re.S)
_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])")


def _token(match: re.Match[str], names: Mapping[str, str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("!date^"):
        return label or "a date"
    if target.startswith("@"):
        name = names.get(f"slack:{target[1:]}") or label or target[1:]
        return f'<span class="mention">@{html.escape(name)}</span>'
    if target.startswith("#"):
        return f'<span class="mention">#{html.escape(label or target[1:])}</span>'
    if target.startswith("!"):
        return f'<span class="mention">@{html.escape(label or target[1:])}</span>'
    url = unescape(target)
    if not url.startswith(("https://", "http://")):
        return label or html.escape(url)
    return f'<a href="{html.escape(url, quote=True)}">{label or html.escape(url)}</a>'


def _inline(text: str, names: Mapping[str, str]) -> str:
    """Code, bold and italic; links and dates drawn after, so no mark reaches a URL."""
    tokens: list[str] = []

    def keep(match: re.Match[str]) -> str:
        tokens.append(_token(match, names))
        return f"\x00{len(tokens) - 1}\x00"

    text = _TOKEN.sub(keep, text)
    text = _CODE.sub(r"<code>\1</code>", text)
    text = _BOLD.sub(r"<b>\1</b>", text)
    text = _ITALIC.sub(r"<i>\1</i>", text)
    return re.sub("\x00(\\d+)\x00", lambda m: tokens[int(m.group(1))], text)


def mrkdwn_html(text: str, names: Mapping[str, str] | None = None) -> str:
    """One mrkdwn text (as the router writes it) as HTML; ``names``: people by their
    stored actor (``slack:U…``), for mentions."""
    names = names or {}
    parts: list[str] = []
    pos = 0
    for fence in _FENCE.finditer(text):
        parts.append(_inline(text[pos : fence.start()], names))
        parts.append(f"<pre>{fence.group(1)}</pre>")
        pos = fence.end()
    parts.append(_inline(text[pos:], names))
    return "".join(parts).strip("\n").replace("\n", "<br>")


def _text(obj: dict[str, Any], names: Mapping[str, str]) -> str:
    if obj.get("type") == "plain_text":
        return html.escape(unescape(obj.get("text", "")))
    return mrkdwn_html(obj.get("text", ""), names)


def _button(element: dict[str, Any]) -> str:
    label = html.escape(unescape(element.get("text", {}).get("text", "")))
    url = element.get("url")
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        return f'<a class="button" href="{html.escape(url, quote=True)}">{label}</a>'
    return f'<span class="button">{label}</span>'


def _block(block: dict[str, Any], names: Mapping[str, str]) -> str:
    kind = block.get("type")
    if kind == "header":
        return f'<div class="bk-header">{_text(block.get("text", {}), names)}</div>'
    if kind == "section":
        out = []
        if "text" in block:
            out.append(f'<div class="bk-section">{_text(block["text"], names)}</div>')
        if fields := block.get("fields"):
            cells = "".join(f"<div>{_text(f, names)}</div>" for f in fields)
            out.append(f'<div class="bk-fields">{cells}</div>')
        return "".join(out)
    if kind == "context":
        items = " ".join(_text(e, names) for e in block.get("elements", []) if "text" in e)
        return f'<div class="bk-context">{items}</div>'
    if kind == "divider":
        return '<hr class="bk-divider">'
    if kind == "actions":
        buttons = "".join(_button(e) for e in block.get("elements", []))
        return f'<div class="bk-actions">{buttons}</div>'
    return ""


def blocks_html(blocks: list[dict[str, Any]], names: Mapping[str, str] | None = None) -> Markup:
    """The whole message, as the alert page shows it."""
    return Markup("".join(_block(b, names or {}) for b in blocks))  # noqa: S704 - built from escaped parts
