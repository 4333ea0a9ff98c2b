"""Alertmanager label matchers: ``name="v"``, ``!=``, ``=~``, ``!~``.

Same syntax and meaning as Alertmanager's ``matchers:``: values quoted (Go string
escapes) or bare, one string may hold several matchers (``{a="b", c=~"d|e"}``),
regexes are anchored at both ends, and a missing label matches as ``""``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class MatcherError(ValueError):
    """A matcher string does not parse; the message says where and why."""


class Op(StrEnum):
    EQ = "="
    NE = "!="
    RE = "=~"
    NRE = "!~"


_HEAD = re.compile(r'\s*([A-Za-z_:][A-Za-z0-9_:.]*|"(?:[^"\\]|\\.)*")\s*(=~|!~|!=|=)\s*')
_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    '"': '"',
    "'": "'",
}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
_LEADING_FLAGS = re.compile(r"^\(\?([ims]+)\)")


def _anchorable(value: str) -> str:
    """The regex as a group that ``fullmatch`` anchors, as Alertmanager's ``^(?:v)$``.

    RE2 takes ``(?i)`` inside that group; Python wants flags first, so leading
    flags become a scoped group: ``(?i)prod.*`` -> ``(?i:prod.*)``.
    """
    if match := _LEADING_FLAGS.match(value):
        return f"(?{match.group(1)}:{value[match.end() :]})"
    return f"(?:{value})"


@dataclass(frozen=True)
class Matcher:
    name: str
    op: Op
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def create(cls, name: str, op: Op, value: str) -> Matcher:
        regex = None
        if op in (Op.RE, Op.NRE):
            try:
                regex = re.compile(_anchorable(value))
            except re.error as exc:
                raise MatcherError(f"invalid regex {value!r}: {exc}") from None
        return cls(name, op, value, regex)

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self._regex is not None:
            found = self._regex.fullmatch(actual) is not None
            return found if self.op is Op.RE else not found
        return (actual == self.value) if self.op is Op.EQ else (actual != self.value)

    def __str__(self) -> str:
        return f"{self.name}{self.op.value}{json.dumps(self.value, ensure_ascii=False)}"


def _unquote(text: str, start: int) -> tuple[str, int]:
    """Decode a Go double-quoted string starting at ``text[start] == '"'``."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return "".join(out), i + 1
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(text):
            break
        esc = text[i + 1]
        if esc in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[esc])
            i += 2
        elif esc in _HEX_ESCAPES:
            width = _HEX_ESCAPES[esc]
            digits = text[i + 2 : i + 2 + width]
            if len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise MatcherError(f"invalid escape \\{esc}{digits} at offset {i}")
            out.append(chr(int(digits, 16)))
            i += 2 + width
        elif esc in "01234567":
            digits = text[i + 1 : i + 4]
            if len(digits) != 3 or not all(c in "01234567" for c in digits):
                raise MatcherError(f"invalid octal escape at offset {i}")
            out.append(chr(int(digits, 8)))
            i += 4
        else:
            raise MatcherError(f"invalid escape \\{esc} at offset {i} (write \\\\{esc})")
    raise MatcherError("unterminated quoted value")


def parse_matchers(text: str) -> list[Matcher]:
    """Parse one matcher string, which may hold several: ``{a="b", c!="d"}``."""
    body = text.strip()
    if body.startswith("{"):
        if not body.endswith("}"):
            raise MatcherError(f"{text!r}: missing closing '}}'")
        body = body[1:-1]
    matchers: list[Matcher] = []
    pos = 0
    while pos < len(body):
        if not body[pos:].strip():
            break
        head = _HEAD.match(body, pos)
        if head is None:
            raise MatcherError(f"{text!r}: expected name, operator and value at offset {pos}")
        raw_name, op = head.group(1), Op(head.group(2))
        name = _unquote(raw_name, 0)[0] if raw_name.startswith('"') else raw_name
        pos = head.end()
        if pos < len(body) and body[pos] == '"':
            try:
                value, pos = _unquote(body, pos)
            except MatcherError as exc:
                raise MatcherError(f"{text!r}: {exc}") from None
        else:
            end = body.find(",", pos)
            end = len(body) if end == -1 else end
            value = body[pos:end].strip()
            if '"' in value:
                raise MatcherError(f"{text!r}: stray quote in unquoted value {value!r}")
            pos = end
        try:
            matchers.append(Matcher.create(name, op, value))
        except MatcherError as exc:
            raise MatcherError(f"{text!r}: {exc}") from None
        rest = body[pos:].lstrip()
        if rest.startswith(","):
            pos = len(body) - len(rest) + 1
        elif rest:
            raise MatcherError(f"{text!r}: expected ',' between matchers, got {rest[:10]!r}")
        else:
            break
    if not matchers:
        raise MatcherError(f"{text!r}: no matcher")
    return matchers
