"""A rotation hands off at start's wall-clock time in start's zone, DST included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from router.oncall.rotation import parse_handoff, shift_at

WEEK = 7 * 86400.0
DAY = 86400.0
START = parse_handoff("2026-11-02 09:00 Europe/Berlin")  # a Monday, CET (UTC+1)
PEOPLE = ["U01AAA", "U02BBB"]


def utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_the_first_person_from_start_and_nobody_before() -> None:
    assert shift_at(START, WEEK, PEOPLE, utc("2026-11-02 07:59")) is None
    shift = shift_at(START, WEEK, PEOPLE, utc("2026-11-02 08:00"))  # 09:00 CET
    assert shift is not None
    assert shift.person == "U01AAA"
    assert shift.start == utc("2026-11-02 08:00")
    assert shift.end == utc("2026-11-09 08:00")


def test_round_the_list() -> None:
    people = ["U1", "U2", "U3"]
    at = [utc("2026-11-02 08:00") + n * WEEK + 60 for n in range(7)]
    assert [s.person for t in at if (s := shift_at(START, WEEK, people, t))] == [
        "U1", "U2", "U3", "U1", "U2", "U3", "U1"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("at", "person"),
    [
        # Monday 29 March 2027, the day after Berlin moved to CEST (UTC+2): 21 weeks in,
        # so U02BBB takes over at 09:00 Berlin time, which is 07:00 UTC now, not 08:00.
        ("2027-03-29 06:59", "U01AAA"),
        ("2027-03-29 07:00", "U02BBB"),
        ("2027-03-29 07:30", "U02BBB"),
        # and back: Monday 1 November 2027, 52 weeks in, after the return to CET: U01AAA
        # again at 09:00 Berlin time, 08:00 UTC.
        ("2027-11-01 07:59", "U02BBB"),
        ("2027-11-01 08:00", "U01AAA"),
    ],
)
def test_handoffs_keep_their_time_across_daylight_saving(at: str, person: str) -> None:
    shift = shift_at(START, WEEK, PEOPLE, utc(at))
    assert shift is not None
    assert shift.person == person


def test_the_week_around_a_change_is_an_hour_short() -> None:
    shift = shift_at(START, WEEK, PEOPLE, utc("2027-03-25 12:00"))  # the week of the change
    assert shift is not None
    assert shift.start == utc("2027-03-22 08:00")  # 09:00 CET
    assert shift.end == utc("2027-03-29 07:00")  # 09:00 CEST
    assert shift.end - shift.start == WEEK - 3600


def test_a_daily_rotation_across_the_autumn_change_lasts_25_hours_that_day() -> None:
    start = parse_handoff("2027-10-25 09:00 Europe/Berlin")
    shift = shift_at(start, DAY, PEOPLE, utc("2027-10-30 12:00"))  # Saturday, CEST
    assert shift is not None
    assert shift.start == utc("2027-10-30 07:00")
    assert shift.end == utc("2027-10-31 08:00")  # Sunday 09:00 CET


def test_twelve_hour_shifts_hand_off_at_nine_and_nine_local() -> None:
    start = parse_handoff("2027-03-27 09:00 Europe/Berlin")
    ends = []
    t = utc("2027-03-27 08:30")
    for _ in range(4):
        shift = shift_at(start, 12 * 3600.0, PEOPLE, t)
        assert shift is not None
        ends.append(datetime.fromtimestamp(shift.end, START.tzinfo).strftime("%d %H:%M %Z"))
        t = shift.end
    assert ends == ["27 21:00 CET", "28 09:00 CEST", "28 21:00 CEST", "29 09:00 CEST"]


def test_other_zones_and_utc() -> None:
    start = parse_handoff("2026-11-01 10:00 America/New_York")  # the day EST begins
    shift = shift_at(start, WEEK, PEOPLE, utc("2027-03-15 14:30"))  # after EDT began
    assert shift is not None
    assert shift.start == utc("2027-03-14 14:00")  # Sunday 10:00 EDT
    assert parse_handoff("2026-11-02 09:00:30 UTC").utcoffset() is not None
    assert parse_handoff("2026-11-02T9:00 UTC").hour == 9


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-11-02 09:00", "expected date, time and time zone"),
        ("next monday 9am", "expected date, time and time zone"),
        ("2026-11-02 09:00 Europe/Berln", "did you mean 'Europe/Berlin'"),
        ("2026-11-02 09:00 Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("2026-13-02 09:00 UTC", "month must be in 1..12"),
        ("2026-11-02 25:00 UTC", "hour must be in 0..23"),
        (datetime(2026, 11, 2, 9), "write the time zone too"),
        (20261102, "expected a start such as"),
    ],
)
def test_bad_starts(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_handoff(value)
