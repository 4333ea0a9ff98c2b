"""router/store/silences.py on both backends: a silence from Slack, its expiry, a mirror."""

from __future__ import annotations

import threading

from router.decide import Ruleset
from router.records import SilenceNotice
from router.store import Mirror, NewSilence, SilenceFacts, Store
from router.store.events import NO_LONGER_ACTIVE, SILENCE_EXPIRED, SILENCED
from tests.fakes.clock import FakeClock
from tests.helpers import make_alert


def two_alerts(store: Store, ruleset: Ruleset) -> int:
    alerts = [make_alert("DiskWillFillSoon", pod=p, fingerprint=f"fp-{p}") for p in ("a", "b")]
    store.ingest([(a, ruleset.decide(a)) for a in alerts])
    (item,) = store.claim("test", 60).items
    store.complete(item, item.version)
    store.record_posted(item.ref, "C1", "1.1")
    return item.ref


def facts(silence_id: str = "s-1", ends_at: float = 1_795_330_000.0) -> SilenceFacts:
    return SilenceFacts(silence_id, ['pod="a"'], "Jane Doe", "resize", 1_795_320_000.0, ends_at)


def notices(store: Store) -> list[SilenceNotice]:
    found = []
    for item in store.claim("test", 60, limit=50).items:
        action = store.load_action(item.ref) if item.kind == "slack_action" else None
        if isinstance(action, SilenceNotice):
            found.append(action)
    return found


def test_a_silence_from_slack_shows_at_once_and_its_expiry_undoes_it(
    store: Store, ruleset: Ruleset, clock: FakeClock
) -> None:
    message_id = two_alerts(store, ruleset)
    view = store.load_message(message_id)
    assert view is not None
    first = view.members[0]
    row = store.record_silence(NewSilence(message_id, "am", facts(), "U0JANE", [first.alert_id]))
    view = store.load_message(message_id)
    assert view is not None
    assert [m.silenced_by for m in view.members] == [("s-1",), ()]
    (shown,) = view.silences
    assert (shown.id, shown.slack_user, shown.created_by, shown.active(clock.now())) == (
        row,
        "U0JANE",
        "Jane Doe",
        True,
    )
    assert view.version == 2  # edited
    assert [n.what for n in notices(store)] == ["created"]
    assert store.record_expired(row, message_id, "U0JANE")
    assert not store.record_expired(row, message_id, "U0JANE")  # once
    view = store.load_message(message_id)
    assert view is not None
    assert (view.silences, [m.silenced_by for m in view.members]) == ([], [(), ()])
    kinds = [e.kind for e in store.message_events(message_id)]
    assert kinds == [SILENCED, SILENCE_EXPIRED]


def test_one_submission_per_modal_also_when_two_replicas_race(store: Store) -> None:
    results: list[bool] = []
    start = threading.Barrier(4)

    def claim() -> None:
        start.wait()
        results.append(store.claim_submission("nonce-1"))

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    store.release_submission("nonce-1")
    assert store.claim_submission("nonce-1")


def test_a_mirror_stores_silences_mutes_and_resolves_in_one_go(
    store: Store, ruleset: Ruleset, clock: FakeClock
) -> None:
    message_id = two_alerts(store, ruleset)
    view = store.load_message(message_id)
    assert view is not None
    a, b = (m.alert_id for m in view.members)
    clock.advance(10)
    mirror = Mirror(
        "am",
        clock.now(),
        seen={a: (("s-9",), ("NodeDown",))},
        resolved={b: clock.now()},
        silences={"s-9": facts("s-9")},
    )
    outcome = store.apply_mirror(mirror)
    assert (outcome.resolved, outcome.changed) == (1, 1)
    view = store.load_message(message_id)
    assert view is not None
    assert [(m.status, m.silenced_by, m.inhibited_by) for m in view.members] == [
        ("firing", ("s-9",), ("NodeDown",)),
        ("resolved", (), ()),
    ]
    assert [s.silence_id for s in view.silences] == ["s-9"]
    assert [e.kind for e in store.message_events(message_id)] == [NO_LONGER_ACTIVE]
    # Alertmanager expired s-9: the message no longer shows it, nor its alert muted.
    clock.advance(10)
    store.apply_mirror(Mirror("am", clock.now(), seen={a: ((), ())}, silences={}))
    view = store.load_message(message_id)
    assert view is not None
    assert (view.silences, view.members[0].silenced_by) == ([], ())


def test_a_resolve_from_the_webhook_ends_what_muted_the_alert(
    store: Store, ruleset: Ruleset, clock: FakeClock
) -> None:
    message_id = two_alerts(store, ruleset)
    view = store.load_message(message_id)
    assert view is not None
    a = view.members[0].alert_id
    store.apply_mirror(Mirror("am", clock.now() + 1, seen={a: (("s-1",), ())}))
    clock.advance(5)
    resolved = make_alert("DiskWillFillSoon", pod="a", fingerprint="fp-a", status="resolved")
    store.ingest([(resolved, ruleset.decide(resolved))])
    refired = make_alert(
        "DiskWillFillSoon", pod="a", fingerprint="fp-a", starts_at="2026-11-22T02:00:00Z"
    )
    clock.advance(60)
    store.ingest([(refired, ruleset.decide(refired))])
    detail = store.load_message(message_id)
    assert detail is not None
    assert all(m.silenced_by == () for m in detail.members)
