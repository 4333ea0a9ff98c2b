"""Alertmanager's time-interval tables (tests/data/alertmanager/timeinterval.json), and
when a route held by its intervals opens: across midnight, weekends, DST, month ends."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from router.config import parse_routes
from router.errors import ConfigError
from router.timeinterval import HORIZON_DAYS, Schedule, TimeInterval, load_location

TABLE = json.loads(
    (Path(__file__).parent / "data/alertmanager/timeinterval.json").read_text("utf-8")
)


def rfc822z(text: str) -> datetime:
    """Go's time.RFC822Z, ``02 Jan 06 15:04 -0700``."""
    return datetime.strptime(text, "%d %b %y %H:%M %z")


def interval(fields: dict[str, Any]) -> TimeInterval:
    """A Go struct literal of the table, as numbers."""

    def ranges(key: str) -> tuple[tuple[int, int], ...] | None:
        return tuple(tuple(r) for r in fields[key]) if key in fields else None

    location = load_location(fields["location"]) if "location" in fields else None
    return TimeInterval(
        ranges("times"),
        ranges("weekdays"),
        ranges("days_of_month"),
        ranges("months"),
        ranges("years"),
        location,
    )


def read(yaml_list: str) -> list[TimeInterval]:
    """Intervals written in Alertmanager's YAML, read through routes.yaml."""
    body = "\n".join(line for line in yaml_list.splitlines() if line.strip() != "---")
    text = "time_intervals:\n  - name: t\n    time_intervals:\n" + textwrap.indent(body, "      ")
    return list(parse_routes(text).intervals["t"])


def case_id(case: dict[str, Any]) -> str:
    return str(case.get("note") or case.get("name") or case["in"].strip()[:40])


def test_the_table_names_its_upstream_commit() -> None:
    assert "commit 68fb2d5759b3a92c0bb2a1a13d4ef7ff5b06256d" in TABLE["upstream"]


@pytest.mark.parametrize(
    "case", TABLE["contains"], ids=[str(c.get("note", "")) for c in TABLE["contains"]]
)
def test_contains_time(case: dict[str, Any]) -> None:
    ti = interval(case["interval"])
    for text in case["valid"]:
        assert ti.contains(rfc822z(text)), text
    for text in case["invalid"]:
        assert not ti.contains(rfc822z(text)), text


@pytest.mark.parametrize("case", TABLE["time_strings"], ids=lambda c: c["in"])
def test_parse_time_string(case: dict[str, Any]) -> None:
    text = "- times:\n  - " + case["in"].strip("{}").replace("', '", "'\n    '")
    if case.get("error"):
        with pytest.raises(ConfigError):
            read(text)
    else:
        (ti,) = read(text)
        assert ti.times == (tuple(case["want"]),)


@pytest.mark.parametrize("case", TABLE["yaml"], ids=case_id)
def test_yaml_unmarshal(case: dict[str, Any]) -> None:
    if "err" in case:
        with pytest.raises(ConfigError) as caught:
            read(case["in"])
        assert [p.message for p in caught.value.problems] == [case["err"]]
        return
    got = read(case["in"])
    assert got == [interval(want) for want in case["want"]]
    for text in case.get("contains", []):
        assert any(ti.contains(rfc822z(text)) for ti in got), text
    for text in case.get("excludes", []):
        assert not any(ti.contains(rfc822z(text)) for ti in got), text


@pytest.mark.parametrize("case", TABLE["complete"], ids=case_id)
def test_time_interval_complete(case: dict[str, Any]) -> None:
    body = "\n".join(line for line in case["in"].splitlines() if line.strip() != "---")
    (ti,) = read("- " + textwrap.indent(body.strip(), "  ").lstrip())
    for text in case.get("contains", []):
        assert ti.contains(rfc822z(text)), text
    for text in case.get("excludes", []):
        assert not ti.contains(rfc822z(text)), text


@pytest.mark.parametrize("case", TABLE["mutes"]["cases"], ids=lambda c: c["name"])
def test_intervener_mutes(case: dict[str, Any]) -> None:
    named = {
        name: [interval(fields) for fields in intervals]
        for name, intervals in TABLE["mutes"]["intervals"].items()
    }
    schedule = Schedule(sorted(named), [], named)
    wall = datetime.strptime(case["now"], "%Y-%m-%d %H:%M")
    now = wall.replace(tzinfo=load_location(case["zone"]))
    assert schedule.muted_by(now) == case["muted_by"]
    assert (schedule.hold(now.timestamp()) is None) == (not case["muted_by"])


# -- when a held route opens --------------------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")


def at(text: str, zone: ZoneInfo = BERLIN) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=zone).timestamp()


def local(ts: float, zone: ZoneInfo = BERLIN) -> str:
    return datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%d %H:%M")


def schedule(yaml_list: str, *, mute: bool = False) -> Schedule:
    named = {"t": read(yaml_list)}
    return Schedule(["t"], [], named) if mute else Schedule([], ["t"], named)


WORKING_HOURS = """
- weekdays: ['monday:friday']
  times:
    - start_time: '09:00'
      end_time: '17:00'
  location: Europe/Berlin
"""


def test_outside_working_hours_opens_at_the_next_working_morning() -> None:
    s = schedule(WORKING_HOURS)
    assert s.hold(at("2026-11-23 10:00")) is None  # a Monday, open
    held = s.hold(at("2026-11-23 17:00"))  # the end is excluded
    assert held is not None
    assert local(held.until) == "2026-11-24 09:00"
    assert held.reason == ("outside active time 't' until Tue 2026-11-24 09:00 CET (08:00 UTC)")
    friday_night = s.hold(at("2026-11-27 23:30"))
    assert friday_night is not None
    assert local(friday_night.until) == "2026-11-30 09:00"  # over the weekend


def test_a_mute_window_opens_when_it_ends() -> None:
    s = schedule(
        WORKING_HOURS.replace("'09:00'", "'01:00'").replace("'17:00'", "'05:30'"), mute=True
    )
    held = s.hold(at("2026-11-24 03:00"))
    assert held is not None
    assert local(held.until) == "2026-11-24 05:30"
    assert held.reason.startswith("muted by time interval 't' until Tue 2026-11-24 05:30 CET")
    assert s.hold(at("2026-11-28 03:00")) is None  # Saturdays are not muted


def test_dst_spring_forward_in_a_non_utc_location() -> None:
    """Europe/Berlin skips 02:00-03:00 on 2026-03-29: a window that opens at 02:30
    opens when the clocks jump, 01:00 UTC, the first instant its wall time is past."""
    s = schedule("- times: [{start_time: '02:30', end_time: '06:00'}]\n  location: Europe/Berlin")
    held = s.hold(at("2026-03-29 01:15"))
    assert held is not None
    assert held.until == datetime(2026, 3, 29, 1, 0, tzinfo=UTC).timestamp()
    assert local(held.until) == "2026-03-29 03:00"
    assert "CEST" in held.reason  # summer time from then on


def test_dst_fall_back_opens_at_the_first_of_the_repeated_hour() -> None:
    """On 2026-10-25 Berlin goes through 02:00-03:00 twice; 02:30 comes first at 00:30 UTC."""
    s = schedule("- times: [{start_time: '02:30', end_time: '02:45'}]\n  location: Europe/Berlin")
    first = s.hold(at("2026-10-25 01:00"))
    assert first is not None
    assert first.until == datetime(2026, 10, 25, 0, 30, tzinfo=UTC).timestamp()
    second = s.hold(datetime(2026, 10, 25, 0, 50, tzinfo=UTC).timestamp())  # 02:50 CEST
    assert second is not None
    assert second.until == datetime(2026, 10, 25, 1, 30, tzinfo=UTC).timestamp()  # 02:30 CET


def test_working_hours_follow_the_location_across_dst() -> None:
    """09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer."""
    s = schedule(WORKING_HOURS)
    winter = s.hold(at("2026-03-27 18:00"))  # Friday before the change
    assert winter is not None
    assert winter.until == datetime(2026, 3, 30, 7, 0, tzinfo=UTC).timestamp()


def test_last_day_of_the_month_and_leap_years() -> None:
    s = schedule("- days_of_month: ['-1']\n  location: UTC")
    held = s.hold(datetime(2028, 2, 3, tzinfo=UTC).timestamp())
    assert held is not None
    assert held.until == datetime(2028, 2, 29, tzinfo=UTC).timestamp()


def test_an_interval_that_never_opens_is_looked_at_again_after_the_horizon() -> None:
    s = schedule("- years: ['2020']")
    now = at("2026-11-23 10:00")
    held = s.hold(now)
    assert held is not None
    assert not held.opens
    assert held.until == now + HORIZON_DAYS * 86400
    assert "does not open within" in held.reason


def test_an_empty_interval_list_holds_no_time() -> None:
    """A name with no intervals: as active time never open, as mute time never muting."""
    empty: dict[str, list[TimeInterval]] = {"t": []}
    assert Schedule([], ["t"], empty).hold(at("2026-11-23 10:00")) is not None
    assert Schedule(["t"], [], empty).hold(at("2026-11-23 10:00")) is None
