"""The value types routes.yaml is written in: durations, matchers, regexes, runbook IDs.

Each checks its value when the file is loaded, so a bad one is a ConfigError
with ``file:line`` (router/config.py), never a failure while routing.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from router.matchers import MatcherError, parse
from router.matchers.matcher import compile_regex

RUNBOOK_ID = re.compile(r"RUN-(\d+)", re.IGNORECASE)

_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_DURATION_SECONDS = {
    "ms": 0.001,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 604800,
    "y": 31536000,
}


def parse_duration(value: Any) -> float:
    """Prometheus durations: ``30s``, ``5m``, ``1h30m``; a bare number is seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str) or not value:
        raise ValueError("expected a duration such as 30s, 5m or 1h30m")
    parts = _DURATION.findall(value)
    if "".join(n + u for n, u in parts) != value:
        raise ValueError(f"invalid duration {value!r}; expected e.g. 30s, 5m or 1h30m")
    return sum(int(n) * _DURATION_SECONDS[u] for n, u in parts)


def _check_matcher(text: str) -> str:
    try:
        parse(text)
    except MatcherError as exc:
        raise ValueError(f"{text!r}: {exc}") from None
    return text


def _check_regex(text: str) -> str:
    try:
        compile_regex(text)
    except MatcherError as exc:
        raise ValueError(f"{text!r}: {exc}") from None
    return text


def _check_runbook_id(text: str) -> str:
    if not RUNBOOK_ID.fullmatch(text):
        raise ValueError(f"{text!r} is not a runbook ID like RUN-001")
    return text


Duration = Annotated[float, BeforeValidator(parse_duration)]
MatcherString = Annotated[str, AfterValidator(_check_matcher)]
RegexString = Annotated[str, AfterValidator(_check_regex)]
RunbookId = Annotated[str, AfterValidator(_check_runbook_id)]
