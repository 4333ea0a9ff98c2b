"""A message of more alerts than it lists: the listed ones, firing first, and all of them
counted by the database exactly as they would be counted in memory."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from router.alert import Alert
from router.decide import Ruleset
from router.store import IngestPolicy, MessageView, Store, Tally
from router.store import messages as message_store
from router.storm import StormPolicy
from tests.fakes.clock import FakeClock
from tests.helpers import make_alert

BIG = message_store.LISTED_MEMBERS + 50
STORM = StormPolicy(alerts=5, within=300.0, level="SEV1", channel="#incidents")


def group_alert(i: int, **kw: Any) -> Alert:
    name = ("AlphaDown", "BetaDown", "")[i % 3]  # unrouted alike; ties, and an unnamed one
    return make_alert(name, group_key="big", severity="warning", pod=f"pod-{i}", **kw)


def only_message(store: Store) -> MessageView:
    (item,) = [i for i in store.claim("test", 60, limit=100).items if i.kind == "slack_message"]
    view = store.load_message(item.ref)
    assert view is not None
    return view


def everything(store: Store, message_id: int, monkeypatch: pytest.MonkeyPatch) -> MessageView:
    """The same message with every alert listed (and so counted in memory)."""
    with monkeypatch.context() as m:
        m.setattr(message_store, "LISTED_MEMBERS", 10 * BIG)
        view = store.load_message(message_id)
    assert view is not None
    return view


def test_a_big_message_lists_some_firing_first_and_counts_all(
    store: Store, ruleset: Ruleset, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.ingest([(a, ruleset.decide(a)) for a in (group_alert(i) for i in range(BIG))])
    clock.advance(60)
    resolved = [
        group_alert(i, status="resolved", ends_at="2026-11-22T01:30:00Z") for i in range(60)
    ]
    store.ingest([(a, ruleset.decide(a)) for a in resolved])
    view = only_message(store)
    assert view.slack_channel is None
    store.record_posted(view.id, "C1", "1.000001")
    store.acknowledge_in_slack("C1", "1.000001", "U0ACKER")
    clock.advance(60)
    late = [group_alert(i) for i in range(BIG, BIG + 5)]  # firing, not acknowledged
    store.ingest([(a, ruleset.decide(a)) for a in late])

    big = store.load_message(view.id)
    assert big is not None
    full = everything(store, view.id, monkeypatch)
    assert len(full.members) == BIG + 5
    assert len(big.members) == message_store.LISTED_MEMBERS
    firing = BIG + 5 - 60
    assert [m.status for m in big.members] == ["firing"] * firing + ["resolved"] * (100 - firing)
    assert big.tally == replace(Tally.of(full.members), runbooks=())  # a storm's count only
    assert big.tally.members == BIG + 5
    assert (big.tally.firing, big.tally.unacked) == (firing, 5)
    assert big.tally.ackers == ("slack:U0ACKER",)
    assert [n.name for n in big.tally.names] == ["AlphaDown", "BetaDown", ""]


def test_a_big_storm_counts_its_alerts_by_runbook_in_the_database(
    store: Store, ruleset: Ruleset, monkeypatch: pytest.MonkeyPatch
) -> None:
    alerts = [
        make_alert(
            ("KubePodCrashLooping", "SomethingUnrouted")[i % 2],
            group_key=f"g{i}",
            severity="warning",
            env="prod",
            pod=f"pod-{i}",
        )
        for i in range(BIG)
    ]
    store.ingest([(a, ruleset.decide(a)) for a in alerts], policy=IngestPolicy(storm=STORM))
    items = store.claim("test", 60, limit=500).items
    views = [store.load_message(i.ref) for i in items if i.kind == "slack_message"]
    (storm,) = [v for v in views if v is not None and v.kind == "storm"]
    assert storm.tally.members > message_store.LISTED_MEMBERS
    assert len(storm.members) == message_store.LISTED_MEMBERS
    full = everything(store, storm.id, monkeypatch)
    assert storm.tally == Tally.of(full.members)
    assert {r.runbook_id for r in storm.tally.runbooks} == {"RUN-006", ""}
