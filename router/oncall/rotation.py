"""A rotation: ``people[0]`` from ``start``, the next after each ``every``, round the list.

Handoffs keep the wall-clock time of ``start`` in its time zone: a weekly rotation
that starts Monday 09:00 Europe/Berlin hands off at 09:00 Berlin time every Monday,
in winter (08:00 UTC) and in summer (07:00 UTC) alike. Pure: no I/O, no clock of
its own.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

_HANDOFF = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[ T](?P<time>\d{1,2}:\d{2}(?::\d{2})?)\s+(?P<zone>\S+)"
)
EXAMPLE = '"2026-11-02 09:00 Europe/Berlin"'
MIN_EVERY = 3600.0
"""A rotation hands off at most once an hour."""


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def parse_handoff(value: object) -> datetime:
    """``YYYY-MM-DD HH:MM[:SS] Zone/City`` -> an aware datetime in that zone."""
    if isinstance(value, datetime):
        raise ValueError(f"write the time zone too, as in {EXAMPLE} (quoted)")
    if not isinstance(value, str):
        raise ValueError(f"expected a start such as {EXAMPLE}")
    found = _HANDOFF.fullmatch(value.strip())
    if found is None:
        raise ValueError(f"{value!r}: expected date, time and time zone, as in {EXAMPLE}")
    try:
        zone = ZoneInfo(found["zone"])
    except (ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(found["zone"], _zones(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else " (an IANA name like Europe/Berlin)"
        raise ValueError(f"{value!r}: unknown time zone {found['zone']!r}{hint}") from None
    clock = found["time"]
    clock = clock if clock.index(":") == 2 else f"0{clock}"
    try:
        wall = datetime.fromisoformat(f"{found['date']}T{clock}")
    except ValueError as exc:
        raise ValueError(f"{value!r}: {exc}") from None
    return wall.replace(tzinfo=zone)


def check_every(seconds: float) -> float:
    if seconds < MIN_EVERY:
        raise ValueError("a rotation hands off at most once an hour (every: 1h or more, e.g. 1w)")
    return seconds


@dataclass(frozen=True)
class Shift:
    person: str
    start: float
    """When this person took over (Unix seconds)."""
    end: float
    """When the next one does."""


def handoff(start: datetime, every: float, n: int) -> float:
    """The ``n``-th handoff (0 is ``start``), at ``start``'s wall-clock time in its zone.

    An aware datetime plus a timedelta moves its wall clock, and the zone gives the
    offset of the day it lands on: that is what keeps 09:00 at 09:00 across DST.
    """
    return (start + timedelta(seconds=every * n)).timestamp()


def shift_at(start: datetime, every: float, people: Sequence[str], at: float) -> Shift | None:
    """Who is on call at ``at``, from when until when; None before the rotation starts."""
    if not people or at < start.timestamp():
        return None
    local = datetime.fromtimestamp(at, start.tzinfo).replace(tzinfo=None)
    n = max(0, math.floor((local - start.replace(tzinfo=None)).total_seconds() / every))
    while n > 0 and handoff(start, every, n) > at:  # an hour off around a DST change
        n -= 1
    while handoff(start, every, n + 1) <= at:
        n += 1
    return Shift(people[n % len(people)], handoff(start, every, n), handoff(start, every, n + 1))
