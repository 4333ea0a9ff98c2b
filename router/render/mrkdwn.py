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
    """Cut to ``limit`` characters with an ellipsis, never inside an escape entity or a
    link (alert text is escaped, so every ``<`` left is one of ours)."""
    if len(text) <= limit:
        return text
    cut = _PARTIAL_ENTITY.sub("", text[: limit - len(ELLIPSIS)])
    if cut.rfind("<") > cut.rfind(">"):  # inside our own <url|text> or <!date^…>
        cut = cut[: cut.rfind("<")]
    return cut + ELLIPSIS


def safe(text: str, limit: int) -> str:
    """Alert-supplied text -> escaped, one line of mrkdwn within ``limit``."""
    return truncate(escape(text), limit)


def code_block(code: str, limit: int) -> str:
    fence = "```"
    body = truncate(escape(code.rstrip("\n")), limit - 2 * len(fence) - 2)
    return f"{fence}\n{body}\n{fence}"


def button_url(url: str) -> str | None:
    """An http(s) URL for a button's ``url`` (plain text, not mrkdwn); None if unusable."""
    if not url.startswith(("https://", "http://")):
        return None
    quoted = quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")
    return quoted if len(quoted) <= MAX_URL else None


def safe_url(url: str) -> str | None:
    """An http(s) URL that cannot break out of mrkdwn's ``<url|text>``; None if unusable."""
    quoted = button_url(url)
    return quoted.replace("&", "&amp;") if quoted is not None else None


def link(url: str, text: str, limit: int) -> str:
    """``<url|text>`` with both parts made safe; plain escaped text if the URL is not."""
    target = safe_url(url)
    label = safe(text, limit - len(target or "") - 3).replace("|", "¦")
    return f"<{target}|{label}>" if target else label


_MD_INLINE = re.compile(
    r"\[!\[(?P<ialt>[^\[\]]*)\]\([^)\s]+\)\]\((?P<ihref>[^)\s]+)\)"  # linked image
    r"|!\[(?P<alt>[^\[\]]*)\]\((?P<src>[^)\s]+)\)"  # image: a link to it
    r"|\[(?P<text>[^\[\]]+)\]\((?P<href>[^)\s]+)\)"  # link
    r"|(?:\*\*|__)(?P<bold>[^*_\n]+?)(?:\*\*|__)"  # bold
)
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_MD_ITEM = re.compile(r"^(\s*)[-*+]\s+(.*)$")
_MD_RULE = re.compile(r"^\s{0,3}([-*_]\s*){3,}$")


def _inline(text: str) -> str:
    out: list[str] = []
    pos = 0
    for match in _MD_INLINE.finditer(text):
        out.append(escape(text[pos : match.start()]))
        if match.group("ihref") is not None:
            out.append(link(match.group("ihref"), match.group("ialt") or "image", 500))
        elif match.group("src") is not None:
            out.append(link(match.group("src"), match.group("alt") or "image", 500))
        elif match.group("href") is not None:
            out.append(link(match.group("href"), match.group("text"), 500))
        else:
            out.append(f"*{escape(match.group('bold'))}*")
        pos = match.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def from_markdown(text: str, limit: int) -> str:
    """Markdown an alert carries (Datadog's ``%%%`` messages) as Slack mrkdwn.

    Headings and bold become bold, links and images become ``<url|text>`` when
    the URL is http(s) (else the text), list items get bullets, rules go. Every
    other character is escaped, so no alert text can form a mention or a link.
    """
    lines = []
    for line in text.splitlines():
        if _MD_RULE.match(line):
            continue
        if heading := _MD_HEADING.match(line):
            lines.append(f"*{_inline(heading.group(1)).replace('*', '')}*")
        elif item := _MD_ITEM.match(line):
            lines.append(f"{item.group(1)}• {_inline(item.group(2))}")
        else:
            lines.append(_inline(line))
    return truncate(re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip(), limit)
