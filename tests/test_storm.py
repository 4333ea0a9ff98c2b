"""Storms: many alerts of one source in a short window become one incident message."""

from __future__ import annotations

import json
from typing import Any

from router.alert import Alert
from router.decide import Ruleset
from router.render.message import MessageRenderer
from router.store import IngestPolicy, MessageView, Store
from router.storm import StormPolicy
from tests.fakes.clock import FakeClock
from tests.helpers import (
    GOLDEN,
    PHONE_BLOCKS,
    PHONE_CHARACTERS,
    check_golden,
    make_alert,
    visible_text,
)

POLICY = StormPolicy(alerts=5, within=300.0, level="SEV1", channel="#incidents")


def alert(i: int, name: str = "KubePodCrashLooping", **kw: Any) -> Alert:
    return make_alert(
        name, group_key=f"g{i}", severity="warning", pod=f"pod-{i}", container="worker", **kw
    )


def send(store: Store, ruleset: Ruleset, *alerts: Alert) -> None:
    store.ingest([(a, ruleset.decide(a)) for a in alerts], policy=IngestPolicy(storm=POLICY))


def messages(store: Store) -> list[MessageView]:
    """The messages with work due, delivered (completed) as the dispatcher would."""
    views = []
    for item in store.claim("test", 60, limit=100).items:
        if (view := store.load_message(item.ref)) is not None:
            views.append(view)
        store.complete(item, item.version)
    return sorted(views, key=lambda v: v.id)


def test_a_storm_becomes_one_incident_message(store: Store, ruleset: Ruleset) -> None:
    send(store, ruleset, *(alert(i) for i in range(4)))  # below the threshold: their own messages
    send(store, ruleset, alert(4))  # the fifth within the window: a storm
    send(store, ruleset, *(alert(i, "KubeContainerWaiting") for i in range(5, 12)))
    views = messages(store)
    normal = [v for v in views if v.kind == "group"]
    (storm,) = [v for v in views if v.kind == "storm"]
    (pointer,) = [v for v in views if v.kind == "pointer"]
    assert len(normal) == 4
    assert (storm.channel, storm.level, storm.route) == ("#incidents", "SEV1", "storm")
    assert len(storm.members) == 12  # the 4 that began it are listed too
    assert (pointer.channel, len(pointer.members)) == ("#data-platform", 8)
    assert (
        storm.members[0].reason
        == "storm: 5 alerts from alertmanager within 300s (at least 5) -> SEV1"
    )
    assert {m.runbook.id for m in storm.members} == {"RUN-006"}  # each alert keeps its runbook


def test_repeats_of_storm_alerts_stay_in_the_storm(store: Store, ruleset: Ruleset) -> None:
    send(store, ruleset, *(alert(i) for i in range(8)))
    before = {v.id for v in messages(store)}
    send(store, ruleset, *(alert(i) for i in range(8)))  # Alertmanager repeats everything
    assert messages(store) == []  # nothing changed, nothing new
    assert before


def test_the_storm_ends_after_a_quiet_window(
    store: Store, ruleset: Ruleset, clock: FakeClock
) -> None:
    send(store, ruleset, *(alert(i) for i in range(6)))
    messages(store)
    clock.advance(200)
    assert store.end_storms() == 0
    clock.advance(101)
    assert store.end_storms() == 1
    (storm,) = messages(store)
    assert storm.storm_ended_at == clock.now()
    # Later arrivals are an ordinary alert again (the window has passed).
    clock.advance(10)
    send(store, ruleset, alert(99))
    (fresh,) = messages(store)
    assert fresh.kind == "group"


def test_resolves_update_the_storm_message(store: Store, ruleset: Ruleset) -> None:
    send(store, ruleset, *(alert(i) for i in range(6)))
    messages(store)
    send(store, ruleset, *(alert(i, status="resolved") for i in range(6)))
    (storm,) = [v for v in messages(store) if v.kind == "storm"]
    assert storm.firing == []
    assert storm.closed


def test_without_a_storm_policy_nothing_collapses(store: Store, ruleset: Ruleset) -> None:
    store.ingest([(a, ruleset.decide(a)) for a in (alert(i) for i in range(20))])
    assert {v.kind for v in messages(store)} == {"group"}


def test_storm_message_golden(store: Store, ruleset: Ruleset, clock: FakeClock) -> None:
    send(store, ruleset, *(alert(i) for i in range(4)))
    send(
        store,
        ruleset,
        *(alert(i) for i in range(4, 9)),
        *(alert(i, "QueueDepthHigh") for i in range(9, 12)),
    )
    data = ruleset.config.data
    renderer = MessageRenderer(
        ruleset.catalog, data.severity.levels, data.defaults.stale_after_days
    )
    (storm,) = [v for v in messages(store) if v.kind == "storm"]
    firing = renderer.render(storm, clock.now())
    check_golden(
        GOLDEN / "slack" / "storm-firing.json",
        json.dumps({"text": firing.text, "blocks": firing.blocks}, indent=2, ensure_ascii=False)
        + "\n",
    )
    assert len(firing.blocks) <= PHONE_BLOCKS
    assert len(visible_text(firing.blocks)) <= PHONE_CHARACTERS
    clock.advance(301)
    store.end_storms()
    (storm,) = [v for v in messages(store) if v.kind == "storm"]
    rendered = renderer.render(storm, clock.now())
    text = (
        json.dumps({"text": rendered.text, "blocks": rendered.blocks}, indent=2, ensure_ascii=False)
        + "\n"
    )
    check_golden(GOLDEN / "slack" / "storm-over.json", text)
    assert rendered.text.startswith("[STORM] SEV1 12 alerts from alertmanager")
    assert "RUN-006: Worker Crash Loop" in text
    assert "RUN-005: High Queue Depth" in text
    assert "Storm over at" in text


def test_info_and_meta_alerts_do_not_count_toward_a_storm(store: Store, ruleset: Ruleset) -> None:
    quiet = [
        make_alert("KubeletTooManyPods", group_key=f"i{i}", severity="info", node=f"n{i}")
        for i in range(6)
    ]
    meta = [make_alert("Watchdog", group_key="w", severity="none")]
    send(store, ruleset, *quiet, *meta)
    views = messages(store)
    assert all(v.kind == "group" for v in views)
    assert len(views) == 6  # info alerts post as usual; Watchdog is not posted
    send(store, ruleset, *(alert(i) for i in range(4)))  # 4 warnings: still below 5
    assert all(v.kind == "group" for v in messages(store))


def test_an_alert_as_severe_as_the_storm_keeps_its_own_message(
    store: Store, ruleset: Ruleset
) -> None:
    send(store, ruleset, *(alert(i) for i in range(5)))  # a storm of warnings
    api_down = make_alert("KubeAPIDown", group_key="api", severity="critical")
    send(store, ruleset, api_down)
    views = messages(store)
    (own,) = [v for v in views if v.members[0].name == "KubeAPIDown"]
    assert (own.kind, own.channel, own.level) == ("group", "#incidents", "SEV1")
    (storm,) = [v for v in views if v.kind == "storm"]
    assert "KubeAPIDown" not in {m.name for m in storm.members}


def test_mixed_levels_each_channel_gets_one_pointer_with_its_own_count(
    store: Store, ruleset: Ruleset
) -> None:
    """Warnings routed to two channels storm; info does not count; SEV1 keeps its own."""
    crashing = [alert(i) for i in range(4)]  # -> #data-platform (worker-crashloop)
    queues = [
        make_alert("QueueDepthHigh", group_key=f"q{i}", severity="warning", queue=f"q{i}")
        for i in range(3)
    ]  # -> #data-platform as well (queues)
    certs = [
        make_alert("CertificateExpiringSoon", group_key=f"c{i}", severity="warning", cn=f"c{i}")
        for i in range(2)
    ]  # -> #platform (certificates)
    info = [make_alert("KubeletTooManyPods", group_key="i", severity="info", node="n1")]
    send(store, ruleset, *info, crashing[0])
    send(store, ruleset, *crashing[1:], *queues[:1])  # the fifth counted alert: a storm
    send(store, ruleset, *queues[1:], *certs)
    api_down = make_alert("KubeAPIDown", group_key="api", severity="critical")
    send(store, ruleset, api_down)
    views = messages(store)
    (storm,) = [v for v in views if v.kind == "storm"]
    pointers = {v.channel: v for v in views if v.kind == "pointer"}
    assert sorted(pointers) == ["#data-platform", "#platform"]
    # The alerts of the batch that made the storm and those after it; crashing[0] came
    # before and keeps its own message.
    assert len(pointers["#data-platform"].members) == 6
    assert len(pointers["#platform"].members) == 2
    names = [m.name for m in storm.members]
    assert len(names) == 9  # 5 that made it, then 4 more; not the info alert, not KubeAPIDown
    assert "KubeletTooManyPods" not in names
    assert "KubeAPIDown" not in names
    (own,) = [v for v in views if v.kind == "group" and v.members[0].name == "KubeAPIDown"]
    assert own.channel == "#incidents"
    renderer = MessageRenderer(ruleset.catalog, ruleset.config.data.severity.levels, 90)
    head = renderer.render(storm, 0).text
    assert head.startswith("[STORM] SEV1 9 alerts from alertmanager")
    pointer = renderer.render(pointers["#platform"], 0)
    assert pointer.text.startswith(
        "🌪 2 alerts for this channel joined an alert storm: see #incidents"
    )
