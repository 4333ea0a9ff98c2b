"""A markdown-it plugin: ``see RUN-009`` on a runbook page links to /runbooks/RUN-009.

The references become link tokens, so the renderer escapes their text as it
escapes any other; text already inside a link, code, and the entry's own title
(its ``#`` heading) are left as they are.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

RUNBOOK_REFERENCE = re.compile(r"\bRUN-\d+\b")


def runbook_links(md: MarkdownIt) -> None:
    md.core.ruler.push("runbook_links", _link_references)


def _link_references(state: StateCore) -> None:
    for i, block in enumerate(state.tokens):
        if block.type != "inline" or not block.children:
            continue
        if i > 0 and state.tokens[i - 1].type == "heading_open" and state.tokens[i - 1].tag == "h1":
            continue  # the title: "RUN-001: ..." is this page
        block.children = _split(block.children)


def _split(children: list[Token]) -> list[Token]:
    out: list[Token] = []
    in_link = 0
    for token in children:
        if token.type == "link_open":
            in_link += 1
        elif token.type == "link_close":
            in_link -= 1
        if token.type != "text" or in_link or not RUNBOOK_REFERENCE.search(token.content):
            out.append(token)
            continue
        start = 0
        for found in RUNBOOK_REFERENCE.finditer(token.content):
            if found.start() > start:
                out.append(_text(token.content[start : found.start()], token.level))
            link = Token("link_open", "a", 1, level=token.level)
            link.attrs = {"href": f"/runbooks/{found.group(0)}"}
            out += [link, _text(found.group(0), token.level + 1), Token("link_close", "a", -1)]
            start = found.end()
        if start < len(token.content):
            out.append(_text(token.content[start:], token.level))
    return out


def _text(content: str, level: int) -> Token:
    token = Token("text", "", 0, level=level)
    token.content = content
    return token
