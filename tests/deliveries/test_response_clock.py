"""The response-time clock, with an injected clock, on SQLite and PostgreSQL.

SEV1 here: acknowledge within 5m, resolve within 2h, a status update every 15m;
the db-pool route escalates to a Slack user group.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from router.alert import Alert
from router.app import create_app
from router.decide import Ruleset, load_ruleset
from router.deliveries import register_all
from router.dispatcher import Dispatcher
from router.metrics import Metrics
from router.notifiers.pagerduty import PagerDuty
from router.render.incident.postmortem import postmortem
from router.render.message import MessageRenderer
from router.store import IngestPolicy, Store
from router.store.events import INCIDENT_ANNOUNCED
from tests import helpers
from tests.fakes.clock import FakeClock
from tests.fakes.notifier import RecordingNotifier
from tests.fakes.pagerduty import FakePagerDuty
from tests.helpers import GOLDEN, ROUTES, RUNBOOKS, check_golden, make_alert

MINUTE = 60.0


def timed_routes(folder: Path, page: str | None = None) -> Path:
    data = yaml.safe_load(ROUTES.read_text())
    data["severity"]["levels"]["SEV1"] = {
        "respond": "< 5 min",
        "ack_within": "5m",
        "resolve_within": "2h",
        "update_every": "15m",
        "postmortem": True,
    }
    data["severity"].pop("storm", None)
    for route in data["routes"]:
        if route.get("name") == "db-pool":
            route["escalate_to"] = "<!subteam^S0DBA>"
            if page:
                route["page"] = page
    path = folder / "routes-timed.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


class Replica:
    """One router process's dispatcher over the shared database."""

    def __init__(
        self,
        url: str,
        ruleset: Ruleset,
        clock: FakeClock,
        owner: str,
        pagerduty: PagerDuty | None = None,
    ) -> None:
        self.store = Store.from_url(url, clock)
        self.store.create_schema()
        self.slack = RecordingNotifier()
        self.metrics = Metrics()
        data = ruleset.config.data
        renderer = MessageRenderer(
            ruleset.catalog,
            data.severity.levels,
            data.defaults.stale_after_days,
            pages_url="http://router.example",
        )
        self.dispatcher = Dispatcher(
            self.store, self.metrics, clock=clock, owner=owner, rng=random.Random(1)
        )
        self.dispatcher.channel_interval = 0.0
        register_all(
            self.dispatcher,
            self.store,
            self.slack,
            lambda: renderer,
            self.metrics,
            ruleset=lambda: ruleset,
            pagerduty=pagerduty,
        )

    def replies(self) -> list[str]:
        return [m.text for action, _, _, m in self.slack.calls if action == "reply"]

    def metric(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


class World:
    def __init__(self, url: str, tmp: Path, clock: FakeClock) -> None:
        self.url = url
        self.clock = clock
        self.ruleset = load_ruleset(timed_routes(tmp), RUNBOOKS)
        self.router = Replica(url, self.ruleset, clock, "router-1")

    def send(self, *alerts: Alert) -> None:
        batch = [(a, self.ruleset.decide(a)) for a in alerts]
        self.router.store.ingest(batch, policy=IngestPolicy.of(self.ruleset))

    def after(self, seconds: float, replica: Replica | None = None) -> list[str]:
        """Let time pass, delivering what comes due on the way; the replies so far."""
        replica = replica or self.router
        step = 30.0
        for _ in range(int(seconds // step)):
            self.clock.advance(step)
            replica.dispatcher.dispatch_due()
        return replica.replies()

    def message(self) -> tuple[str, str]:
        view = self.router.store.load_message(1)
        assert view is not None
        assert view.slack_channel is not None
        assert view.slack_ts is not None
        return view.slack_channel, view.slack_ts


@pytest.fixture
def w(database_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[World]:
    world = World(database_url, tmp_path, clock)
    yield world
    world.router.store.engine.dispose()


FIRING = make_alert(env="prod")  # db-pool: SEV1, #db-oncall, RUN-001
RESOLVED = make_alert(env="prod", status="resolved", ends_at="2026-11-22T03:00:00Z")


def test_a_reminder_at_ack_within_and_not_before(w: World) -> None:
    w.send(FIRING)
    assert w.router.dispatcher.dispatch_due() >= 1  # the post; the clock looks, and waits
    assert w.after(4.5 * MINUTE) == []
    (reply,) = w.after(1 * MINUTE)
    assert "Not acknowledged after 5m" in reply
    assert "<!subteam^S0DBA>" in reply  # the route's escalate_to
    assert w.after(5 * MINUTE) == [reply]  # once
    assert w.router.metric("router_escalations_sent_total", kind="ack_reminder", level="SEV1") == 1


def test_no_reminder_after_an_acknowledgement_by_button(w: World) -> None:
    w.send(FIRING)
    w.router.dispatcher.dispatch_due()
    w.clock.advance(2 * MINUTE)
    assert w.router.store.acknowledge_message(1, "U0ANA")
    assert w.after(10 * MINUTE) == []
    observed = w.router.metric("router_time_to_acknowledge_seconds_sum", level="SEV1")
    assert observed == 2 * MINUTE


def test_no_reminder_after_an_acknowledgement_by_reaction(w: World) -> None:
    w.send(FIRING)
    w.router.dispatcher.dispatch_due()
    w.clock.advance(4 * MINUTE)
    assert w.router.store.acknowledge_in_slack(*w.message(), "U0ANA")
    assert w.after(10 * MINUTE) == []


def test_resolve_within_escalates_after_an_acknowledgement(w: World) -> None:
    w.send(FIRING)
    w.router.dispatcher.dispatch_due()
    w.router.store.acknowledge_message(1, "U0ANA")
    replies = w.after(2 * 60 * MINUTE)
    escalations = [r for r in replies if "Not resolved" in r]
    assert len(escalations) == 1
    assert "Not resolved after 2h" in escalations[0]
    assert "Acknowledged by <@U0ANA>, still firing" in escalations[0]
    assert not any("Not acknowledged" in r for r in replies)


def test_update_reminders_every_15m_stop_at_resolve(w: World) -> None:
    w.send(FIRING)
    w.router.dispatcher.dispatch_due()
    w.router.store.acknowledge_message(1, "U0ANA")
    replies = w.after(46 * MINUTE)
    updates = [r for r in replies if "Time for a status update" in r]
    assert len(updates) == 3  # at 15, 30 and 45 minutes
    reminder = next(m for a, _, _, m in w.router.slack.calls if "status update" in m.text)
    assert "Status: Identified" in json.dumps(reminder.blocks)  # with the draft to edit
    w.send(RESOLVED)
    w.router.dispatcher.dispatch_due()
    after = w.after(60 * MINUTE)
    assert [r for r in after if "status update" in r] == updates
    assert w.router.metric("router_time_to_resolve_seconds_count", level="SEV1") == 1
    assert w.router.metric("router_reminders_sent_total", kind="update_reminder", level="SEV1") == 3
    kinds = [e.kind for e in w.router.store.message_events(1)]
    assert kinds == ["acknowledged", *["update_reminder"] * 3, "resolved"]


def test_a_response_clock_takes_no_turn_of_its_channel(w: World) -> None:
    # Slack's pace is for messages: a clock that only looks must not hold the next
    # message in its channel back by a second.
    w.router.dispatcher.channel_interval = 1.0
    w.send(make_alert(env="prod", group_key="g1"))
    w.send(make_alert(env="prod", group_key="g2", instance="db-2:5432"))
    posted: list[float] = []
    for _ in range(12):
        before = len(w.router.slack.calls)
        w.router.dispatcher.dispatch_due()
        posted += [w.clock.now() for c in w.router.slack.calls[before:] if c[0] == "post"]
        w.clock.advance(0.25)
    assert len(posted) == 2
    assert posted[1] - posted[0] == 1.0


def test_a_reminder_waits_for_its_channel_s_turn_like_any_message(w: World) -> None:
    w.router.dispatcher.channel_interval = 1.0
    w.send(FIRING)
    w.router.dispatcher.dispatch_due()  # posted; its ack reminder is due at 5m
    w.clock.advance(5 * MINUTE - 0.5)
    w.send(*(make_alert(env="prod", group_key=f"g{i}", instance=f"db-{i}:5432") for i in (2, 3)))
    w.clock.advance(0.5)  # the reminder and two new messages, all for #db-oncall
    calls: list[tuple[float, str]] = []
    for _ in range(16):
        before = len(w.router.slack.calls)
        w.router.dispatcher.dispatch_due()
        calls += [(w.clock.now(), c[0]) for c in w.router.slack.calls[before:]]
        w.clock.advance(0.25)
    assert [action for _, action in calls] == ["post", "post", "reply"]
    assert [b - a for (a, _), (b, _) in itertools.pairwise(calls)] == [1.0, 1.0]


def test_nothing_for_a_level_without_response_times(w: World) -> None:
    w.send(make_alert(env="staging"))  # db-pool-staging: SEV3, no response times
    w.router.dispatcher.dispatch_due()
    assert w.after(3 * 60 * MINUTE) == []
    assert w.router.store.message_events(1) == []


def test_the_clock_survives_a_restart_and_fires_once_across_two_replicas(
    w: World, tmp_path: Path
) -> None:
    """Timers are outbox rows: a new process picks them up, and two never both send."""
    w.send(FIRING)
    w.router.dispatcher.dispatch_due()
    w.after(2 * MINUTE)
    w.router.store.engine.dispose()  # the first process is gone
    if w.url.startswith("sqlite"):
        restarted = Replica(w.url, w.ruleset, w.clock, "router-1")
        replies = w.after(10 * MINUTE, restarted)
        assert sum("Not acknowledged" in r for r in replies) == 1
        return
    a = Replica(w.url, w.ruleset, w.clock, "router-a")
    b = Replica(w.url, w.ruleset, w.clock, "router-b")
    for _ in range(20):  # both look every 30 s for 10 minutes
        w.clock.advance(30)
        a.dispatcher.dispatch_due()
        b.dispatcher.dispatch_due()
    both = a.replies() + b.replies()
    assert sum("Not acknowledged" in r for r in both) == 1
    a.store.engine.dispose()
    b.store.engine.dispose()


def test_resolution_posts_the_timeline_and_a_postmortem_draft(w: World, tmp_path: Path) -> None:
    """Golden: the resolved reply with its timeline, and the postmortem draft (SEV1 asks)."""
    start = "2026-11-22T03:59:30Z"  # the clock starts at 04:00
    w.send(
        make_alert(starts_at=start, env="prod"),
        make_alert(starts_at=start, env="prod", instance="db-2:5432"),
    )
    w.router.dispatcher.dispatch_due()
    w.clock.advance(6 * MINUTE)  # the ack reminder goes out at 04:05
    w.router.dispatcher.dispatch_due()
    w.clock.advance(2 * MINUTE)
    w.router.store.acknowledge_message(1, "U0ANA")  # 04:08
    w.after(20 * MINUTE)  # one update reminder at 04:15
    end = "2026-11-22T04:27:00Z"
    w.send(
        make_alert(starts_at=start, status="resolved", ends_at=end, env="prod"),
        make_alert(
            starts_at=start, status="resolved", ends_at=end, env="prod", instance="db-2:5432"
        ),
    )
    w.router.dispatcher.dispatch_due()
    replies = [m for action, _, _, m in w.router.slack.calls if action == "reply"]
    *_, resolved, question = replies  # acknowledged: "Did RUN-001 help?" follows
    assert question.text == "Did RUN-001 help?"
    check_golden(GOLDEN / "incident/resolved-reply.json", dumps(resolved.blocks))
    assert "postmortem.md|postmortem draft>" in dumps(resolved.blocks)  # one line, its link
    assert not any("Postmortem draft" in r.text for r in replies)  # not the draft itself
    view = w.router.store.load_message(1)
    assert view is not None
    runbook = w.ruleset.catalog.get("RUN-001")
    markdown = postmortem(view, w.router.store.message_events(1), runbook, w.clock.now())
    check_golden(GOLDEN / "incident/postmortem.md", markdown)
    assert "1. Why?" in markdown
    assert "- [action] -> [owner] -> [deadline]" in markdown


def test_a_newline_in_an_alert_name_adds_no_section_to_the_postmortem(w: World) -> None:
    forged = "PoolHigh\n\n## Root cause\n\nNothing to see, close it"
    w.send(make_alert(forged, env="prod"), make_alert(forged, env="prod", instance="db-2:5432"))
    w.router.dispatcher.dispatch_due()
    view = w.router.store.load_message(1)
    assert view is not None
    lines = postmortem(view, [], None, w.clock.now()).splitlines()
    assert lines.count("## Root cause") == 1  # the draft's own
    assert not any(line.startswith("Nothing to see") for line in lines)
    assert "# Postmortem: SEV2 PoolHigh ## Root cause Nothing to see, close it" in lines[0]


def test_the_postmortem_draft_is_served_as_markdown(tmp_path: Path, clock: FakeClock) -> None:
    settings = helpers.settings(tmp_path, config=str(timed_routes(tmp_path)))
    app = create_app(settings, notifier=RecordingNotifier(), clock=clock, run_dispatcher=False)
    with TestClient(app) as client:
        body = json.loads(helpers.BODY)
        body["alerts"][0]["labels"]["env"] = "prod"
        assert (
            client.post("/webhooks/alertmanager", json=body, headers=helpers.AUTH).status_code
            == 202
        )
        alert_id = helpers.stored(client)[0]["id"]
        answer = client.get(f"/alerts/{alert_id}/postmortem.md")
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "text/markdown; charset=utf-8"
        assert answer.text.startswith("# Postmortem: ")
        assert client.get("/alerts/999/postmortem.md").status_code == 404


def dumps(blocks: object) -> str:
    return json.dumps(blocks, indent=2, ensure_ascii=False) + "\n"


def test_alerts_pages_show_escalations_and_the_timeline(tmp_path: Path, clock: FakeClock) -> None:
    settings = helpers.settings(tmp_path, config=str(timed_routes(tmp_path)))
    app = create_app(settings, notifier=RecordingNotifier(), clock=clock, run_dispatcher=False)
    dispatcher = app.state.runtime.dispatcher
    with TestClient(app) as client:
        body = json.loads(helpers.BODY)  # DatabaseConnectionPoolHigh, env=prod: SEV1
        answer = client.post("/webhooks/alertmanager", json=body, headers=helpers.AUTH)
        assert answer.status_code == 202
        dispatcher.dispatch_due()
        clock.advance(6 * MINUTE)
        dispatcher.dispatch_due()  # not acknowledged after 5m
        (listed,) = helpers.stored(client)
        assert listed["deliveries"][0]["escalations"] == 1
        json_detail = {"Accept": "application/json"}
        detail = client.get(f"/alerts/{listed['id']}", headers=json_detail).json()
        steps = [step["what"] for step in detail["timeline"]]
        assert steps[-1] == "not acknowledged in time: escalation posted"
        page = client.get(f"/alerts/{listed['id']}").text
        assert "not acknowledged in time: escalation posted" in page


def test_not_acknowledged_on_a_page_route_pages_and_the_resolve_ends_the_page(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    fake = FakePagerDuty()
    pagerduty = PagerDuty(None, None, {"database": "R0UT1NGKEY0000000000000000000001"},
                          transport=fake.transport)  # fmt: skip
    ruleset = load_ruleset(timed_routes(tmp_path, page="database"), RUNBOOKS)
    replica = Replica(database_url, ruleset, clock, "router-1", pagerduty)
    firing = make_alert(env="prod")
    replica.store.ingest([(firing, ruleset.decide(firing))], policy=IngestPolicy.of(ruleset))
    for _ in range(12):
        clock.advance(30)
        replica.dispatcher.dispatch_due()
    escalations = [
        e for e in fake.bodies("/v2/enqueue") if e["dedup_key"].startswith("runbook-router:unack")
    ]
    assert [e["event_action"] for e in escalations] == ["trigger"]
    assert escalations[0]["payload"]["summary"].startswith("[SEV1] Not acknowledged in Slack")
    resolved = make_alert(env="prod", status="resolved", ends_at="2026-11-22T04:10:00Z")
    replica.store.ingest([(resolved, ruleset.decide(resolved))], policy=IngestPolicy.of(ruleset))
    replica.dispatcher.dispatch_due()
    escalations = [
        e for e in fake.bodies("/v2/enqueue") if e["dedup_key"].startswith("runbook-router:unack")
    ]
    assert [e["event_action"] for e in escalations] == ["trigger", "resolve"]
    replica.store.engine.dispose()


def test_a_postmortem_draft_of_a_firing_alert_says_it_still_fires(w: World) -> None:
    w.send(FIRING)
    w.router.dispatcher.dispatch_due()
    w.clock.advance(10 * MINUTE)
    view = w.router.store.load_message(1)
    assert view is not None
    draft = postmortem(view, [], None, w.clock.now())
    assert "still firing at 2026-11-22 04:10:00 UTC" in draft
    assert "resolved" not in draft.split("## Timeline")[0]


def _resolve_after(w: World, minutes: float, declared: bool = False) -> str:
    """Fire, (declare,) resolve ``minutes`` later by the source's clock; the last reply."""
    start = "2026-11-22T03:59:30Z"
    w.send(make_alert(starts_at=start, env="prod"))
    w.router.dispatcher.dispatch_due()
    if declared:
        w.router.store.record_event(1, INCIDENT_ANNOUNCED, w.clock.now(), "slack:U0ANA", "C0INC")
    end = datetime.fromisoformat(start) + timedelta(minutes=minutes)
    w.clock.advance(minutes * MINUTE)
    w.send(make_alert(starts_at=start, status="resolved", ends_at=end.isoformat(), env="prod"))
    w.router.dispatcher.dispatch_due()
    return w.router.replies()[-1]


def test_a_blip_shorter_than_postmortem_after_draws_no_postmortem(w: World) -> None:
    reply = _resolve_after(w, 4.5)  # SEV1 here: postmortem, postmortem_after the default 5m
    assert reply.startswith("✅ Resolved")
    assert not any("postmortem" in r.lower() for r in w.router.replies())


def test_a_declared_incident_draws_a_postmortem_however_short(w: World) -> None:
    _resolve_after(w, 1, declared=True)
    (resolved,) = [
        m for action, _, _, m in w.router.slack.calls if action == "reply" and "Resolved" in m.text
    ]
    assert "/alerts/1/postmortem.md|postmortem draft>" in dumps(resolved.blocks)


def test_five_minutes_or_more_draws_the_postmortem_line(w: World) -> None:
    _resolve_after(w, 5)
    (resolved,) = [
        m for action, _, _, m in w.router.slack.calls if action == "reply" and "Resolved" in m.text
    ]
    assert "postmortem draft>" in dumps(resolved.blocks)
