"""Alertmanager's classic matchers parser (``pkg/labels``), which its default mode falls back to.

Tolerant where the UTF-8 parser is strict: braces trimmed rather than paired,
values unquoted or quoted with only ``\\"``, ``\\\\`` and ``\\n`` understood (any
other backslash stays literal, so ``alertname=~"Disk\\d+"`` works), and label
names limited to ``[a-zA-Z_:][a-zA-Z0-9_:]*``.
"""

from __future__ import annotations

import re2

from router.matchers.gostring import GO_SPACE, is_valid_utf8
from router.matchers.matcher import Matcher, MatcherError, Op

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
# Go's regexp: \s is [\t\n\f\r ], $ is the end of the text. The same pattern on RE2.
_MATCHER = re2.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*((?s).*?)\s*$", _OPTIONS)
_LABEL_NAME = re2.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$", _OPTIONS)


def is_valid_label_name(name: str) -> bool:
    """``model.LegacyValidation``: what a classic (pre-UTF-8) label name may be."""
    return _LABEL_NAME.search(name) is not None


def parse_matcher(text: str) -> Matcher:
    """``labels.ParseMatcher``: one matcher."""
    try:
        found = _MATCHER.search(text)
    except UnicodeEncodeError:
        found = None
    if found is None:
        raise MatcherError(f"bad matcher format: {text}")
    name, op, raw = found.group(1), found.group(2), found.group(3)
    shown = raw
    quoted = raw.startswith('"')
    if quoted:
        raw = raw[1:]
    if not is_valid_utf8(raw):
        raise MatcherError(f"matcher value not valid UTF-8: {shown}")
    value: list[str] = []
    escaped = False
    for i, ch in enumerate(raw):
        if escaped:
            escaped = False
            value.append({"n": "\n", '"': '"', "\\": "\\"}.get(ch, "\\" + ch))
        elif ch == "\\":
            if i < len(raw) - 1:
                escaped = True
            else:
                value.append("\\")
        elif ch == '"':
            if not quoted or i < len(raw) - 1:
                raise MatcherError(f"matcher value contains unescaped double quote: {shown}")
            quoted = False
        else:
            value.append(ch)
    if quoted:
        raise MatcherError(f"matcher value contains unescaped double quote: {shown}")
    return Matcher.create(name, Op(op), "".join(value))


def parse_matchers(text: str) -> list[Matcher]:
    """``labels.ParseMatchers``: commas outside double quotes separate matchers."""
    text = text.removeprefix("{").removesuffix("}")
    tokens: list[str] = []
    current: list[str] = []
    inside = escaped = False
    for ch in text:
        if ch == "," and not inside:
            tokens.append("".join(current))
            current = []
            continue
        if ch == '"':
            if not escaped:
                inside = not inside
            else:
                escaped = False
        elif ch == "\\":
            escaped = not escaped
        else:
            escaped = False
        current.append(ch)
    if last := "".join(current).strip("".join(GO_SPACE)):
        tokens.append(last)
    return [parse_matcher(token) for token in tokens]
