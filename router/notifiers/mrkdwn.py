"""Slack text: escaping alert-supplied text, links, and truncation within limits.

Only ``&``, ``<`` and ``>`` are special to Slack, and mentions and links exist
only inside ``<...>``; escaping those three makes any alert text inert.
"""

from __future__ import annotations

import re
from urllib.parse import quote

# Block Kit limits (docs.slack.dev, reference/block-kit).
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_TEXT = 75
MAX_URL = 3000
MAX_FALLBACK_TEXT = 3000  # Slack accepts 40,000; notifications show far less

ELLIPSIS = "…"
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def truncate(text: str, limit: int) -> str:
    """Cut to ``limit`` characters with an ellipsis, never inside an escape entity."""
    if len(text) <= limit:
        return text
    cut = _PARTIAL_ENTITY.sub("", text[: limit - len(ELLIPSIS)])
    return cut + ELLIPSIS


def safe(text: str, limit: int) -> str:
    """Alert-supplied text -> escaped, one line of mrkdwn within ``limit``."""
    return truncate(escape(text), limit)


def code_block(code: str, limit: int) -> str:
    fence = "```"
    body = truncate(escape(code.rstrip("\n")), limit - 2 * len(fence) - 2)
    return f"{fence}\n{body}\n{fence}"


def safe_url(url: str) -> str | None:
    """An http(s) URL that cannot break out of ``<url|text>``; None if unusable."""
    if not url.startswith(("https://", "http://")):
        return None
    quoted = quote(url, safe=":/?#[]@!$&'()*+,;=%~-._").replace("&", "&amp;")
    return quoted if len(quoted) <= MAX_URL else None


def link(url: str, text: str, limit: int) -> str:
    """``<url|text>`` with both parts made safe; plain escaped text if the URL is not."""
    target = safe_url(url)
    label = safe(text, limit - len(target or "") - 3).replace("|", "¦")
    return f"<{target}|{label}>" if target else label
