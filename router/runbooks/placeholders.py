"""Runbook text filled from the alert: ``{{ $labels.node }}`` as Prometheus rules write it.

A step's text and commands may name the alert's labels the way Prometheus rule
annotations and Alertmanager templates do: ``{{ $labels.node }}``,
``{{ .Labels.node }}``, or ``{{ index $labels "node" }}`` for any label name.
Wherever a runbook is shown for an alert, each is replaced by that alert's
value. Nothing here executes anything: a value is text, and in a command it is
quoted so that pasting the command passes it to the program as one word.

- A value that is not a plain shell word (``[A-Za-z0-9_./:@%+=,-]+``) is quoted
  as the shell needs it where the placeholder stands: single-quoted outside any
  quotes (``'a b'``), with ``'\\''`` inside single quotes, and with ``\\"``,
  ``\\$``, ``\\``` and ``\\\\`` escaped inside double quotes.
- A label the alert lacks leaves the placeholder as written, so the reader sees
  what is still to fill in.
- Other ``{{ ... }}`` text (a ``kubectl -o go-template`` argument) is left alone;
  what looks meant as a label placeholder but is not one is ``malformed`` (lint
  reports it with its line).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
PLACEHOLDER = re.compile(
    r"\{\{-?\s*(?:"
    rf"(?:\$labels|\.Labels)\.(?P<dotted>{_NAME})"
    r'|index\s+(?:\$labels|\.Labels)\s+"(?P<quoted>[^"\\{}]+)"'
    r")\s*-?\}\}"
)
# Anything that opens with what a label placeholder opens with, to its closing braces
# or the end of its line: a candidate that PLACEHOLDER must match whole.
_CANDIDATE = re.compile(
    r"\{\{-?\s*(?:\$\s*labels?\b|\.\s*labels?\b|labels?\s*\.|index\s+\S*labels?\b)[^\n]*?(?:\}\}|$)",
    re.IGNORECASE | re.MULTILINE,
)
_PLAIN_WORD = re.compile(r"[A-Za-z0-9_./:@%+=,-]+")


def label_of(match: re.Match[str]) -> str:
    return match.group("dotted") or match.group("quoted")


def names(text: str) -> list[str]:
    """The labels a text names, in order, each once."""
    return list(dict.fromkeys(label_of(m) for m in PLACEHOLDER.finditer(text)))


@dataclass(frozen=True)
class Malformed:
    line: int
    """1-based, within the text given."""
    text: str


def malformed(text: str) -> list[Malformed]:
    """What looks like a label placeholder but is not one (``{{ $labels.node }``)."""
    found = []
    for match in _CANDIDATE.finditer(text):
        if PLACEHOLDER.fullmatch(match.group(0)):
            continue
        line = text.count("\n", 0, match.start()) + 1
        found.append(Malformed(line, match.group(0).strip()))
    return found


def _quote_state(before: str) -> str:
    """Which quotes a shell is inside at the end of ``before`` ("", "'" or '"')."""
    state = ""
    escaped = False
    for char in before:
        if escaped:
            escaped = False
        elif state == "'":
            if char == "'":
                state = ""
        elif char == "\\":
            escaped = True
        elif state == '"':
            if char == '"':
                state = ""
        elif char in "'\"":
            state = char
        elif char == "\n":
            state = ""
    return state


def shell_quoted(value: str, inside: str = "") -> str:
    """``value`` as one shell word, written where the shell is ``inside`` these quotes."""
    if _PLAIN_WORD.fullmatch(value):
        return value
    if inside == "'":
        return value.replace("'", "'\\''")
    if inside == '"':
        return re.sub(r'(["\\$`])', r"\\\1", value)
    return "'" + value.replace("'", "'\\''") + "'"


def fill(text: str, labels: Mapping[str, str], *, quote: bool = False) -> str:
    """``text`` with each placeholder replaced by the alert's value (shell-quoted if ``quote``).

    A label the alert lacks leaves its placeholder as written.
    """
    if "{{" not in text:
        return text
    out: list[str] = []
    pos = 0
    for match in PLACEHOLDER.finditer(text):
        out.append(text[pos : match.start()])
        value = labels.get(label_of(match))
        if value is None:
            out.append(match.group(0))
        elif quote:
            out.append(shell_quoted(value, _quote_state(text[: match.start()])))
        else:
            out.append(value)
        pos = match.end()
    out.append(text[pos:])
    return "".join(out)


def fillings(
    text: str, label_sets: Iterable[Mapping[str, str]], *, quote: bool = False
) -> list[str]:
    """Each distinct filling of ``text`` by these alerts, in the alerts' order.

    A text that names no label is one filling, itself.
    """
    if not PLACEHOLDER.search(text):
        return [text]
    return list(dict.fromkeys(fill(text, labels, quote=quote) for labels in label_sets)) or [text]


def fill_for(text: str, label_sets: Iterable[Mapping[str, str]], *, limit: int = 3) -> str:
    """``text`` filled for several alerts at once, as prose (not for the shell).

    A placeholder the alerts fill alike gets that value; one they fill differently
    gets their distinct values in order (``a, b, c +2 more`` past ``limit``), an
    alert that lacks the label counting as the placeholder as written. No alerts:
    ``text`` itself.
    """
    sets = list(label_sets)
    if not sets or "{{" not in text:
        return text

    def values(match: re.Match[str]) -> str:
        label = label_of(match)
        found = list(dict.fromkeys(labels.get(label, match.group(0)) for labels in sets))
        more = f" +{len(found) - limit} more" if len(found) > limit else ""
        return ", ".join(found[:limit]) + more

    return PLACEHOLDER.sub(values, text)
