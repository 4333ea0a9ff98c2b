"""Who is on call, against a fake PagerDuty REST API and a recording Slack: cached, never
waited on long, and named in words when it cannot be had."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from router.config import parse_routes
from router.notifiers.pagerduty import PagerDuty
from router.oncall.lookup import OnCall
from tests.fakes.clock import FakeClock
from tests.fakes.notifier import RecordingNotifier
from tests.fakes.pagerduty import FakePagerDuty
from tests.helpers import wait_for

ROUTES = """
oncall:
  db-primary: {pagerduty: {schedule: PSCHED1}}
  dba: {pagerduty: {escalation_policy: PPOLICY}}
  platform: {rotation: {start: "2026-11-02 09:00 Europe/Berlin", every: 1w, people: [U01AAA, U02BBB]}}
"""
JANE = "U0JANE0001"


def utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


class World:
    def __init__(self, **kw: Any) -> None:
        self.pd = FakePagerDuty()
        self.slack = RecordingNotifier()
        self.slack.emails = {JANE: "jane@example.com"}
        self.clock = FakeClock(utc("2026-11-20 12:00"))
        entries = parse_routes(ROUTES).data.oncall
        pagerduty = PagerDuty("pd-token", "router@example.com", {}, transport=self.pd.transport)
        self.oncall = OnCall(lambda: entries, pagerduty, self.slack, self.clock, **kw)


@pytest.fixture
def w() -> Iterator[World]:
    world = World(wait=2.0)
    yield world
    world.pd.hang.clear()


def test_a_schedule_names_the_person_on_call_in_slack(w: World) -> None:
    w.pd.on_call("PSCHED1", "Jane Doe", "jane@example.com")
    now = w.oncall.now("db-primary")
    assert now.mention() == f"<@{JANE}>"
    assert now.until == utc("2026-11-23 08:00")
    assert now.source == 'PagerDuty schedule "Database Primary" (PSCHED1)'
    assert now.detail().startswith(f"<@{JANE}> (on call for db-primary until <!date^")
    text = w.oncall.mention("<!subteam^S0DBA>, then oncall:db-primary")
    assert text == f"<!subteam^S0DBA>, then <@{JANE}>"


def test_answers_are_cached_for_the_ttl_then_looked_up_again(w: World) -> None:
    w.pd.on_call("PSCHED1", "Jane Doe", "jane@example.com")
    w.oncall.now("db-primary")
    w.oncall.now("db-primary")
    assert w.pd.asked() == 1
    w.clock.advance(61)
    assert w.oncall.now("db-primary").mention() == f"<@{JANE}>"  # the stale one, at once
    wait_for(lambda: w.pd.asked() == 2, 5, "the lookup again")


def test_a_stale_answer_is_used_while_pagerduty_is_slow(w: World) -> None:
    w.pd.on_call("PSCHED1", "Jane Doe", "jane@example.com")
    w.oncall.now("db-primary")
    w.clock.advance(61)
    w.pd.hang.set()
    started = time.monotonic()
    assert w.oncall.now("db-primary").mention() == f"<@{JANE}>"
    assert time.monotonic() - started < 1.0  # not the 2 s wait: a usable answer was there


def test_never_past_the_end_of_the_shift_it_named(w: World) -> None:
    w.pd.on_call("PSCHED1", "Jane Doe", "jane@example.com", end="2026-11-20 12:00:30Z")
    assert w.oncall.now("db-primary").until == utc("2026-11-20 12:00:30")
    w.clock.advance(31)  # the shift is over: not Jane any more, whatever is cached
    w.pd.oncalls["PSCHED1"] = []
    w.pd.on_call("PSCHED1", "Bob Roe", "bob@example.com")
    now = w.oncall.now("db-primary")
    assert now.people[0].name == "Bob Roe"
    assert now.mention() == "Bob Roe"  # not in Slack: the name, in words


def test_pagerduty_down_names_the_schedule_in_words_at_once(w: World) -> None:
    w.pd.down = True
    started = time.monotonic()
    now = w.oncall.now("db-primary")
    assert now.mention() == "whoever is on call for db-primary (PagerDuty schedule PSCHED1)"
    assert "PagerDuty did not answer (ConnectError)" in (now.failed or "")
    assert time.monotonic() - started < 2.0
    asked = w.pd.asked()
    w.clock.advance(10)
    w.oncall.now("db-primary")
    assert w.pd.asked() == asked  # a failure is not tried again for `retry` seconds
    w.clock.advance(25)
    w.oncall.now("db-primary")
    wait_for(lambda: w.pd.asked() == asked + 1, 5, "the retry")


def test_after_an_outage_begins_the_words_keep_the_schedules_name(w: World) -> None:
    w.pd.on_call("PSCHED1", "Jane Doe", "jane@example.com")
    w.oncall.now("db-primary")
    w.pd.down = True
    w.clock.advance(3 * 86400)  # past the shift's end: the cached person is no answer
    assert w.oncall.now("db-primary").mention() == (
        'whoever is on call for db-primary (PagerDuty schedule "Database Primary" (PSCHED1))'
    )


def test_a_slow_pagerduty_costs_at_most_the_wait() -> None:
    w = World(wait=0.2)
    w.pd.hang.set()
    try:
        started = time.monotonic()
        now = w.oncall.now("db-primary")
        assert time.monotonic() - started < 1.0
        assert now.failed == "PagerDuty has not answered yet"
        assert now.mention().startswith("whoever is on call for db-primary")
    finally:
        w.pd.hang.clear()
    wait_for(lambda: w.oncall.now("db-primary").failed != "PagerDuty has not answered yet", 5, "")


def test_an_escalation_policy_names_its_first_level(w: World) -> None:
    w.pd.on_call("PPOLICY", "Second Line", "second@example.com", level=2, schedule=None)
    w.pd.on_call("PPOLICY", "Jane Doe", "jane@example.com", level=1, schedule=None, end=None)
    now = w.oncall.now("dba")
    assert now.mention() == f"<@{JANE}>"
    assert now.until is None  # always on call at that level
    assert now.source == 'PagerDuty escalation policy "Database" (PPOLICY)'


def test_nobody_on_call_is_said_in_words(w: World) -> None:
    now = w.oncall.now("db-primary")
    assert now.failed == "PagerDuty says nobody is on call"
    assert now.mention().startswith("whoever is on call for db-primary")


def test_a_name_from_pagerduty_is_escaped(w: World) -> None:
    w.pd.on_call("PSCHED1", "<!channel> Mallory", "mallory@example.com")
    assert w.oncall.now("db-primary").mention() == "&lt;!channel&gt; Mallory"


def test_emails_are_looked_up_in_slack_once(w: World) -> None:
    w.pd.on_call("PSCHED1", "Jane Doe", "jane@example.com")
    calls: list[str] = []

    class Counting(RecordingNotifier):
        def user_by_email(self, email: str) -> str | None:
            calls.append(email)
            return super().user_by_email(email)

    counting = Counting()
    counting.emails = w.slack.emails
    w.oncall.notifier = counting
    w.oncall.now("db-primary")
    w.clock.advance(120)
    w.oncall.now("db-primary")
    wait_for(lambda: w.pd.asked() == 2, 5, "the second lookup")
    w.oncall.lookup(["db-primary"])
    assert calls == ["jane@example.com"]


def test_without_a_pagerduty_token_the_schedule_is_named_in_words() -> None:
    clock = FakeClock()
    entries = parse_routes(ROUTES).data.oncall
    oncall = OnCall(lambda: entries, None, RecordingNotifier(), clock)
    now = oncall.now("db-primary")
    assert now.failed == "PAGERDUTY_API_TOKEN is not set"
    assert now.mention() == "whoever is on call for db-primary (PagerDuty schedule PSCHED1)"


def test_prefetch_warms_the_cache_without_waiting(w: World) -> None:
    w.pd.on_call("PSCHED1", "Jane Doe", "jane@example.com")
    w.oncall.prefetch()
    wait_for(lambda: w.pd.asked() >= 2, 5, "both PagerDuty entries looked up")
    wait_for(
        lambda: w.oncall.lookup(["db-primary"], wait=0)["db-primary"].mention() == f"<@{JANE}>",
        5,
        "the answer cached",
    )


def test_a_rotation_hands_off_at_its_time_in_its_zone_across_dst(w: World) -> None:
    """An injected clock on each side of the handoff the Monday after Berlin's DST began."""
    w.clock.t = utc("2027-03-29 06:59")  # 08:59 CEST
    before = w.oncall.now("platform")
    assert before.mention() == "<@U01AAA>"
    assert before.until == utc("2027-03-29 07:00")  # 09:00 CEST, not 08:00 UTC
    w.clock.t = utc("2027-03-29 07:00")
    after = w.oncall.now("platform")
    assert after.mention() == "<@U02BBB>"
    assert after.until == utc("2027-04-05 07:00")
    assert "rotation, every week from 2026-11-02 09:00 Europe/Berlin" in after.source
    assert w.pd.asked() == 0  # a rotation asks nobody


def test_a_rotation_before_its_start(w: World) -> None:
    w.clock.t = utc("2026-11-01 00:00")
    now = w.oncall.now("platform")
    assert now.failed is not None
    assert now.failed.startswith("the rotation starts <!date^")
    assert now.mention().startswith("whoever is on call for platform (rotation, every week")


def test_an_entry_gone_after_a_reload_is_named_in_words(w: World) -> None:
    assert w.oncall.mention("oncall:gone") == "whoever is on call for gone (not in routes.yaml now)"
