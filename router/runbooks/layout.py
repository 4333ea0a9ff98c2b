"""The layout of a runbook file: where its entries start, and each entry as blocks.

``split_entries`` finds the entries of one file (each starts at its title line,
``RUN-001: Title`` with or without a leading ``#``; ``---`` lines separate them).
``blocks`` flattens markdown-it-py's token stream of one entry into headings,
lines of text, list items and code fences, each with its line number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markdown_it import MarkdownIt

_MD = MarkdownIt("commonmark")
# Where an entry starts in a file: its title line, as a heading or a plain line.
_TITLE_LINE = re.compile(r"^ {0,3}(#{1,6}\s+)?(\*\*|__)?RUN-\d+\s*[:\-–—]\s*\S", re.IGNORECASE)
_HEADER_LINE = re.compile(
    r"^\s*([-*]\s+)?(\*\*)?(category|trigger|owner|last tested)(\*\*)?\s*:", re.IGNORECASE
)
INLINE_HEADER = re.compile(r"\s+(Category|Trigger|Owner|Last Tested|Alerts)\s*:\s*")
_SEPARATOR = re.compile(r"^ {0,3}-{3,}\s*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
ESCAPED_FENCE = re.compile(r"^( {0,3})\\`\\`\\`", re.MULTILINE)
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")


@dataclass
class Block:
    kind: str  # heading | line | item | fence
    text: str
    line: int
    depth: int = 0  # list nesting (0 = not in a list)
    ordered: bool = False
    level: int = 0  # heading level
    info: str = ""  # fence language


def plain(text: str) -> str:
    """Drop bold markers; keep everything else as written."""
    return _EMPHASIS.sub(r"\2", text).strip()


def blocks(text: str, first_line: int = 1) -> list[Block]:
    out: list[Block] = []
    lists: list[bool] = []  # ordered? per open list
    item_fresh = False  # the next inline is the first paragraph of a list item
    heading_level = 0
    for tok in _MD.parse(text):
        line = tok.map[0] + first_line if tok.map else 0
        if tok.type in ("bullet_list_open", "ordered_list_open"):
            lists.append(tok.type == "ordered_list_open")
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif tok.type == "list_item_open":
            item_fresh = True
        elif tok.type == "heading_open":
            heading_level = int(tok.tag[1])
        elif tok.type == "heading_close":
            heading_level = 0
        elif tok.type in ("fence", "code_block"):
            out.append(Block("fence", tok.content, line, len(lists), info=tok.info.strip()))
        elif tok.type == "inline":
            if heading_level:
                out.append(Block("heading", tok.content.strip(), line, level=heading_level))
                continue
            for offset, part in enumerate(tok.content.split("\n")):
                kind = "item" if item_fresh and offset == 0 else "line"
                ordered = bool(lists) and lists[-1]
                out.append(Block(kind, part.strip(), line + offset, len(lists), ordered))
            item_fresh = False
    return out


def _starts_entry(lines: list[str], i: int) -> bool:
    """A title line starts an entry when it is a heading, follows ``---`` or the top of
    the file, or has the entry's header fields (Category, Owner, ...) right after it."""
    line = lines[i]
    if not _TITLE_LINE.match(line):
        return False
    if line.lstrip().startswith("#") or INLINE_HEADER.search(line):
        return True
    before = [ln for ln in lines[:i] if ln.strip()]
    if not before or _SEPARATOR.match(before[-1]):
        return True
    after = [ln for ln in lines[i + 1 : i + 8] if ln.strip()][:3]
    return any(_HEADER_LINE.match(ln) for ln in after)


def split_entries(text: str) -> list[tuple[int, str]]:
    """The entries of one file as (first line number, markdown); the whole text if none."""
    text = ESCAPED_FENCE.sub(r"\1```", text)
    lines = text.split("\n")
    starts: list[int] = []
    fence = ""
    for i, line in enumerate(lines):
        if match := _FENCE.match(line):
            marker = match.group(1)
            if not fence:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence):
                fence = ""
            continue
        if not fence and _starts_entry(lines, i):
            starts.append(i)
    if not starts:
        return [(1, text)]
    entries = []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        while end > start + 1 and (not lines[end - 1].strip() or _SEPARATOR.match(lines[end - 1])):
            end -= 1
        entries.append((start + 1, "\n".join(lines[start:end]) + "\n"))
    return entries
