"""Retention on both backends: history made by the real ingest path, aged by the fake
clock, pruned in bounded batches; nothing a live thing needs goes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from router.alert import Alert
from router.decide import Ruleset
from router.records import SilenceNotice
from router.store import IngestPolicy, NewSilence, PostedStep, Pruned, SilenceFacts, Store
from router.store import ingest as ingest_module
from router.store.kinds import EventKind, MessageKind, OutboxKind, OutboxState
from router.store.schema import (
    READ_ONLY,
    actions,
    alerts,
    heartbeats,
    members,
    message_events,
    messages,
    outbox,
    runbook_posts,
    silences,
)
from router.storm import StormPolicy
from tests.fakes.clock import FakeClock
from tests.fakes.postgres import PostgresServer
from tests.helpers import make_alert

DAY = 86400.0
KEEP = 180 * DAY
KEEP_OUTBOX = 7 * DAY
STORM = StormPolicy(alerts=5, within=300.0, level="SEV1", channel="#incidents")


def db_alert(instance: str, **kw: Any) -> Alert:
    """An alert of the db-pool route (#db-oncall, RUN-001, SEV1), grouped by ``group_key``."""
    return make_alert(env="prod", severity="critical", instance=instance, **kw)


def ingest(store: Store, ruleset: Ruleset, *batch: Alert, **kw: Any) -> None:
    store.ingest([(a, ruleset.decide(a)) for a in batch], **kw)


def resolved(alert: Alert) -> Alert:
    return alert.model_copy(update={"status": "resolved"})


def again(alert: Alert, starts_at: str) -> Alert:
    """The same alert firing anew (a later start)."""
    return alert.model_copy(update={"starts_at": datetime.fromisoformat(starts_at)})


def deliver(store: Store) -> None:
    """Every entry due now delivered (done), as a dispatcher with a working Slack would."""
    for item in store.claim("test", 60, limit=500).items:
        store.complete(item, item.version)


def reading(store: Store) -> sa.Connection:
    """A connection that only reads (SQLite: it takes no write lock)."""
    return store.engine.connect().execution_options(**{READ_ONLY: True})


def count(store: Store, table: sa.Table, *where: Any) -> int:
    with reading(store) as conn:
        query = sa.select(sa.func.count()).select_from(table).where(*where)
        return int(conn.execute(query).scalar_one())


def ids(store: Store, table: sa.Table, *where: Any) -> set[int]:
    with reading(store) as conn:
        return set(conn.execute(sa.select(table.c.id).where(*where)).scalars())


def message_of(store: Store, group_key: str) -> int:
    (message_id,) = ids(store, messages, messages.c.group_key == group_key)
    return message_id


def alert_id(store: Store, alert: Alert) -> int:
    (found,) = ids(store, alerts, alerts.c.fingerprint == alert.fingerprint)
    return found


def prune(
    store: Store,
    clock: FakeClock,
    batch: int = 500,
    keep: float | None = KEEP,
    keep_outbox: float | None = KEEP_OUTBOX,
) -> Pruned:
    now = clock.now()
    return store.prune_history(
        now - keep if keep is not None else None,
        now - keep_outbox if keep_outbox is not None else None,
        batch,
    )


def prune_all(store: Store, clock: FakeClock, batch: int = 500) -> dict[str, int]:
    """Passes until one leaves nothing behind; the rows deleted by table."""
    total: dict[str, int] = {}
    for _ in range(50):
        pruned = prune(store, clock, batch)
        for table, rows in pruned.deleted.items():
            total[table] = total.get(table, 0) + rows
        if not pruned.more:
            return total
    raise AssertionError("retention never caught up")


def old_group(store: Store, ruleset: Ruleset, group: str, *instances: str) -> list[Alert]:
    """A group that fired, was posted, resolved and was posted resolved."""
    fired = [db_alert(i, group_key=group) for i in instances]
    ingest(store, ruleset, *fired)
    deliver(store)
    ingest(store, ruleset, *[resolved(a) for a in fired])
    deliver(store)
    return fired


def fresh(store: Store, ruleset: Ruleset, clock: FakeClock) -> int:
    """A group firing now, with a timeline event: the newest rows of the tables."""
    ingest(store, ruleset, db_alert("fresh-1", group_key="fresh"))
    message_id = message_of(store, "fresh")
    store.record_event(message_id, EventKind.ACKNOWLEDGED, clock.now(), "jane")
    return message_id


def test_an_old_resolved_group_goes_with_everything_that_hangs_off_it(
    store: Store, ruleset: Ruleset, clock: FakeClock
) -> None:
    fired = old_group(store, ruleset, "old", "db-1", "db-2")
    old = message_of(store, "old")
    store.record_event(old, EventKind.ACKNOWLEDGED, clock.now(), "jane")
    store.open_checklist(old, "RUN-001", [PostedStep(1, "Look")], "action-1")
    clock.advance(KEEP + DAY)
    live = fresh(store, ruleset, clock)
    store.open_checklist(live, "RUN-001", [PostedStep(1, "Look")], "action-2")
    old_alerts = {alert_id(store, a) for a in fired}

    deleted = prune_all(store, clock)

    assert ids(store, messages) == {live}
    assert count(store, members, members.c.message_id == old) == 0
    assert count(store, message_events, message_events.c.message_id == old) == 0
    assert count(store, runbook_posts, runbook_posts.c.message_id == old) == 0
    assert count(store, outbox, outbox.c.ref == old, outbox.c.kind == OutboxKind.SLACK_MESSAGE) == 0
    assert ids(store, alerts) & old_alerts == set()
    assert deleted == {
        "outbox": 1,
        "messages": 1,
        "message_alerts": 2,
        "message_events": 1,
        "runbook_posts": 1,
        "alerts": 2,
    }
    # The live group is whole.
    assert count(store, members, members.c.message_id == live) == 1
    assert count(store, message_events, message_events.c.message_id == live) == 1
    assert count(store, outbox, outbox.c.ref == live) == 1


def test_history_younger_than_its_time_stays(
    store: Store, ruleset: Ruleset, clock: FakeClock
) -> None:
    old_group(store, ruleset, "recent", "db-1")
    clock.advance(KEEP - DAY)
    fresh(store, ruleset, clock)
    assert prune_all(store, clock) == {"outbox": 1}  # the finished entry's own 7 days
    assert count(store, messages) == 2
    assert count(store, alerts) == 2


def test_nothing_live_goes(store: Store, ruleset: Ruleset, clock: FakeClock) -> None:
    """Each group here began half a year ago or more, and something live still needs it."""
    # Firing all along, in its open message.
    firing = db_alert("db-1", group_key="firing")
    ingest(store, ruleset, firing)
    # Closed long ago, and its alert fires again now (in a message of its own).
    refired = old_group(store, ruleset, "refired", "db-2")[0]
    # Closed long ago, its alert fired again and resolved a day ago.
    recent = old_group(store, ruleset, "recent", "db-3")[0]
    # Closed long ago, with a silence Alertmanager still has.
    silenced = old_group(store, ruleset, "silenced", "db-5")
    facts = SilenceFacts("s-1", ['instance="db-5"'], "jane", "resize", clock.now(), clock.now())
    silenced_id = alert_id(store, silenced[0])
    store.record_silence(
        NewSilence(message_of(store, "silenced"), "am", facts, "U1", [silenced_id])
    )
    deliver(store)
    # Closed long ago, and Slack never took it: its entry waits for a retry.
    undelivered = db_alert("db-4", group_key="undelivered")
    ingest(store, ruleset, undelivered)
    ingest(store, ruleset, resolved(undelivered))
    (entry,) = store.claim("test", 60).items
    store.retry_later(entry, clock.now() + 3 * KEEP, "slack_down", "Slack is away")
    # Held by its route's time intervals, and resolved while held.
    held = db_alert("db-6", group_key="held")
    until = clock.now() + 3 * KEEP
    store.ingest([(held, [replace(d, held_until=until) for d in ruleset.decide(held)])])
    ingest(store, ruleset, resolved(held))
    # A heartbeat's alarm (resolved by hand here: the heartbeat still names it).
    alarm = old_group(store, ruleset, "alarm", "db-7")[0]
    alarm_id = alert_id(store, alarm)
    with store.engine.begin() as conn:
        conn.execute(
            heartbeats.insert().values(
                route="db-pool",
                interval=600.0,
                last_seen=clock.now(),
                alarm_alert_id=alarm_id,
                updated_at=clock.now(),
            )
        )
    # And one that nothing needs.
    gone = old_group(store, ruleset, "gone", "db-8")[0]
    clock.advance(KEEP + DAY)
    ingest(store, ruleset, refired, recent)  # each with a new message
    clock.advance(KEEP - DAY)
    ingest(store, ruleset, firing, resolved(recent))  # firing still; recent resolves
    deliver(store)
    clock.advance(DAY)
    fresh(store, ruleset, clock)  # the newest rows
    every_alert, gone_id = ids(store, alerts), alert_id(store, gone)

    deleted = prune_all(store, clock)

    assert _group_keys(store) == {
        "firing": 1,
        "refired": 2,
        "recent": 2,
        "silenced": 1,
        "undelivered": 1,
        "fresh": 1,
        # "alarm" and "gone": closed long ago, and their alerts resolved as long ago
    }
    assert ids(store, alerts) == every_alert - {gone_id}
    assert deleted["messages"] == 2
    assert deleted["alerts"] == 1
    assert _silence_names(store) == {"s-1"}
    pending = count(store, outbox, outbox.c.state == OutboxState.PENDING)
    assert pending == 3  # undelivered, the hold, fresh


def _group_keys(store: Store) -> dict[str, int]:
    with reading(store) as conn:
        rows = conn.execute(
            sa.select(messages.c.group_key, sa.func.count()).group_by(messages.c.group_key)
        )
        return {key: int(n) for key, n in rows}


def test_a_message_with_a_member_firing_or_resolved_lately_stays(
    store: Store, ruleset: Ruleset, clock: FakeClock
) -> None:
    """Two alerts of one group in two messages (the second opened after the first closed):
    the first closed long ago, the second lists one alert firing, one resolved lately."""
    a, b = db_alert("db-1", group_key="g"), db_alert("db-2", group_key="g")
    ingest(store, ruleset, a, b)
    ingest(store, ruleset, resolved(a), resolved(b))
    deliver(store)
    (first,) = ids(store, messages)
    clock.advance(KEEP + DAY)
    ingest(store, ruleset, again(a, "2027-05-01T00:00:00Z"))
    deliver(store)
    fresh(store, ruleset, clock)
    assert first in ids(store, messages)
    prune_all(store, clock)
    assert first in ids(store, messages)  # a is firing: the first still lists it
    ingest(store, ruleset, resolved(a))
    clock.advance(KEEP - DAY)
    prune_all(store, clock)
    assert first in ids(store, messages)  # a resolved less than its time ago
    clock.advance(2 * DAY)
    fresh_again = db_alert("fresh-2", group_key="fresh-2")
    ingest(store, ruleset, fresh_again)
    prune_all(store, clock)
    assert first not in ids(store, messages)
    assert count(store, alerts, alerts.c.fingerprint == b.fingerprint) == 0


def a_storm_that_resolved(store: Store, ruleset: Ruleset) -> None:
    """More alerts than STORM needs, at once: a storm, with its pointers; then all resolve."""
    storm_alerts = [
        make_alert("KubePodCrashLooping", group_key=f"g{i}", severity="warning", pod=f"p{i}")
        for i in range(STORM.alerts + 2)
    ]
    policy = IngestPolicy(storm=STORM)
    store.ingest([(a, ruleset.decide(a)) for a in storm_alerts], policy=policy)
    store.ingest([(resolved(a), ruleset.decide(a)) for a in storm_alerts], policy=policy)


def test_a_storm_stays_until_it_ended_and_its_pointers_went(
    store: Store, ruleset: Ruleset, clock: FakeClock
) -> None:
    a_storm_that_resolved(store, ruleset)
    deliver(store)
    (storm,) = ids(store, messages, messages.c.kind == MessageKind.STORM)
    pointers = ids(store, messages, messages.c.kind == MessageKind.POINTER)
    assert pointers
    clock.advance(KEEP + DAY)
    fresh(store, ruleset, clock)

    prune_all(store, clock)
    assert storm in ids(store, messages)  # closed, but not ended
    assert not pointers & ids(store, messages)  # a pointer goes when closed long enough

    store.end_storms()
    deliver(store)
    clock.advance(KEEP + DAY)
    fresh(store, ruleset, clock)
    prune(store, clock)
    assert storm not in ids(store, messages)
    assert count(store, members, members.c.message_id == storm) == 0


def test_a_storm_is_kept_while_a_pointer_is_left(
    store: Store, ruleset: Ruleset, clock: FakeClock
) -> None:
    a_storm_that_resolved(store, ruleset)
    clock.advance(STORM.within + 1)
    store.end_storms()
    deliver(store)
    (storm,) = ids(store, messages, messages.c.kind == MessageKind.STORM)
    clock.advance(KEEP + DAY)
    fresh(store, ruleset, clock)

    first = prune(store, clock)
    assert first.deleted["messages"] >= 1  # the pointers (and the groups)
    assert storm in ids(store, messages)  # it had a pointer when the batch was chosen
    prune(store, clock)
    assert storm not in ids(store, messages)


def test_silences_go_when_ended_long_ago(store: Store, ruleset: Ruleset, clock: FakeClock) -> None:
    """A message's expired silence goes with it; one Alertmanager still has keeps it;
    the reconciler's silences (no message's) go once ended long ago."""
    expired = old_group(store, ruleset, "expired", "db-1")
    active = old_group(store, ruleset, "active", "db-2")
    for name, group, state in (("s-1", expired, "expired"), ("s-2", active, "active")):
        facts = SilenceFacts(name, ["x"], "jane", "why", clock.now(), clock.now() + 60, state)
        message_id = message_of(store, group[0].group_key)
        store.record_silence(NewSilence(message_id, "am", facts, "U1", []))
    deliver(store)
    with store.engine.begin() as conn:
        for name, state, ends_at in (
            ("r-old", "expired", clock.now()),
            ("r-active", "active", clock.now()),
            ("r-recent", "expired", clock.now() + KEEP),
            ("r-newest", "expired", clock.now()),  # the newest row of the table
        ):
            conn.execute(silences.insert().values(_reconciled(name, state, ends_at, clock.now())))
    clock.advance(KEEP + DAY)
    fresh(store, ruleset, clock)

    prune_all(store, clock)

    names = _silence_names(store)
    assert names == {"s-2", "r-active", "r-recent", "r-newest"}
    assert message_of(store, "active") in ids(store, messages)
    assert count(store, messages, messages.c.group_key == "expired") == 0


def _reconciled(name: str, state: str, ends_at: float, now: float) -> dict[str, Any]:
    return {
        "alertmanager": "am",
        "silence_id": name,
        "matchers": ["x"],
        "created_by": "jane",
        "comment": "why",
        "starts_at": now,
        "ends_at": ends_at,
        "state": state,
        "created_at": now,
        "updated_at": now,
    }


def _silence_names(store: Store) -> set[str]:
    with reading(store) as conn:
        return set(conn.execute(sa.select(silences.c.silence_id)).scalars())


def test_the_newest_row_of_each_table_stays(
    store: Store, ruleset: Ruleset, clock: FakeClock
) -> None:
    """SQLite gives a new row the largest id plus one: deleting the newest would let its
    id come back meaning another row."""
    first = old_group(store, ruleset, "first", "db-1")[0]
    second = old_group(store, ruleset, "second", "db-2")[0]
    store.record_event(message_of(store, "first"), EventKind.ACKNOWLEDGED, clock.now(), "jane")
    clock.advance(KEEP + DAY)

    prune_all(store, clock)

    # second is the newest message and alert; first has the newest event.
    assert {message_of(store, "first"), message_of(store, "second")} == ids(store, messages)
    assert alert_id(store, second) in ids(store, alerts)
    assert alert_id(store, first) in ids(store, alerts)  # listed by a kept message
    assert count(store, message_events) == 1
    assert count(store, outbox) >= 1  # the newest entry


def test_batches_are_bounded_and_a_later_pass_finishes(
    store: Store, ruleset: Ruleset, clock: FakeClock
) -> None:
    for n in range(5):
        old_group(store, ruleset, f"g{n}", f"db-{n}")
    clock.advance(KEEP + DAY)
    live = fresh(store, ruleset, clock)

    first = prune(store, clock, batch=2)
    assert first.more
    assert first.deleted["outbox"] == 2
    assert first.deleted["messages"] == 2
    assert first.deleted["alerts"] == 2  # those of the messages this pass took
    passes = [prune(store, clock, batch=2) for _ in range(2)]
    assert [p.more for p in passes] == [True, False]  # 2 more, then the last 1
    assert ids(store, messages) == {live}
    assert count(store, alerts) == 1
    assert prune(store, clock, batch=2) == Pruned()


def test_outbox_retention_keeps_the_entries_live_things_need(
    store: Store, ruleset: Ruleset, clock: FakeClock
) -> None:
    """An open message's response clock (a fresh one would start the clock again) and a
    firing alert's PagerDuty note (posted once per incident) stay; other finished
    entries go after ROUTER_OUTBOX_RETENTION, a button's work with its entry."""
    open_alert = db_alert("db-1", group_key="open")
    ingest(store, ruleset, open_alert, policy=IngestPolicy(first_look={"SEV1": 0.0}))
    incident = make_alert(
        "High error rate", source="pagerduty", group_key="pd", service="Checkout API"
    ).model_copy(update={"pagerduty_incident": "P1"})
    ingest(store, ruleset, incident, policy=IngestPolicy(pagerduty_notes=True))
    open_message = message_of(store, "open")
    notice = SilenceNotice(user_id="U1", message_id=open_message, silence=1, what="created")
    old_action = store.enqueue_action(notice)
    deliver(store)
    assert count(store, outbox, outbox.c.kind == OutboxKind.RESPONSE_CLOCK) == 1
    assert count(store, outbox, outbox.c.kind == OutboxKind.PAGERDUTY_NOTE) == 1
    clock.advance(KEEP_OUTBOX + DAY)
    new_action = store.enqueue_action(notice)
    deliver(store)  # the newest action: done now, and the newest row of its table anyway

    pruned = prune(store, clock, keep=None)

    assert pruned.deleted == {"outbox": 3, "actions": 1}  # 2 Slack messages, 1 action
    kinds = {kind for kind, _ in _entries(store)}
    assert kinds == {OutboxKind.RESPONSE_CLOCK, OutboxKind.PAGERDUTY_NOTE, OutboxKind.SLACK_ACTION}
    assert ids(store, actions) == {new_action}
    assert old_action not in ids(store, actions)
    assert count(store, messages) == 2  # ROUTER_RETENTION off: history is kept

    # Once the message closed and the incident resolved, those go too.
    ingest(store, ruleset, resolved(open_alert), policy=IngestPolicy(first_look={"SEV1": 0.0}))
    ingest(store, ruleset, resolved(incident), policy=IngestPolicy(pagerduty_notes=True))
    deliver(store)
    clock.advance(KEEP_OUTBOX + DAY)
    prune(store, clock, keep=None)
    kinds = {kind for kind, _ in _entries(store)}
    assert OutboxKind.PAGERDUTY_NOTE not in kinds
    assert OutboxKind.RESPONSE_CLOCK not in kinds


def _entries(store: Store) -> set[tuple[str, int]]:
    with reading(store) as conn:
        return {(r.kind, r.ref) for r in conn.execute(sa.select(outbox.c.kind, outbox.c.ref))}


def test_a_pruned_alert_firing_again_is_new_and_posted(
    store: Store, ruleset: Ruleset, clock: FakeClock
) -> None:
    alert = old_group(store, ruleset, "again", "db-1")[0]
    before = alert_id(store, alert)
    old_message = message_of(store, "again")
    clock.advance(KEEP + DAY)
    fresh(store, ruleset, clock)
    prune_all(store, clock)
    assert before not in ids(store, alerts)
    largest = max(ids(store, alerts) | ids(store, messages))

    later = again(alert, "2027-06-01T00:00:00Z")
    result = store.ingest([(later, ruleset.decide(later))])

    assert result.changed_messages == 1
    now_id = alert_id(store, later)
    message_id = message_of(store, "again")
    assert now_id > before
    assert message_id != old_message
    assert min(now_id, message_id) > min(largest, before)
    items = [i for i in store.claim("test", 60).items if i.kind == OutboxKind.SLACK_MESSAGE]
    assert message_id in {i.ref for i in items}  # with the fresh group's, never posted
    view = store.load_message(message_id)
    assert view is not None
    assert [m.labels["instance"] for m in view.members] == ["db-1"]
    assert not view.closed


def test_off_keeps_everything(store: Store, ruleset: Ruleset, clock: FakeClock) -> None:
    for n in range(3):
        old_group(store, ruleset, f"g{n}", f"db-{n}")
    clock.advance(10 * KEEP)
    fresh(store, ruleset, clock)
    before = {t.name: count(store, t) for t in (alerts, messages, members, outbox)}
    assert prune(store, clock, keep=None, keep_outbox=None) == Pruned()
    assert {t.name: count(store, t) for t in (alerts, messages, members, outbox)} == before


@pytest.fixture
def pg_store(postgres: PostgresServer, clock: FakeClock) -> Iterator[Store]:
    """PostgreSQL alone: the races below need two writers (SQLite has one at a time)."""
    store = Store.from_url(postgres.new_database(), clock)
    store.create_schema()
    yield store
    store.engine.dispose()


def test_a_row_another_transaction_holds_is_left_for_the_next_pass(
    pg_store: Store, ruleset: Ruleset, clock: FakeClock
) -> None:
    """A message a write holds is skipped at once (SKIP LOCKED), not waited for."""
    store = pg_store
    old_group(store, ruleset, "held", "db-1")
    old_group(store, ruleset, "free", "db-2")
    clock.advance(KEEP + DAY)
    fresh(store, ruleset, clock)
    held = message_of(store, "held")
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.engine.begin() as conn:
            conn.execute(sa.select(messages.c.id).where(messages.c.id == held).with_for_update())
            locked.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(30)
        prune_all(store, clock)
        assert held in ids(store, messages)
        assert count(store, messages, messages.c.group_key == "free") == 0
    finally:
        release.set()
        holder.join()
    prune_all(store, clock)
    assert held not in ids(store, messages)


def test_an_alert_firing_again_as_retention_deletes_it_is_stored_anew(
    pg_store: Store, ruleset: Ruleset, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ingest found the old row, then a replica's pass deleted it before the ingest
    wrote: the write fails on the gone row and the ingest's retry stores the alert anew."""
    store = pg_store
    alert = old_group(store, ruleset, "race", "db-1")[0]
    old_id = alert_id(store, alert)
    clock.advance(KEEP + DAY)
    fresh(store, ruleset, clock)
    real = ingest_module.Ingest._existing_alerts
    passes: list[Pruned] = []

    def meanwhile_pruned(self: Any, batch: Any) -> Any:
        found = real(self, batch)
        if not passes:  # another replica's pass, committed while this one goes on
            pruner = threading.Thread(target=lambda: passes.append(prune(store, clock)))
            pruner.start()
            pruner.join(30)
        return found

    monkeypatch.setattr(ingest_module.Ingest, "_existing_alerts", meanwhile_pruned)
    later = again(alert, "2027-06-01T00:00:00Z")
    result = store.ingest([(later, ruleset.decide(later))])

    assert passes[0].deleted["alerts"] == 1  # the old row went under the ingest
    assert result.changed_messages == 1
    assert old_id not in ids(store, alerts)
    assert _group_keys(store) == {"race": 1, "fresh": 1}
    view = store.load_message(message_of(store, "race"))
    assert view is not None
    assert [m.alert_id for m in view.members] == [alert_id(store, later)]
