"""Alerts held by their route's time intervals, on SQLite and PostgreSQL, with an
injected clock: stored and shown, not posted; one message when the route opens; nothing
for what resolved before; timers that survive a restart and fire once across replicas."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from router.alert import Alert
from router.app import create_app
from router.cli import main
from router.decide import Ruleset, load_ruleset
from router.deliveries import register_all
from router.dispatcher import Dispatcher
from router.metrics import Metrics
from router.render.message import MessageRenderer
from router.slackapp.command import RunbookCommand
from router.store import HOLD, IngestPolicy, Store
from router.store.schema import outbox
from tests.fakes.clock import FakeClock
from tests.fakes.notifier import RecordingNotifier
from tests.helpers import (
    ADMIN,
    AUTH,
    RUNBOOKS,
    make_alert,
    routes_from_alertmanager,
    settings,
    visible_text,
)

ROUTES = """
defaults: {channel: "#alerts"}
receivers:
  db-team: "#db-oncall"
time_intervals:
  - name: working-hours
    time_intervals:
      - weekdays: ['monday:friday']
        times: [{start_time: '09:00', end_time: '17:00'}]
        location: Europe/Berlin
  - name: night
    time_intervals:
      - times: [{start_time: '00:00', end_time: '06:00'}]
        location: Europe/Berlin
routes:
  - name: db
    matchers: ['team="db"']
    receiver: db-team
    runbook: RUN-001
    active_time_intervals: [working-hours]
  - name: web
    matchers: ['team="web"']
    channel: "#web"
    mute_time_intervals: [night]
"""
SUNDAY = 1_795_320_000.0  # 2026-11-22 01:20 UTC (02:20 in Berlin): the FakeClock's start
MONDAY_9 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC).timestamp()  # 09:00 in Berlin
WEB_6 = datetime(2026, 11, 22, 5, 0, tzinfo=UTC).timestamp()  # 06:00 in Berlin


def db_alert(instance: str, status: str = "firing") -> Alert:
    ends = "2026-11-22T04:00:00Z" if status == "resolved" else None
    return make_alert(
        "DiskFull",
        team="db",
        instance=instance,
        fingerprint=f"disk-{instance}",
        status=status,
        ends_at=ends,
        group_key="db-disks",
    )


class Replica:
    """One router process: a store and a dispatcher over the shared database."""

    def __init__(self, url: str, ruleset: Ruleset, clock: FakeClock, owner: str) -> None:
        self.ruleset = ruleset
        self.clock = clock
        self.store = Store.from_url(url, clock)
        self.store.create_schema()
        self.slack = RecordingNotifier()
        data = ruleset.config.data
        renderer = MessageRenderer(
            ruleset.catalog, data.severity.levels, data.defaults.stale_after_days
        )
        self.dispatcher = Dispatcher(
            self.store, Metrics(), clock=clock, owner=owner, rng=random.Random(1)
        )
        self.dispatcher.channel_interval = 0.0
        register_all(
            self.dispatcher,
            self.store,
            self.slack,
            lambda: renderer,
            Metrics(),
            ruleset=lambda: self.ruleset,
        )

    def send(self, *alerts: Alert) -> None:
        now = self.clock.now()
        batch = [(a, self.ruleset.decide(a, now)) for a in alerts]
        self.store.ingest(batch, policy=IngestPolicy.of(self.ruleset))
        self.dispatcher.dispatch_due()

    def posts(self) -> list[tuple[str, str]]:
        return [
            (channel, visible_text(m.blocks))
            for action, channel, _, m in self.slack.calls
            if action == "post"
        ]


@pytest.fixture
def ruleset(tmp_path: Path) -> Ruleset:
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES, "utf-8")
    return load_ruleset(path, RUNBOOKS)


@pytest.fixture
def router(database_url: str, ruleset: Ruleset, clock: FakeClock) -> Iterator[Replica]:
    replica = Replica(database_url, ruleset, clock, "router-1")
    yield replica
    replica.store.engine.dispose()


def until(replica: Replica, at: float, step: float = 600.0) -> None:
    """Let time pass to ``at``, the dispatcher looking every ``step`` seconds."""
    while replica.clock.now() + step <= at:
        replica.clock.advance(step)
        replica.dispatcher.dispatch_due()
    replica.clock.t = at
    replica.dispatcher.dispatch_due()


def test_held_alerts_post_one_message_when_the_route_opens(router: Replica) -> None:
    """Sunday night, outside working hours: three disks fill up; one recovers before
    Monday 09:00. At 09:00 one message lists the two still firing; the third is not in it."""
    router.send(db_alert("db-1"), db_alert("db-2"))
    router.clock.advance(1800)
    router.send(db_alert("db-3"))
    router.clock.advance(1800)
    router.send(db_alert("db-3", status="resolved"))
    until(router, MONDAY_9 - 60)
    assert router.posts() == []  # nothing through the night

    until(router, MONDAY_9)
    ((channel, text),) = router.posts()
    assert channel == "#db-oncall"
    assert "db-1" in text
    assert "db-2" in text
    assert "db-3" not in text
    until(router, MONDAY_9 + 3600)
    assert len(router.posts()) == 1  # once


def test_a_group_that_resolved_while_held_posts_nothing(router: Replica) -> None:
    router.send(db_alert("db-1"))
    router.clock.advance(600)
    router.send(db_alert("db-1", status="resolved"))
    until(router, MONDAY_9 + 600)
    assert router.slack.calls == []


def test_a_mute_window_holds_until_it_ends_and_other_routes_post_at_once(
    router: Replica,
) -> None:
    web = make_alert("HighLatency", team="web", fingerprint="web-1", group_key="web")
    other = make_alert("Other", team="ops", fingerprint="ops-1", group_key="ops")
    router.send(web, other)
    assert [c for c, _ in router.posts()] == ["#alerts"]  # the unmuted one, at once
    until(router, WEB_6)
    assert [c for c, _ in router.posts()] == ["#alerts", "#web"]


def test_an_alert_already_posted_is_edited_not_held(router: Replica) -> None:
    """A repeat or a resolve of a message posted before the window closed goes through."""
    router.clock.t = MONDAY_9 + 3600  # Monday 10:00: open
    router.send(db_alert("db-1"))
    assert len(router.posts()) == 1
    router.clock.t = MONDAY_9 + 10 * 3600  # 19:00: closed again
    router.send(db_alert("db-1"))  # a repeat: nothing new
    router.send(db_alert("db-1", status="resolved"))
    actions = [action for action, *_ in router.slack.calls]
    assert actions == ["post", "update", "reply"]  # edited and replied in its thread


def test_the_hold_survives_a_restart_and_fires_once_across_two_replicas(
    database_url: str, router: Replica, ruleset: Ruleset, clock: FakeClock
) -> None:
    router.send(db_alert("db-1"), db_alert("db-2"))
    router.store.engine.dispose()  # the process that took them is gone
    replicas = [Replica(database_url, ruleset, clock, f"router-{n}") for n in "ab"]
    if database_url.startswith("sqlite"):
        replicas = replicas[:1]  # SQLite is one process's database
    while clock.now() < MONDAY_9 + 1200:
        clock.advance(300)
        for replica in replicas:
            replica.dispatcher.dispatch_due()
    posts = [p for replica in replicas for p in replica.posts()]
    assert len(posts) == 1
    assert "db-1" in posts[0][1]
    assert "db-2" in posts[0][1]
    for replica in replicas:
        replica.store.engine.dispose()


def test_a_hold_whose_route_is_still_held_then_is_held_again(
    router: Replica, tmp_path: Path
) -> None:
    """A reload that moves the window: the timer looks again, with the routes now in force."""
    router.send(db_alert("db-1"))
    later = tmp_path / "later.yaml"
    later.write_text(ROUTES.replace("'09:00', end_time: '17:00'", "'11:00', end_time: '17:00'"))
    router.ruleset = load_ruleset(later, RUNBOOKS)
    until(router, MONDAY_9 + 3600)
    assert router.posts() == []
    until(router, MONDAY_9 + 3 * 3600)  # 11:00 in Berlin
    assert len(router.posts()) == 1


def test_held_decisions_are_stored_with_until_when(router: Replica) -> None:
    router.send(db_alert("db-1"))
    (row,) = router.store.recent_alerts()
    (decision,) = row.decisions
    assert decision.held_until == MONDAY_9
    assert decision.held == (
        "outside active time 'working-hours' until Mon 2026-11-23 09:00 CET (08:00 UTC)"
    )
    assert row.deliveries == []
    assert router.store.outbox_counts() == {}  # a hold is a timer, not a delivery waiting
    with router.store.engine.connect() as conn:
        kinds = [r.kind for r in conn.execute(outbox.select())]
    assert kinds == [HOLD]


def test_alerts_page_and_api_route_say_held_until(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES, "utf-8")
    app = create_app(settings(tmp_path, config=str(path)), clock=clock, run_dispatcher=False)
    body = {
        "version": "4",
        "groupKey": "db-disks",
        "status": "firing",
        "receiver": "runbook-router",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "DiskFull", "team": "db", "instance": "db-1"},
                "annotations": {},
                "startsAt": "2026-11-22T01:00:00Z",
                "fingerprint": "disk-db-1",
            }
        ],
    }
    with TestClient(app) as client:
        explained = client.post("/api/route", json=body, headers=ADMIN).json()
        (decision,) = explained["alerts"][0]["decisions"]
        assert decision["held_until"] == MONDAY_9
        assert "until Mon 2026-11-23 09:00 CET" in decision["held"]
        at_ten = client.post(
            "/api/route?at=2026-11-23T10:00:00%2B01:00", json=body, headers=ADMIN
        ).json()
        assert at_ten["alerts"][0]["decisions"][0]["held_until"] is None
        assert client.post("/webhooks/alertmanager", json=body, headers=AUTH).status_code == 202
        page = client.get("/alerts").text
        assert '<span class="badge held">held</span> <span class="meta">until 2026-11-23' in page


def test_a_reload_with_a_bad_time_interval_is_refused_and_the_running_one_kept(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES, "utf-8")
    app = create_app(settings(tmp_path, config=str(path)), clock=clock, run_dispatcher=False)
    bad = {
        "unknown interval name": ROUTES.replace("[working-hours]", "[workinghours]"),
        "malformed time": ROUTES.replace("'09:00'", "'9:00'"),
        "impossible range": ROUTES.replace("'monday:friday'", "'friday:monday'"),
    }
    problems = []
    with TestClient(app) as client:
        running = app.state.runtime.ruleset
        for why, text in bad.items():
            path.write_text(text, "utf-8")
            answer = client.post("/-/reload", headers=ADMIN)
            assert answer.status_code == 400, why
            (problem,) = answer.json()["problems"]
            assert problem.startswith(f"{path}:"), why  # file:line: key: message
            problems.append(problem.split(": ", 2)[2])
            assert app.state.runtime.ruleset is running, why  # the running config is kept
    assert problems == [
        "undefined time interval \"workinghours\" used in route; did you mean 'working-hours'?",
        "couldn't parse timestamp 9:00, invalid format",
        "start day cannot be before end day",
    ]


GOVUK = Path(__file__).parents[1] / "data/alertmanager/trees/govuk.yml"


def test_route_at_a_time_says_a_real_tree_holds_its_drill_until_next_wednesday(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """alphagov's tree pages Watchdog only Wednesdays 10:00-10:03 in London (a drill)."""
    routes = tmp_path / "routes.yaml"
    routes.write_text(routes_from_alertmanager(GOVUK.read_text("utf-8")), "utf-8")
    payload = tmp_path / "watchdog.json"
    payload.write_text(
        json.dumps(
            {
                "version": "4",
                "groupKey": '{}:{alertname="Watchdog"}',
                "status": "firing",
                "alerts": [{"status": "firing", "labels": {"alertname": "Watchdog"}}],
            }
        ),
        "utf-8",
    )
    args = ["route", str(payload), "--config", str(routes), "--runbooks", str(RUNBOOKS)]

    def decision(at: str) -> dict[str, Any]:
        assert main([*args, "--at", at]) == 0
        (explained,) = json.loads(capsys.readouterr().out)["alerts"]
        (one,) = explained["decisions"]
        return dict(one)

    drill = decision("2026-11-25T10:01:00Z")  # a Wednesday, 10:01 GMT
    assert (drill["channel"], drill["held_until"]) == ("#pagerduty", None)
    after = decision("2026-11-25T10:03:00Z")  # the end is excluded
    assert after["held_until"] == datetime(2026, 12, 2, 10, 0, tzinfo=UTC).timestamp()
    assert after["held"] == (
        "outside active time 'pagerduty_drill' until Wed 2026-12-02 10:00 GMT (10:00 UTC)"
    )
    summer = decision("2027-06-01T12:00:00+01:00")  # a Tuesday in British summer time
    assert summer["held_until"] == datetime(2027, 6, 2, 9, 0, tzinfo=UTC).timestamp()
    assert main([*args, "--at", "tomorrow"]) == 1
    assert "--at: 'tomorrow' is not an RFC 3339 time" in capsys.readouterr().err


def test_runbook_why_says_when_an_alert_would_be_held(ruleset: Ruleset, clock: FakeClock) -> None:
    command = RunbookCommand(ruleset, clock)
    text = command.answer("why DiskFull team=db").payload()["text"]
    assert "#db-oncall" in text
    assert (
        "held, not posted now: outside active time 'working-hours' until "
        "Mon 2026-11-23 09:00 CET (08:00 UTC); posted then if it still fires"
    ) in text
    clock.t = MONDAY_9 + 60
    assert "held" not in command.answer("why DiskFull team=db").payload()["text"]
