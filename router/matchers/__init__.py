"""Alertmanager label matchers, parsed as Alertmanager parses them by default.

``name="v"``, ``!=``, ``=~``, ``!~``; several in one string (``{a="b", c=~"d"}``);
regexes anchored at both ends and run on RE2; a missing label matches as ``""``.

Alertmanager's default mode reads each ``matchers:`` line with its UTF-8 parser
and falls back to the classic parser when that fails or reads the line
differently. ``parse`` does the same and returns Alertmanager's warning for the
fallback (the input is deprecated), so ``check`` can show it with file:line.
"""

from __future__ import annotations

from dataclasses import dataclass

from router.matchers import classic, utf8
from router.matchers.matcher import Matcher, MatcherError, Op

__all__ = ["Matcher", "MatcherError", "Op", "Parsed", "parse", "parse_matcher", "parse_matchers"]


@dataclass(frozen=True)
class Parsed:
    matchers: list[Matcher]
    warning: str | None = None
    """Set when only the classic parser's reading was taken (Alertmanager warns too)."""


def _keys(matchers: list[Matcher]) -> list[tuple[str, str, str]]:
    return [m.key for m in matchers]


def _suggest(matchers: list[Matcher]) -> str:
    return ",".join(str(m) for m in matchers)


def parse(text: str) -> Parsed:
    """``compat.FallbackMatchersParser``: UTF-8 parser first, classic as the fallback."""
    try:
        new = utf8.parse_matchers(text)
    except MatcherError as new_error:
        old = classic.parse_matchers(text)  # if both fail, the classic error, as Alertmanager
        return Parsed(
            old,
            f"deprecated syntax: the UTF-8 matchers parser refuses it ({new_error}); "
            f"read with the classic parser; write it as {_suggest(old)}",
        )
    try:
        old = classic.parse_matchers(text)
    except MatcherError:
        return Parsed(new)
    if _keys(old) != _keys(new):
        return Parsed(
            old,
            f"the UTF-8 and classic parsers disagree ({_suggest(new)} vs {_suggest(old)}); "
            f"Alertmanager takes the classic reading {_suggest(old)}",
        )
    return Parsed(new)


def parse_matchers(text: str) -> list[Matcher]:
    """The matchers of one ``matchers:`` line; MatcherError if Alertmanager refuses it."""
    return parse(text).matchers


def parse_matcher(text: str) -> Matcher:
    """``compat.FallbackMatcherParser``: exactly one matcher, no braces (amtool, the API)."""
    if text.startswith("{") or text.endswith("}"):
        raise MatcherError(f"unexpected open or close brace: {text}")
    try:
        new = utf8.parse_matcher(text)
    except MatcherError:
        return classic.parse_matcher(text)
    try:
        old = classic.parse_matcher(text)
    except MatcherError:
        return new
    return old if old.key != new.key else new
