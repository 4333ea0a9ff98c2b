"""Slack mirrors Alertmanager: silenced and inhibited shown, gone resolved, never while down.

The app with an injected clock and its dispatcher driven by hand; Alertmanager is
tests/fakes/alertmanager.py. The rules themselves are table-tested on ``plan``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from router.app import create_app
from router.deliveries.reconcile import plan
from router.notifiers.alertmanager import ApiAlert, Listing
from router.runtime import Runtime
from router.store import Candidate, NewSilence, SilenceFacts
from tests.fakes.alertmanager import FakeAlertmanager
from tests.fakes.clock import FakeClock
from tests.fakes.postgres import PostgresServer
from tests.fakes.slack import FakeSlack, SlackMessage
from tests.helpers import AUTH, settings

NAME = "DiskWillFillSoon"


def webhook(*pods: str, name: str = NAME) -> bytes:
    return json.dumps(
        {
            "version": "4",
            "groupKey": f'{{}}:{{alertname="{name}"}}',
            "status": "firing",
            "externalURL": "http://alertmanager:9093",
            "alerts": [
                {
                    "labels": {"alertname": name, "pod": pod, "severity": "warning"},
                    "annotations": {"summary": "Disk will fill"},
                    "startsAt": "2026-11-22T01:00:00Z",
                    "fingerprint": f"fp-{pod}",
                }
                for pod in pods
            ],
        }
    ).encode()


@dataclass
class World:
    client: TestClient
    rt: Runtime
    slack: FakeSlack
    am: FakeAlertmanager
    clock: FakeClock

    def fire(self, *pods: str, name: str = NAME) -> SlackMessage:
        body = webhook(*pods, name=name)
        assert (
            self.client.post("/webhooks/alertmanager", content=body, headers=AUTH).status_code
            == 202
        )
        self.run()
        return self.slack.posts("#alerts")[-1]

    def run(self, seconds: float = 2.0) -> None:
        """Time passes (the channel's pace, the reconcile interval); the dispatcher works."""
        self.clock.advance(seconds)
        self.am.now = self.clock.now()
        self.rt.dispatcher.dispatch_due()

    def metric(self, line: str) -> float:
        for text in self.client.get("/metrics").text.splitlines():
            if text.startswith(line + " "):
                return float(text.rsplit(" ", 1)[1])
        return 0.0


def start(
    stack: ExitStack,
    tmp_path: Path,
    slack: FakeSlack,
    clock: FakeClock,
    am: FakeAlertmanager,
    **overrides: Any,
) -> World:
    tmp_path.mkdir(exist_ok=True)
    values: dict[str, Any] = {
        "slack_bot_token": "xoxb-test",
        "slack_api_url": slack.base_url,
        "alertmanager_url": "http://alertmanager:9093",
        "reconcile_interval": 60.0,
    }
    app = create_app(
        settings(tmp_path, **(values | overrides)),
        clock=clock,
        run_dispatcher=False,
        alertmanager_transport=am.transport,
    )
    client = stack.enter_context(TestClient(app))
    return World(client, app.state.runtime, slack, am, clock)


@pytest.fixture
def world(tmp_path: Path, fake_slack: FakeSlack, clock: FakeClock) -> Iterator[World]:
    am = FakeAlertmanager(now=clock.now())
    with ExitStack() as stack:
        yield start(stack, tmp_path, fake_slack, clock, am)


def blocks(message: SlackMessage) -> str:
    return json.dumps(message.current_blocks, ensure_ascii=False)


def test_the_alert_page_timeline_shows_a_silence_made_from_slack(world: World) -> None:
    """(Made by the store as the modal's submission does; tests/slackapp/test_silence.py
    drives the modal itself.)"""
    world.fire("db-0")
    view = world.rt.store.find_message(*_posted(world))
    assert view is not None
    until = world.clock.now() + 3600
    facts = SilenceFacts("s-1", ['pod="db-0"'], "Jane", "x", world.clock.now(), until)
    member = view.members[0]
    world.rt.store.record_silence(
        NewSilence(view.id, "alertmanager", facts, "U0JANE", [member.alert_id])
    )
    alert_id = world.rt.store.first_alert_id(view.id)
    page = world.client.get(f"/alerts/{alert_id}", headers={"Accept": "application/json"}).json()
    whats = [(e["what"], e["who"]) for e in page["timeline"]]
    assert ("silenced in Alertmanager until 2026-11-22 05:00:02 UTC", "slack:U0JANE") in whats


def _posted(world: World) -> tuple[str, str]:
    message = world.slack.posts()[-1]
    return message.channel, message.ts


def test_silenced_and_inhibited_are_shown_whoever_made_them(world: World) -> None:
    message = world.fire("db-0", "db-1")
    silence = world.am.silence("Ops Bot", "disk swap OPS-9", 3 * 3600, alertname=NAME, pod="db-0")
    world.am.fire("fp-db-0", {"alertname": NAME, "pod": "db-0"}, silenced_by=[silence])
    world.am.fire("fp-node", {"alertname": "NodeDown", "node": "n1"})
    world.am.fire("fp-db-1", {"alertname": NAME, "pod": "db-1"}, inhibited_by=["fp-node"])
    world.run(60)
    shown = blocks(message)
    assert "🔕 Silenced by Ops Bot until" in shown
    assert "disk swap OPS-9" in shown
    assert "⛔ Inhibited (1 of 2) by NodeDown" in shown
    assert "INHIBITED" in message.current_blocks[0]["text"]["text"]  # neither notifies now
    assert world.metric('router_alertmanager_up{alertmanager="alertmanager"}') == 1
    # Nothing changes: nothing is edited again.
    edits = len(message.edits)
    world.run(60)
    assert len(message.edits) == edits


def test_alerts_alertmanager_no_longer_lists_are_resolved_once(world: World) -> None:
    message = world.fire("db-0", "db-1")
    silence = world.am.silence("jane", "x", 3600, alertname=NAME)
    for pod in ("db-0", "db-1"):
        world.am.fire(f"fp-{pod}", {"alertname": NAME, "pod": pod}, silenced_by=[silence])
    world.run(60)
    assert "SILENCED" in message.current_blocks[0]["text"]["text"]
    world.am.alerts.clear()  # they ended while silenced: Alertmanager sends no resolve
    world.run(60)
    assert "RESOLVED" in message.current_text
    (reply,) = world.slack.replies(message)
    assert "No longer active in Alertmanager" in reply.text
    assert "no longer active in Alertmanager: resolved" in blocks(reply)  # the timeline
    world.run(60)
    world.run(60)
    assert len(world.slack.replies(message)) == 1
    assert world.metric('router_reconcile_resolved_total{alertmanager="alertmanager"}') == 2


def test_nothing_is_resolved_while_alertmanager_does_not_answer(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    message = world.fire("db-0")
    world.am.down = True
    with caplog.at_level(logging.WARNING, "router.reconcile"):
        world.run(60)
        world.run(60)
    assert "RESOLVED" not in message.current_text
    assert world.metric('router_alertmanager_up{alertmanager="alertmanager"}') == 0
    reads = 'router_alertmanager_reads_total{alertmanager="alertmanager",outcome="unreachable"}'
    assert world.metric(reads) == 2
    assert "nothing is resolved until it answers" in caplog.text
    assert world.rt.reconciler is not None
    assert "alertmanager" in world.rt.reconciler.unreachable
    with caplog.at_level(logging.WARNING, "router"):
        assert world.client.get("/readyz").json() == {"status": "ready"}  # it still delivers
        assert world.client.get("/readyz").status_code == 200
    said = [r.getMessage() for r in caplog.records if "ready, but" in r.getMessage()]
    assert said == [
        "ready, but no answer from alertmanager alertmanager (since 60s ago): "
        "nothing is resolved from it"
    ]  # once a minute, not on every probe
    world.am.down = False  # back, and listing nothing: now it is resolved
    world.run(60)
    assert "RESOLVED" in message.current_text


def test_an_alertmanager_that_just_started_resolves_nothing(world: World) -> None:
    message = world.fire("db-0")
    world.am.started = world.clock.now()  # restarted: its alerts are in memory only
    world.run(60)
    assert "RESOLVED" not in message.current_text
    world.run(200)  # Prometheus has sent everything again by now
    assert "RESOLVED" in message.current_text


def test_an_alert_that_fires_again_from_the_webhook_is_left_to_it(world: World) -> None:
    message = world.fire("db-0")
    world.am.fire("fp-db-0", {"alertname": NAME, "pod": "db-0"})
    world.run(60)
    world.am.alerts.clear()
    world.fire("db-0")  # a repeat arrives; then the read finds nothing, within one second
    world.rt.dispatcher.dispatch_due()
    assert "RESOLVED" not in message.current_text


def test_the_reminder_comes_once_before_a_silence_ends_with_extend(world: World) -> None:
    message = world.fire("db-0")
    silence = world.am.silence("Ops Bot", "x", 20 * 60, alertname=NAME)
    world.am.fire("fp-db-0", {"alertname": NAME, "pod": "db-0"}, silenced_by=[silence])
    world.run(60)
    assert world.slack.replies(message) == []  # 19 minutes left: more than remind_before
    world.run(5 * 60)
    (reminder,) = world.slack.replies(message)
    assert "The silence by Ops Bot ends" in reminder.text
    extend = [e for b in reminder.blocks if b["type"] == "actions" for e in b["elements"]]
    assert [e["action_id"] for e in extend] == ["extend_silence"]
    world.run(60)
    assert len(world.slack.replies(message)) == 1


def test_reconciling_is_off_at_zero_and_without_an_alertmanager(
    tmp_path: Path, fake_slack: FakeSlack, clock: FakeClock
) -> None:
    am = FakeAlertmanager()
    with ExitStack() as stack:
        off = start(stack, tmp_path / "a", fake_slack, clock, am, reconcile_interval=0)
        off.fire("db-0")
        off.run(3600)
    with ExitStack() as stack:
        none = start(stack, tmp_path / "b", fake_slack, clock, am, alertmanager_url=None)
        none.fire("db-1", name="Other")
        none.run(3600)
        shown = blocks(fake_slack.posts()[-1])
        assert '"action_id": "silence"' not in shown  # no API: no Silence button
        assert "Show in Alertmanager" in shown  # its UI is still a link away
    assert am.calls("GET", "/api/v2/alerts") == 0


def test_one_pass_at_a_time_across_replicas(
    tmp_path: Path, fake_slack: FakeSlack, clock: FakeClock, postgres: PostgresServer
) -> None:
    am = FakeAlertmanager(now=clock.now())
    url = postgres.new_database()
    with ExitStack() as stack:
        one = start(stack, tmp_path / "a", fake_slack, clock, am, database_url=url)
        two = start(stack, tmp_path / "b", fake_slack, clock, am, database_url=url)
        message = one.fire("db-0")
        am.hold = threading.Event()
        clock.advance(60)
        worker = threading.Thread(target=one.rt.dispatcher.dispatch_due)
        worker.start()
        assert am.holding.wait(10), "the first replica's pass did not start"
        two.rt.dispatcher.dispatch_due()  # the timer is leased: nothing for the second
        two.rt.dispatcher.dispatch_due()
        assert am.calls("GET", "/api/v2/alerts") == 1
        am.hold.set()
        worker.join(30)
        assert "RESOLVED" in message.current_text
        (reply,) = fake_slack.replies(message)
        clock.advance(60)
        two.rt.dispatcher.dispatch_due()  # the next pass, on whichever replica
        one.rt.dispatcher.dispatch_due()
        assert am.calls("GET", "/api/v2/alerts") == 2
        assert fake_slack.replies(message) == [reply]


# -- the rules, on plan() ------------------------------------------------------------


def _candidate(alert_id: int, fingerprint: str, **kw: Any) -> Candidate:
    values: dict[str, Any] = {
        "message_id": 1,
        "alert_id": alert_id,
        "source": "alertmanager",
        "fingerprint": fingerprint,
        "labels": {"alertname": "A", "n": str(alert_id)},
        "links": {},
        "updated_at": 100.0,
    }
    return Candidate(**(values | kw))


def _listing(*alerts: dict[str, Any]) -> Listing:
    parsed = {a["fingerprint"]: ApiAlert.model_validate(a) for a in alerts}
    return Listing(parsed, ("http://am",))


@pytest.mark.parametrize(
    ("candidate", "listed", "warm", "seen", "resolved"),
    [
        # listed, muted: shown so
        (
            _candidate(1, "f1"),
            {"fingerprint": "f1", "status": {"silencedBy": ["s2", "s1"]}},
            True,
            {1: (("s1", "s2"), ())},
            {},
        ),
        # not listed: it ended there
        (_candidate(1, "f1"), None, True, {}, {1: 200.0}),
        # not listed, but Alertmanager just started: not yet
        (_candidate(1, "f1"), None, False, {}, {}),
        # stored after the read began: the webhook knows better
        (_candidate(1, "f1", updated_at=200.0), None, True, {}, {}),
        # Grafana: found by its labels when the fingerprints differ
        (
            _candidate(1, "g1", source="grafana"),
            {"fingerprint": "x", "labels": {"alertname": "A", "n": "1", "__rule__": "u"}},
            True,
            {1: ((), ())},
            {},
        ),
        # Grafana, never seen listed: not resolved on absence alone
        (_candidate(1, "g1", source="grafana"), None, True, {}, {}),
        (_candidate(1, "g1", source="grafana", mirrored_at=50.0), None, True, {}, {1: 200.0}),
    ],
)
def test_plan(
    candidate: Candidate,
    listed: dict[str, Any] | None,
    warm: bool,
    seen: dict[int, Any],
    resolved: dict[int, float],
) -> None:
    listing = _listing(listed) if listed else _listing()
    mirror = plan("am", [candidate], listing, None, 200.0, warm=warm)
    assert (mirror.seen, mirror.resolved) == (seen, resolved)


def test_inhibitors_are_named_by_their_alertname() -> None:
    listing = _listing(
        {"fingerprint": "f1", "status": {"inhibitedBy": ["f9", "gone0123456789"]}},
        {"fingerprint": "f9", "labels": {"alertname": "NodeDown"}},
    )
    mirror = plan("am", [_candidate(1, "f1")], listing, None, 200.0)
    assert mirror.seen == {1: ((), ("NodeDown", "gone01234567"))}
