"""One label matcher, with its regex compiled by RE2 as Alertmanager's Go code does.

RE2 (the ``google-re2`` package) is the engine behind Go's ``regexp``: the same
syntax (``\\p{Greek}``, ``\\Q...\\E``; no look-around or back-references) and
matching in time linear in the label value, whatever the pattern.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import re2

from router.matchers.gostring import GO_SPACE, open_metrics_escape, quote


class MatcherError(ValueError):
    """A matcher does not parse; the text is Alertmanager's own message."""


class Op(StrEnum):
    EQ = "="
    NE = "!="
    RE = "=~"
    NRE = "!~"


# RE2's C++ messages, in the words of Go's regexp/syntax, which Alertmanager prints.
_GO_REGEX_ERRORS = {
    "missing ]": "missing closing ]",
    "missing )": "missing closing )",
    "trailing \\": "trailing backslash at end of expression",
    "no argument for repetition operator": "missing argument to repetition operator",
    "invalid repetition size": "invalid repeat count",
    "bad repetition operator": "invalid nested repetition operator",
    "invalid perl operator": "invalid or unsupported Perl syntax",
    "invalid named capture group": "invalid named capture",
    "pattern too large - compile failed": "expression too large",
}
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
RESERVED = frozenset("{}!=~,\\\"'`") | GO_SPACE


def compile_regex(value: str) -> re2._Regexp[str]:
    """``^(?:value)$`` as Alertmanager anchors it; MatcherError in Go's words."""
    pattern = f"^(?:{value})$"
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        raw = exc.args[0] if exc.args else b""
        message = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        code, _, arg = message.partition(": ")
        code = _GO_REGEX_ERRORS.get(code, code)
        raise MatcherError(f"error parsing regexp: {code}: `{arg}`") from None
    except (TypeError, UnicodeEncodeError):
        raise MatcherError("error parsing regexp: invalid UTF-8") from None


@dataclass(frozen=True)
class Matcher:
    name: str
    op: Op
    value: str
    _regex: re2._Regexp[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def create(cls, name: str, op: Op, value: str) -> Matcher:
        """``labels.NewMatcher``: regexes are compiled (and refused) here."""
        regex = compile_regex(value) if op in (Op.RE, Op.NRE) else None
        return cls(name, op, value, regex)

    def matches_value(self, actual: str) -> bool:
        if self._regex is None:
            return (actual == self.value) if self.op is Op.EQ else (actual != self.value)
        try:
            found = self._regex.search(actual) is not None
        except UnicodeEncodeError:  # a lone surrogate from JSON: match it as U+FFFD
            found = self._regex.search(actual.encode("utf-8", "replace").decode()) is not None
        return found if self.op is Op.RE else not found

    def matches(self, labels: Mapping[str, str]) -> bool:
        """A missing label matches as ``""``, as in Alertmanager."""
        return self.matches_value(labels.get(self.name, ""))

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.name, self.op.value, self.value)

    def __str__(self) -> str:
        """``labels.Matcher.String``: what Alertmanager prints, and parses back."""
        if any(ch in RESERVED for ch in self.name):
            return f"{quote(self.name)}{self.op.value}{quote(self.value)}"
        return f'{self.name}{self.op.value}"{open_metrics_escape(self.value)}"'
