"""Who is on call in what the router sends: the app as served (its on-call lookups, its
dispatcher) against a fake PagerDuty REST API, with an injected clock.

SEV1 here mentions ``oncall:db-primary`` and acknowledges within 5m; the db-pool route
escalates to ``oncall:db-primary``, a PagerDuty schedule.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from router.notifiers.pagerduty import PagerDuty
from router.runtime import Runtime
from tests.fakes.clock import FakeClock
from tests.fakes.notifier import RecordingNotifier
from tests.fakes.pagerduty import FakePagerDuty
from tests.helpers import AUTH, BODY, ROUTES, AppClients, runtime

JANE = "U0JANE0001"
MINUTE = 60.0


def oncall_routes(folder: Path) -> Path:
    data = yaml.safe_load(ROUTES.read_text())
    data["oncall"] = {"db-primary": {"pagerduty": {"schedule": "PSCHED1"}}}
    data["severity"]["levels"]["SEV1"] = {
        "respond": "< 5 min",
        "mention": "oncall:db-primary",
        "ack_within": "5m",
    }
    data["severity"].pop("storm", None)
    for route in data["routes"]:
        if route.get("name") == "db-pool":
            route["escalate_to"] = "oncall:db-primary"
    path = folder / "routes-oncall.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@dataclass
class World:
    client: TestClient
    rt: Runtime
    pd: FakePagerDuty
    slack: RecordingNotifier
    clock: FakeClock

    def fire(self) -> None:
        response = self.client.post("/webhooks/alertmanager", content=BODY, headers=AUTH)
        assert response.status_code == 202

    def deliver(self) -> None:
        self.rt.dispatcher.dispatch_due()

    def after(self, seconds: float) -> None:
        for _ in range(int(seconds // 30)):
            self.clock.advance(30)
            self.deliver()

    def sent(self, action: str) -> list[str]:
        return [m.text for a, _, _, m in self.slack.calls if a == action]


@pytest.fixture
def w(tmp_path: Path, app_client: AppClients) -> Iterator[World]:
    pd = FakePagerDuty()
    slack = RecordingNotifier()
    slack.emails = {JANE: "jane@example.com"}
    clock = FakeClock(datetime(2026, 11, 22, 3, 5, tzinfo=UTC).timestamp())
    pagerduty = PagerDuty("pd-token", "router@example.com", {}, transport=pd.transport)
    client = app_client(
        notifier=slack,
        clock=clock,
        pagerduty=pagerduty,
        run_dispatcher=False,
        config=str(oncall_routes(tmp_path)),
    )
    world = World(client, runtime(client), pd, slack, clock)
    world.rt.dispatcher.channel_interval = 0.0
    yield world
    pd.hang.clear()


def test_the_message_and_the_escalation_mention_the_person_on_call(w: World) -> None:
    w.pd.on_call("PSCHED1", "Jane Doe", "jane@example.com")
    w.fire()
    w.deliver()
    (post,) = w.sent("post")
    assert post.startswith(f"<@{JANE}> [FIRING] SEV1")  # the level's mention, as notified
    assert w.sent("reply") == []
    w.after(6 * MINUTE)
    (reply,) = w.sent("reply")
    assert "Not acknowledged after 5m" in reply
    assert f"Escalate to <@{JANE}> (on call for db-primary until <!date^" in reply


def test_pagerduty_down_the_alert_posts_at_once_and_the_reply_names_the_schedule(
    w: World,
) -> None:
    w.pd.down = True
    w.fire()
    started = time.monotonic()
    w.deliver()
    assert time.monotonic() - started < 2.0
    (post,) = w.sent("post")
    words = "whoever is on call for db-primary (PagerDuty schedule PSCHED1)"
    assert post.startswith(f"{words} [FIRING] SEV1")
    w.after(6 * MINUTE)
    (reply,) = w.sent("reply")
    assert f"Escalate to {words}." in reply


def test_a_pagerduty_that_hangs_never_holds_the_message_back(w: World) -> None:
    w.pd.on_call("PSCHED1", "Jane Doe", "jane@example.com")
    w.pd.hang.set()
    w.fire()
    started = time.monotonic()
    w.deliver()
    took = time.monotonic() - started
    (post,) = w.sent("post")
    assert took < 2.5  # the lookup's short wait, not PagerDuty's timeout
    assert post.startswith("whoever is on call for db-primary")
    w.pd.hang.clear()
