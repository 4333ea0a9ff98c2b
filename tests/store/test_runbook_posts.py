"""Ticks and answers as the store takes them, on SQLite and PostgreSQL: two replicas on one
database record each click once, in the order they came, and their dispatchers edit the
checklist to what was recorded."""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from router.decide import Ruleset
from router.deliveries import register_all
from router.dispatcher import Dispatcher
from router.metrics import Metrics
from router.render.buttons import Button
from router.render.message import MessageRenderer
from router.slackapp import interactions
from router.slackapp.checklist import posted_steps
from router.store import CHECKLIST_POST, FeedbackQuestion, Store
from router.store.events import STEP_DONE, STEP_FAILED, STEP_SKIPPED, TICKS
from tests.fakes.clock import FakeClock
from tests.fakes.notifier import RecordingNotifier
from tests.helpers import make_alert

JANE, BOB = "U0JANE0001", "U0BOB00001"
CHANNEL, ALERT_TS, CHECKLIST_TS = "C0DBONCALL", "1700000000.000100", "1700000000.000200"
CLICKS = (f"1795320000.{n:06d}" for n in itertools.count(1))


class Replica:
    """One router process: its own engine on the shared database, its own dispatcher."""

    def __init__(
        self, url: str, ruleset: Ruleset, clock: FakeClock, owner: str, slack: RecordingNotifier
    ) -> None:
        self.ruleset = ruleset
        self.store = Store.from_url(url, clock)
        self.store.create_schema()
        self.slack = slack
        metrics = Metrics()
        data = ruleset.config.data
        renderer = MessageRenderer(ruleset.catalog, data.severity.levels, 90)
        self.dispatcher = Dispatcher(
            self.store, metrics, clock=clock, owner=owner, rng=random.Random(1)
        )
        self.dispatcher.channel_interval = 0.0
        register_all(
            self.dispatcher,
            self.store,
            self.slack,
            lambda: renderer,
            metrics,
            ruleset=lambda: ruleset,
        )

    def click(self, action_id: str, value: str, user: str, ts: str = CHECKLIST_TS) -> list[int]:
        """A click as the HTTP layer hands it on (after the signature and replay checks)."""
        action = {"type": "button", "action_id": action_id, "value": value}
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user, "name": user.lower()},
            "trigger_id": "1.2.3",
            "actions": [action | {"action_ts": next(CLICKS)}],
            "container": {"type": "message", "message_ts": ts, "channel_id": CHANNEL},
        }
        return interactions.handle(payload, self.store, self.ruleset, "https://hooks.slack.com/")

    def checklist_edits(self) -> list[str]:
        """The checklist message's edits, in the order Slack got them from either replica
        (the alert message is edited too, before or after it)."""
        calls = self.slack.calls
        return [m.text for kind, _, ts, m in calls if kind == "update" and ts == CHECKLIST_TS]


@pytest.fixture
def replicas(database_url: str, ruleset: Ruleset, clock: FakeClock) -> Iterator[list[Replica]]:
    slack = RecordingNotifier()  # one Slack, which both replicas call
    both = [Replica(database_url, ruleset, clock, f"router-{n}", slack) for n in ("a", "b")]
    store = both[0].store
    alert = make_alert(env="prod")  # db-pool: RUN-001, four steps
    store.ingest([(alert, ruleset.decide(alert))])
    store.record_posted(1, CHANNEL, ALERT_TS)
    runbook = ruleset.catalog.get("RUN-001")
    assert runbook is not None
    post, mine = store.open_checklist(1, "RUN-001", posted_steps(runbook, [alert.labels]), "a:1")
    assert mine
    store.checklist_posted(post, CHECKLIST_TS, f"slack:{JANE}")
    yield both
    for replica in both:
        replica.store.engine.dispose()


def ticks(store: Store) -> list[tuple[int | None, str, str | None]]:
    return [(e.step, e.kind, e.who) for e in store.message_events(1) if e.kind in TICKS]


def test_ticks_from_two_replicas_land_once_each_in_order(
    replicas: list[Replica], clock: FakeClock
) -> None:
    a, b = replicas
    clicks = [
        (a, Button.STEP_DONE, "RUN-001:1", JANE),
        (b, Button.STEP_FAILED, "RUN-001:2", BOB),
        (a, Button.STEP_FAILED, "RUN-001:2", BOB),  # the double click reached the other one
        (b, Button.STEP_DONE, "RUN-001:1", JANE),
        (a, Button.STEP_SKIPPED, "RUN-001:3", BOB),
    ]
    for replica, action_id, value, user in clicks:
        clock.advance(30)
        replica.click(action_id, value, user)
    clock.advance(30)
    # Both replicas take the same click at once, four times each: one tick.
    barrier = threading.Barrier(8)

    def race(replica: Replica) -> None:
        barrier.wait()
        replica.click(Button.STEP_DONE, "RUN-001:4", JANE)

    threads = [threading.Thread(target=race, args=(r,)) for r in (a, b) * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    expected = [
        (1, STEP_DONE, f"slack:{JANE}"),
        (2, STEP_FAILED, f"slack:{BOB}"),
        (3, STEP_SKIPPED, f"slack:{BOB}"),
        (4, STEP_DONE, f"slack:{JANE}"),
    ]
    assert ticks(a.store) == expected
    assert ticks(b.store) == expected
    at = [e.at for e in a.store.message_events(1) if e.kind in TICKS]
    assert at == sorted(at)

    for _ in range(3):  # both deliver what is due; the checklist is edited to what is stored
        a.dispatcher.dispatch_due()
        b.dispatcher.dispatch_due()
    edits = a.checklist_edits()
    assert edits
    assert edits[-1] == "Checklist for RUN-001: 4 of 4 steps ticked"
    assert a.store.outbox_counts().get("pending", 0) == 0


@pytest.mark.parametrize(
    ("action_id", "value", "ts"),
    [
        (Button.STEP_DONE, "RUN-001:5", CHECKLIST_TS),  # RUN-001 has four steps
        (Button.STEP_DONE, "RUN-002:1", CHECKLIST_TS),  # another runbook's step
        (Button.STEP_DONE, "RUN-001:1", ALERT_TS),  # the alert message is no checklist
        (Button.STEP_DONE, "RUN-001:1", "1700000000.999999"),  # no message of ours
        (Button.HELPED, "RUN-001", CHECKLIST_TS),  # a vote belongs on the question
    ],
)
def test_a_click_that_does_not_count_writes_nothing(
    replicas: list[Replica], action_id: str, value: str, ts: str
) -> None:
    a, _ = replicas
    before = (a.store.message_events(1), a.store.outbox_counts())
    assert a.click(action_id, value, JANE, ts) == []
    assert (a.store.message_events(1), a.store.outbox_counts()) == before


def test_a_step_report_and_votes_on_the_question(replicas: list[Replica], clock: FakeClock) -> None:
    a, b = replicas
    runbook = a.ruleset.catalog.get("RUN-001")
    assert runbook is not None
    a.store.record_resolve_notified(1, FeedbackQuestion("RUN-001", posted_steps(runbook, [])))
    a.store.record_resolve_notified(1, FeedbackQuestion("RUN-001", ()))  # asked once
    question = a.store.message_post(1, "feedback")
    assert question is not None
    assert question.steps[1].title == "End long idle-in-transaction sessions"
    a.dispatcher.dispatch_due()  # the question is posted in the thread
    posted = [m.text for kind, _, ts, m in a.slack.calls if kind == "reply"]
    assert posted == ["Did RUN-001 help?"]
    question = a.store.message_post(1, "feedback")
    assert question is not None
    assert question.slack_ts is not None
    assert a.store.record_step_report(question.id, 9, f"slack:{BOB}", "no step 9") is None
    assert a.store.record_step_report(question.id, 2, f"slack:{BOB}", "needs superuser")
    assert b.store.record_step_report(question.id, 2, f"slack:{BOB}", "needs superuser") is None
    checklist = a.store.message_post(1, CHECKLIST_POST)
    assert checklist is not None
    assert a.store.record_vote(checklist.id, "feedback_up", f"slack:{BOB}") is None
