"""Alertmanager's time intervals: read as Alertmanager reads them, and when a route opens.

``time_intervals:`` in routes.yaml is Alertmanager's (timeinterval/timeinterval.go).
A named entry is a list of intervals; an interval holds an instant when every
field it sets holds it: ``times`` (minutes of the day, the end excluded),
``weekdays``, ``days_of_month`` (negative days count from the month's end),
``months`` and ``years`` (all inclusive), read on the clock of its ``location``
(UTC when unset). The parsers raise ValueError in Alertmanager's own words, so
``check`` says what ``amtool check-config`` says.

A route is held while one of its ``mute_time_intervals`` holds the time or, when
it has ``active_time_intervals``, none of those does (dispatch/route.go: a route
has its own, never its parent's). ``Schedule.hold`` says until when: an
interval's answer can change only where its local clock passes one of its times
or midnight, or where its zone changes offset (DST), so only those instants are
looked at, and the first one where the route is open is exact.
"""

from __future__ import annotations

import calendar
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import chain
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Range = tuple[int, int]
"""An inclusive range (a time range's end is exclusive): (begin, end)."""

WEEKDAYS = {
    "sunday": 0,
    "monday": 1,
    "tuesday": 2,
    "wednesday": 3,
    "thursday": 4,
    "friday": 5,
    "saturday": 6,
}
MONTHS = {
    "january": 1,
    "february": 2,
    "march": 3,
    "april": 4,
    "may": 5,
    "june": 6,
    "july": 7,
    "august": 8,
    "september": 9,
    "october": 10,
    "november": 11,
    "december": 12,
}
MONTH_NAMES = {number: name for name, number in MONTHS.items()}
DAY = 86400.0
HORIZON_DAYS = 400
"""How far ahead a route's opening is looked for; past it, the hold is looked at again."""

_TIME = re.compile(r"(([01][0-9])|(2[0-3])):[0-5][0-9]|24:00")
_INT = re.compile(r"[+-]?[0-9]+")  # what Go's strconv.Atoi reads


def parse_time(text: str) -> int:
    """``HH:MM`` (``24:00`` the end of the day) as minutes of the day."""
    if not _TIME.fullmatch(text):
        raise ValueError(f"couldn't parse timestamp {text}, invalid format")
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def time_range(start: str | None, end: str | None) -> Range:
    if not start or not end:
        raise ValueError("both start and end times must be provided")
    begin, finish = parse_time(start), parse_time(end)
    if begin >= finish:
        raise ValueError("start time cannot be equal or greater than end time")
    return begin, finish


def _atoi(text: str) -> int:
    if not _INT.fullmatch(text):
        raise ValueError(f'strconv.Atoi: parsing "{text}": invalid syntax')
    return int(text)


def _split(text: str, member: Callable[[str], int]) -> Range:
    """``a:b`` or ``a`` (lower-cased first, as Alertmanager does), each read by ``member``."""
    text = text.lower()
    if ":" not in text:
        value = member(text)
        return value, value
    parts = text.split(":")
    if len(parts) != 2:
        raise ValueError(f"couldn't parse range {text}, invalid format")
    return member(parts[0]), member(parts[1])


def _weekday(text: str) -> int:
    if text not in WEEKDAYS:
        raise ValueError(f"{text} is not a valid weekday")
    return WEEKDAYS[text]


def _month(text: str) -> int:
    if text in MONTHS:
        return MONTHS[text]
    try:
        return _atoi(text)
    except ValueError:
        raise ValueError(f"{text} is not a valid month") from None


def weekday_range(text: str) -> Range:
    begin, end = _split(text, _weekday)
    if begin > end:
        raise ValueError("start day cannot be before end day")
    return begin, end


def day_of_month_range(text: str) -> Range:
    """Days 1..31 or -31..-1 (-1 the last day); a range never empty in a 28-day month."""
    begin, end = _split(text, _atoi)
    for day in (begin, end):
        if day == 0 or not -31 <= day <= 31:
            raise ValueError(f"{day} is not a valid day of the month: out of range")
    if begin < 0 < end:
        raise ValueError("end day must be negative if start day is negative")
    if (28 + begin if begin < 0 else begin) > (28 + end if end < 0 else end):
        raise ValueError(f"end day {end} is always before start day {begin}")
    return begin, end


def month_range(text: str) -> Range:
    begin, end = _split(text, _month)
    if begin > end:
        raise ValueError(
            f"end month {MONTH_NAMES.get(end, '')} is before start month "
            f"{MONTH_NAMES.get(begin, '')}"
        )
    return begin, end


def year_range(text: str) -> Range:
    begin, end = _split(text, _atoi)
    if begin > end:
        raise ValueError(f"end year {end} is before start year {begin}")
    return begin, end


def _local_zone() -> tzinfo:
    """Go's ``Local``: $TZ, else /etc/localtime, else UTC."""
    name = os.environ.get("TZ")
    if name is not None:
        return load_location(name) if name not in ("Local", "") else UTC
    path = Path("/etc/localtime")
    if path.exists():
        with path.open("rb") as handle:
            return ZoneInfo.from_file(handle, key="Local")
    return UTC


def load_location(name: str) -> tzinfo:
    """A location as Go's ``time.LoadLocation`` reads it (``""`` and ``UTC`` are UTC)."""
    if name in ("", "UTC"):
        return UTC
    if name == "Local":
        return _local_zone()
    if ".." in name or name.startswith(("/", "\\")):
        raise ValueError("time: invalid location name")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name}") from None


def _clamp(n: int, low: int, high: int) -> int:
    return low if n <= low else high if n >= high else n


@dataclass(frozen=True)
class TimeInterval:
    """One interval; a field left unset (None) holds every time, an empty one none."""

    times: tuple[Range, ...] | None = None
    weekdays: tuple[Range, ...] | None = None
    days_of_month: tuple[Range, ...] | None = None
    months: tuple[Range, ...] | None = None
    years: tuple[Range, ...] | None = None
    location: tzinfo | None = None

    @property
    def zone(self) -> tzinfo:
        return self.location or UTC

    def contains(self, instant: datetime) -> bool:
        """``ContainsTime``: every field set holds the instant, on the location's clock."""
        t = instant.astimezone(self.zone)
        if self.times is not None:
            minute = t.hour * 60 + t.minute
            if not any(begin <= minute < end for begin, end in self.times):
                return False
        if self.days_of_month is not None and not self._in_days_of_month(t):
            return False
        if self.months is not None and not any(b <= t.month <= e for b, e in self.months):
            return False
        weekday = (t.weekday() + 1) % 7  # Go's: Sunday is 0
        if self.weekdays is not None and not any(b <= weekday <= e for b, e in self.weekdays):
            return False
        return self.years is None or any(b <= t.year <= e for b, e in self.years)

    def _in_days_of_month(self, t: datetime) -> bool:
        days = calendar.monthrange(t.year, t.month)[1]
        for first, last in self.days_of_month or ():
            begin = days + first + 1 if first < 0 else first
            end = days + last + 1 if last < 0 else last
            if begin > days:
                continue  # begins after this month ends (30:31 in February)
            begin, end = _clamp(begin, -days, days), _clamp(end, -days, days)
            if begin <= t.day <= end:
                return True
        return False

    def changes(self, start: float, end: float) -> Iterator[float]:
        """Instants in [start, end) where ``contains`` may change its answer.

        Its local clock passing midnight or one of its times (both instants of a
        wall time the clocks go back over), and its zone's offset changing (a
        wall time the clocks skip changes the answer at the jump).
        """
        zone = self.zone
        marks = {0} | {m for r in self.times or () for m in r if m < 1440}
        day = datetime.fromtimestamp(start, zone).date() - timedelta(days=1)
        last = datetime.fromtimestamp(end, zone).date() + timedelta(days=1)
        while day <= last:
            for mark in marks:
                wall = datetime(day.year, day.month, day.day, mark // 60, mark % 60)
                for fold in (0, 1):
                    at = wall.replace(tzinfo=zone, fold=fold).timestamp()
                    if start <= at < end:
                        yield at
            day += timedelta(days=1)
        yield from offset_changes(zone, start, end)


def offset_changes(zone: tzinfo, start: float, end: float) -> Iterator[float]:
    """The instants in [start, end) where the zone's UTC offset changes, to the second."""
    if zone is UTC:
        return

    def offset(at: float) -> timedelta | None:
        return datetime.fromtimestamp(at, zone).utcoffset()

    piece = 6 * 3600.0  # zones change offset months apart, never twice in six hours
    low = start
    while low < end:
        high = min(low + piece, end)
        if offset(low) != offset(high):
            before, after = int(low), int(high) + 1
            while after - before > 1:
                middle = (before + after) // 2
                if offset(middle) == offset(before):
                    before = middle
                else:
                    after = middle
            if start <= after < end:
                yield float(after)
        low = high


@dataclass(frozen=True)
class Hold:
    """A route held by its time intervals: posted at ``until``, and why."""

    until: float
    reason: str
    opens: bool = True
    """False: no opening within HORIZON_DAYS; ``until`` is when to look again."""


class Schedule:
    """One route's ``mute_time_intervals`` and ``active_time_intervals``, resolved."""

    def __init__(
        self,
        mute: Sequence[str],
        active: Sequence[str],
        named: Mapping[str, Sequence[TimeInterval]],
    ) -> None:
        self.mute = {name: tuple(named.get(name, ())) for name in mute}
        self.active = {name: tuple(named.get(name, ())) for name in active}
        self._known: tuple[float, float, bool] | None = None
        """(from, until, opens): held all along [from, until), open at until."""

    def muted_by(self, instant: datetime) -> list[str]:
        return [
            n for n, intervals in self.mute.items() if any(i.contains(instant) for i in intervals)
        ]

    def in_active_time(self, instant: datetime) -> bool:
        return not self.active or any(
            i.contains(instant) for intervals in self.active.values() for i in intervals
        )

    def open_at(self, at: float) -> bool:
        """Notifications go out now (Alertmanager's TimeMuteStage and TimeActiveStage)."""
        instant = datetime.fromtimestamp(at, UTC)
        return self.in_active_time(instant) and not self.muted_by(instant)

    def hold(self, now: float) -> Hold | None:
        """None when the route is open now; else until when it is held, and why."""
        known = self._known
        if known is None or not known[0] <= now < known[1]:
            if self.open_at(now):
                return None
            known = (now, *self._next_open(now))
            self._known = known  # open at ``until`` holds for every ``now`` before it
        _, until, opens = known
        return Hold(until, self._reason(now, until, opens), opens)

    def _next_open(self, now: float) -> tuple[float, bool]:
        intervals = [i for group in (*self.mute.values(), *self.active.values()) for i in group]
        for day in range(HORIZON_DAYS):
            start = now + day * DAY
            found = chain.from_iterable(i.changes(start, start + DAY) for i in intervals)
            for at in sorted(set(found)):
                if at > now and self.open_at(at):
                    return at, True
        return now + HORIZON_DAYS * DAY, False

    def _reason(self, now: float, until: float, opens: bool) -> str:
        muted = self.muted_by(datetime.fromtimestamp(now, UTC))
        if muted:
            why = "muted by " + ", ".join(f"time interval {n!r}" for n in muted)
        else:
            why = "outside " + ", ".join(f"active time {n!r}" for n in self.active)
        if not opens:
            return f"{why}; it does not open within {HORIZON_DAYS} days"
        return f"{why} until {self.show(until)}"

    def show(self, at: float) -> str:
        """A time on the intervals' own clock (when they share one), and in UTC."""
        zones = {i.zone for group in (*self.mute.values(), *self.active.values()) for i in group}
        utc = datetime.fromtimestamp(at, UTC)
        if len(zones) != 1 or (zone := zones.pop()) is UTC:
            return utc.strftime("%a %Y-%m-%d %H:%M UTC")
        local = datetime.fromtimestamp(at, zone)
        return f"{local.strftime('%a %Y-%m-%d %H:%M %Z')} ({utc.strftime('%H:%M UTC')})"
