from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from router.alert import Alert
from router.decide import Ruleset
from router.sources import SOURCES
from router.store import SLACK_MESSAGE, STALE_REDELIVERY_WINDOW, Store, views_of, writes
from router.store.schema import alerts, deliveries
from tests.fakes.clock import FakeClock
from tests.helpers import GOLDEN, RUNBOOKS, make_alert


def ingest(store: Store, ruleset: Ruleset, *alerts: Alert) -> tuple[int, int]:
    result = store.ingest([(a, ruleset.decide(a)) for a in alerts])
    return result.changed_messages, result.ignored


def db_alert(instance: str, **kw: Any) -> Alert:
    return make_alert(env="prod", severity="critical", instance=instance, **kw)


def test_alerts_of_one_group_share_one_message(store: Store, ruleset: Ruleset) -> None:
    assert ingest(store, ruleset, db_alert("db-1"), db_alert("db-2")) == (1, 0)
    (item,) = store.claim("me", 60).items
    view = store.load_message(item.ref)
    assert view is not None
    assert (view.channel, view.runbook.id, view.level, view.version) == (
        "#db-oncall",
        "RUN-001",
        "SEV1",
        1,
    )
    assert [m.labels["instance"] for m in view.members] == ["db-1", "db-2"]


def test_a_repeat_changes_nothing(store: Store, ruleset: Ruleset) -> None:
    ingest(store, ruleset, db_alert("db-1"))
    (item,) = store.claim("me", 60).items
    store.complete(item, 1)
    assert ingest(store, ruleset, db_alert("db-1")) == (0, 0)
    assert store.claim("me", 60).items == []
    assert store.recent_alerts()[0].repeats == 1


def test_a_joining_alert_bumps_the_message_version(store: Store, ruleset: Ruleset) -> None:
    ingest(store, ruleset, db_alert("db-1"))
    (item,) = store.claim("me", 60).items
    store.complete(item, 1)
    assert ingest(store, ruleset, db_alert("db-1"), db_alert("db-2")) == (1, 0)
    (again,) = store.claim("me", 60).items
    assert again.ref == item.ref
    assert again.version == 2


def test_change_during_delivery_keeps_the_entry_pending(store: Store, ruleset: Ruleset) -> None:
    ingest(store, ruleset, db_alert("db-1"))
    (item,) = store.claim("me", 60).items
    ingest(store, ruleset, db_alert("db-2"))  # arrives while v1 is being sent
    store.complete(item, 1)
    (again,) = store.claim("me", 60).items
    assert again.version == 2


def test_resolving_the_last_alert_closes_the_message(store: Store, ruleset: Ruleset) -> None:
    ingest(store, ruleset, db_alert("db-1"), db_alert("db-2"))
    ingest(store, ruleset, db_alert("db-1", status="resolved", ends_at="2026-11-22T01:10:00Z"))
    (item,) = store.claim("me", 60).items
    view = store.load_message(item.ref)
    assert view is not None
    assert not view.closed
    assert [m.status for m in view.members] == ["resolved", "firing"]
    store.complete(item, view.version)
    ingest(store, ruleset, db_alert("db-2", status="resolved"))
    (item,) = store.claim("me", 60).items
    view = store.load_message(item.ref)
    assert view is not None
    assert view.closed
    assert not view.resolve_notified


def test_stale_firing_redelivery_after_resolve_is_ignored(
    store: Store, ruleset: Ruleset, clock: FakeClock
) -> None:
    """An HA peer's late copy of the firing notification, just after the resolve."""
    ingest(store, ruleset, db_alert("db-1"))
    ingest(store, ruleset, db_alert("db-1", status="resolved"))
    clock.advance(STALE_REDELIVERY_WINDOW / 2)
    ingest(store, ruleset, db_alert("db-1", status="resolved"))  # repeats keep the first time
    clock.advance(STALE_REDELIVERY_WINDOW / 2 - 1)
    assert ingest(store, ruleset, db_alert("db-1")) == (0, 1)


def test_same_starts_at_firing_later_is_firing_again(
    store: Store, ruleset: Ruleset, clock: FakeClock
) -> None:
    """Prometheus keeps activeAt across restarts: after Alertmanager resolved the alert
    during an outage, the re-fire has the old startsAt. It must not be dropped."""
    ingest(store, ruleset, db_alert("db-1"))
    ingest(store, ruleset, db_alert("db-1", status="resolved"))
    first = {i.ref for i in store.claim("me", 60).items}
    clock.advance(STALE_REDELIVERY_WINDOW + 1)
    assert ingest(store, ruleset, db_alert("db-1")) == (1, 0)
    assert {i.ref for i in store.claim("other", 60).items}.isdisjoint(first)


def test_refiring_after_resolve_opens_a_new_message(store: Store, ruleset: Ruleset) -> None:
    ingest(store, ruleset, db_alert("db-1"))
    ingest(store, ruleset, db_alert("db-1", status="resolved"))
    first = {i.ref for i in store.claim("me", 60).items}
    assert ingest(store, ruleset, db_alert("db-1", starts_at="2026-11-22T02:00:00Z")) == (1, 0)
    second = {i.ref for i in store.claim("other", 60).items}
    assert second
    assert second.isdisjoint(first)


def test_resolve_of_an_unknown_alert_posts_nothing(store: Store, ruleset: Ruleset) -> None:
    assert ingest(store, ruleset, db_alert("db-9", status="resolved")) == (0, 0)
    assert store.claim("me", 60).items == []
    assert store.recent_alerts()[0].status == "resolved"


def test_continue_routes_give_one_message_per_channel(store: Store, tmp_path: Path) -> None:
    from router.decide import load_ruleset

    routes = tmp_path / "routes.yaml"
    routes.write_text(
        "routes:\n"
        "  - {name: copy, matchers: ['severity=\"critical\"'], channel: '#incidents', continue: true}\n"
        "  - {name: db, matchers: ['alertname=\"DatabaseConnectionPoolHigh\"'], channel: '#db', runbook: RUN-001}\n",
        encoding="utf-8",
    )
    rules = load_ruleset(routes, RUNBOOKS)
    assert ingest(store, rules, db_alert("db-1")) == (2, 0)
    channels = sorted(
        v.channel for i in store.claim("me", 60).items if (v := store.load_message(i.ref))
    )
    assert channels == ["#db", "#incidents"]


def test_leases_keep_an_entry_from_two_owners(
    store: Store, ruleset: Ruleset, clock: FakeClock
) -> None:
    ingest(store, ruleset, db_alert("db-1"))
    assert len(store.claim("a", 60).items) == 1
    assert store.claim("b", 60).items == []
    clock.advance(61)  # a crashed; its lease ran out
    assert len(store.claim("b", 60).items) == 1


def test_release_leases_frees_entries_at_start(store: Store, ruleset: Ruleset) -> None:
    ingest(store, ruleset, db_alert("db-1"))
    store.claim("dead-process", 600)
    store.release_leases()
    assert len(store.claim("new-process", 60).items) == 1


def test_the_group_level_is_the_most_severe_member(store: Store, ruleset: Ruleset) -> None:
    warn = make_alert("QueueDepthHigh", severity="warning", queue="a")
    crit = make_alert("QueueDepthHigh", severity="critical", queue="b")
    ingest(store, ruleset, warn)
    ingest(store, ruleset, crit)
    (item,) = store.claim("me", 60).items
    view = store.load_message(item.ref)
    assert view is not None
    assert view.level == "SEV1"


def pd(name: str) -> Alert:
    from router.sources import pagerduty

    (alert,) = pagerduty.parse(json.loads((GOLDEN / f"sources/pagerduty/{name}.json").read_text()))
    return alert


def test_acknowledgement_and_priority_update_edit_the_message(
    store: Store, ruleset: Ruleset
) -> None:
    ingest(store, ruleset, pd("incident-triggered"))
    (item,) = store.claim("me", 60).items
    store.complete(item, item.version)
    view = store.load_message(item.ref)
    assert view is not None
    assert (view.level, view.members[0].ack_by) == ("SEV1", None)  # priority P2 -> SEV1

    assert ingest(store, ruleset, pd("incident-acknowledged")) == (1, 0)
    (item,) = store.claim("me", 60).items
    store.complete(item, item.version)
    view = store.load_message(item.ref)
    assert view is not None
    assert view.members[0].ack_by == "Jane Oncall"

    # P1 now, and still acknowledged (the event does not say by whom: keep the name).
    assert ingest(store, ruleset, pd("incident-priority-updated")) == (1, 0)
    (item,) = store.claim("me", 60).items
    view = store.load_message(item.ref)
    assert view is not None
    assert (view.level, view.members[0].level, view.members[0].ack_by) == (
        "SEV0",
        "SEV0",
        "Jane Oncall",
    )
    assert view.members[0].reason == "priority=P1 -> SEV0 (pagerduty map)"


def test_level_goes_down_when_the_most_severe_alert_resolves(
    store: Store, ruleset: Ruleset
) -> None:
    ingest(store, ruleset, make_alert("QueueDepthHigh", severity="critical", queue="a"))
    ingest(store, ruleset, make_alert("QueueDepthHigh", severity="warning", queue="b"))
    ingest(
        store,
        ruleset,
        make_alert("QueueDepthHigh", severity="critical", queue="a", status="resolved"),
    )
    (item,) = store.claim("me", 60).items
    view = store.load_message(item.ref)
    assert view is not None
    assert view.level == "SEV3"


def test_a_delivery_id_is_handled_once(store: Store, ruleset: Ruleset) -> None:
    alert = pd("incident-triggered")
    first = store.ingest([(alert, ruleset.decide(alert))], delivery=("pagerduty", "wh-1"))
    again = store.ingest([(alert, ruleset.decide(alert))], delivery=("pagerduty", "wh-1"))
    assert (first.duplicate, again.duplicate) == (False, True)
    assert store.recent_alerts()[0].repeats == 0
    other_source = store.ingest([(alert, ruleset.decide(alert))], delivery=("datadog", "wh-1"))
    assert not other_source.duplicate


def test_old_delivery_ids_are_pruned(store: Store, ruleset: Ruleset, clock: FakeClock) -> None:
    alert = pd("incident-triggered")
    store.ingest([(alert, ruleset.decide(alert))], delivery=("pagerduty", "wh-old"))
    clock.advance(100)
    assert store.prune_deliveries(clock.now() - 50) == 1
    assert not store.ingest(
        [(alert, ruleset.decide(alert))], delivery=("pagerduty", "wh-old")
    ).duplicate


def test_sqlite_reads_do_not_wait_for_a_writer(tmp_path: Path, clock: FakeClock) -> None:
    """A transaction holds SQLite's write lock; a read through the store goes on regardless."""
    store = Store.from_url(f"sqlite:///{tmp_path}/router.db", clock)
    store.create_schema()
    writer = sqlite3.connect(tmp_path / "router.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # the write lock, held until released below
    done = threading.Event()

    def read() -> None:
        store.outbox_counts()
        store.next_due()
        done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    # Not a timing bound: a read that waited for the lock would wait its 30 s busy timeout.
    finished = done.wait(timeout=20)
    writer.execute("ROLLBACK")
    writer.close()
    reader.join()
    store.engine.dispose()
    assert finished


def test_sqlite_reads_go_on_while_a_write_is_held(
    tmp_path: Path, ruleset: Ruleset, clock: FakeClock
) -> None:
    """Pages and the dispatcher read while a webhook's transaction holds the writer.

    The read sees what was committed before the write began, and never waits for it.
    """
    store = Store.from_url(f"sqlite:///{tmp_path}/router.db", clock)
    store.create_schema()
    first = make_alert("First", env="prod")
    store.ingest([(first, ruleset.decide(first))])
    writing, release = threading.Event(), threading.Event()

    def hold_the_writer() -> None:
        with store._tx() as conn:  # what a webhook's ingest holds
            conn.execute(sa.text("UPDATE alerts SET repeats = repeats + 1"))
            writing.set()
            release.wait(60)

    writer = threading.Thread(target=hold_the_writer)
    writer.start()
    try:
        assert writing.wait(30)
        seen: list[Any] = []
        reader = threading.Thread(
            target=lambda: seen.append(
                (store.recent_alerts()[0].repeats, store.outbox_counts(), store.load_message(1))
            )
        )
        reader.start()
        reader.join(30)  # a read that waited for the writer would still be waiting here
        assert not reader.is_alive(), "the read waited for the held write"
        repeats, counts, view = seen[0]
        assert (repeats, counts) == (0, {"pending": 1})
        assert view is not None
        assert view.members[0].name == "First"
    finally:
        release.set()
        writer.join()
    assert store.recent_alerts()[0].repeats == 1
    store.engine.dispose()


def test_messages_built_in_memory_are_the_ones_stored(
    store: Store, ruleset: Ruleset, clock: FakeClock
) -> None:
    """``preview`` draws ``views_of``: the same messages a first ingest stores."""
    data = json.loads((GOLDEN / "sources/alertmanager/firing-group.json").read_text("utf-8"))
    alerts = SOURCES["alertmanager"].parse(data)
    alerts += [db_alert("db-1"), db_alert("db-2"), make_alert("Watchdog", severity="none")]
    batch = [(a, ruleset.decide(a)) for a in alerts]
    built = views_of(batch, clock.now())
    store.ingest(batch)
    stored = [
        view
        for item in store.claim("me", 60).items
        if item.kind == SLACK_MESSAGE and (view := store.load_message(item.ref)) is not None
    ]
    assert len(built) > 1
    assert sorted(stored, key=lambda v: v.id) == built


def test_a_resolved_alert_is_shown_resolved_in_the_message_it_leaves(
    ruleset: Ruleset, clock: FakeClock
) -> None:
    resolved = db_alert("db-1", status="resolved", ends_at="2026-11-22T01:10:00Z")
    (view,) = views_of([(resolved, ruleset.decide(resolved))], clock.now())
    assert (view.channel, view.closed, view.resolved_at) == ("#db-oncall", True, clock.now())
    (member,) = view.members
    assert (member.status, member.ends_at) == ("resolved", 1_795_309_800.0)


def test_one_request_may_repeat_one_known_alert_and_resolve_another(
    store: Store, ruleset: Ruleset
) -> None:
    """A repeat leaves what mutes an alert alone; a resolve clears it: the two updates
    set different columns, and one request stores both (the fuzz test found it)."""
    ingest(store, ruleset, db_alert("db-1"), db_alert("db-2"))
    assert ingest(store, ruleset, db_alert("db-2", status="resolved"), db_alert("db-1")) == (1, 0)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(alerts.c.labels, alerts.c.status, alerts.c.repeats)).all()
    statuses = {r.labels["instance"]: (r.status, r.repeats) for r in rows}
    assert statuses == {"db-1": ("firing", 1), "db-2": ("resolved", 0)}


def test_a_resolve_after_a_repeat_in_one_request_still_clears_its_silence(
    store: Store, ruleset: Ruleset
) -> None:
    ingest(store, ruleset, db_alert("db-1"), db_alert("db-2"))
    with store.engine.begin() as conn:
        conn.execute(alerts.update().values(silenced_by=["s-1"]))
    ingest(store, ruleset, db_alert("db-1"), db_alert("db-2", status="resolved"))
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(alerts.c.labels, alerts.c.silenced_by)).all()
    assert {r.labels["instance"]: r.silenced_by for r in rows} == {"db-1": ["s-1"], "db-2": None}


def test_a_delivery_id_is_first_once_also_when_two_replicas_race(
    store: Store, monkeypatch: Any
) -> None:
    assert store.first_delivery("slack-envelope", "env-1") is True
    assert store.first_delivery("slack-envelope", "env-1") is False
    assert store.first_delivery("slack-event", "env-1") is True  # per sender

    # Another replica records the id between this one's look and its insert: the key's
    # uniqueness decides, and this one is told it is not the first.
    def late(conn: Any, now: float, source: str, delivery_id: str) -> bool:
        conn.execute(
            deliveries.insert().values(source=source, delivery_id=delivery_id, received_at=now)
        )
        return True

    assert store.first_delivery("slack-envelope", "env-2") is True
    monkeypatch.setattr(writes, "first_delivery", late)
    assert store.first_delivery("slack-envelope", "env-2") is False
