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


_PROMETHEUS_DURATION = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?"
)
_PROMETHEUS_UNITS = (31536000.0, 604800.0, 86400.0, 3600.0, 60.0, 1.0, 0.001)


def parse_prometheus_duration(value: Any) -> float:
    """Alertmanager's durations (Prometheus ``model.ParseDuration``): units largest first,
    each at most once (``1h30m``, ``1d``), ``0`` alone; no bare numbers."""
    text = value if isinstance(value, str) else str(value)
    if text == "0":
        return 0.0
    match = _PROMETHEUS_DURATION.fullmatch(text)
    if not text or match is None or not any(match.groups()):
        raise ValueError(f"not a valid duration string: {text!r}")
    pairs = zip(match.groups(), _PROMETHEUS_UNITS, strict=True)
    return sum(int(n) * unit for n, unit in pairs if n)


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
PrometheusDuration = Annotated[float, BeforeValidator(parse_prometheus_duration)]
"""Alertmanager's own timing keys, read as Alertmanager reads them."""
MatcherString = Annotated[str, AfterValidator(_check_matcher)]
RegexString = Annotated[str, AfterValidator(_check_regex)]
RunbookId = Annotated[str, AfterValidator(_check_runbook_id)]
