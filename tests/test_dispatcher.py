from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from router.alert import Alert
from router.chores import store_chores
from router.decide import Ruleset
from router.deliveries import register_all
from router.dispatcher import (
    IDLE_POLL,
    MAX_BACKOFF,
    MIN_POLL,
    WORKERS,
    Dispatcher,
    backoff,
    idle_wait,
)
from router.errors import DeliveryError, Reason, StoreUnavailable
from router.metrics import Metrics
from router.notifiers import Posted
from router.render import Rendered
from router.render.message import MessageRenderer
from router.store import RESPONSE_CLOCK, IngestPolicy, OutboxItem, Store
from tests.fakes.clock import FakeClock
from tests.fakes.notifier import RecordingNotifier
from tests.helpers import make_alert, wait_for


class Harness:
    def __init__(
        self,
        database_url: str,
        ruleset: Ruleset,
        clock: FakeClock,
        channel_interval: float = 0.0,
        owner: str | None = None,
    ) -> None:
        self.ruleset = ruleset
        self.clock = clock
        self.store = Store.from_url(database_url, clock)
        self.store.create_schema()
        self.notifier = RecordingNotifier()
        self.metrics = Metrics()
        data = ruleset.config.data
        renderer = MessageRenderer(
            ruleset.catalog, data.severity.levels, data.defaults.stale_after_days
        )
        self.dispatcher = Dispatcher(
            self.store,
            self.metrics,
            clock=clock,
            rng=random.Random(1),
            channel_interval=channel_interval,
            owner=owner,
        )
        register_all(self.dispatcher, self.store, self.notifier, lambda: renderer, self.metrics)
        for chore in store_chores(self.store, clock):
            self.dispatcher.add_chore(chore)

    def send(self, *alerts: Alert) -> None:
        self.store.ingest([(a, self.ruleset.decide(a)) for a in alerts])

    def metric(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
def h(database_url: str, ruleset: Ruleset, clock: FakeClock) -> Iterator[Harness]:
    harness = Harness(database_url, ruleset, clock)
    yield harness
    harness.store.engine.dispose()


def db(instance: str, **kw: Any) -> Alert:
    return make_alert(env="prod", severity="critical", instance=instance, **kw)


def test_post_then_edit_then_resolve_reply(h: Harness) -> None:
    h.send(db("db-1"))
    assert h.dispatcher.dispatch_due() == 1
    h.send(db("db-2"))
    h.dispatcher.dispatch_due()
    h.send(db("db-1", status="resolved"), db("db-2", status="resolved"))
    h.dispatcher.dispatch_due()
    assert h.notifier.actions() == ["post", "update", "update", "reply"]
    post, _, edit, reply = h.notifier.calls
    assert post[1] == "#db-oncall"
    assert edit[1:3] == ("C-#db-oncall", "1.1")  # edits use the channel ID Slack answered
    assert reply[2] == "1.1"  # the reply goes in the original message's thread
    assert "Resolved" in reply[3].text
    assert h.dispatcher.dispatch_due() == 0


def test_repeats_post_nothing_new(h: Harness) -> None:
    for _ in range(5):
        h.send(db("db-1"))
        h.dispatcher.dispatch_due()
    assert h.notifier.actions() == ["post"]


def test_retry_after_is_honoured(h: Harness) -> None:
    h.send(db("db-1"))
    h.notifier.failures = [
        DeliveryError(Reason.RATE_LIMITED, "HTTP 429", retryable=True, retry_after=30)
    ]
    h.dispatcher.dispatch_due()
    assert h.notifier.actions() == []
    h.clock.advance(29)
    assert h.dispatcher.dispatch_due() == 0
    h.clock.advance(1)
    assert h.dispatcher.dispatch_due() == 1
    assert h.notifier.actions() == ["post"]
    assert h.metric("router_notifications_failed_total", reason="rate_limited") == 1


def test_outage_is_retried_with_backoff_and_coalesced(h: Harness) -> None:
    down = DeliveryError(Reason.UNAVAILABLE, "HTTP 503", retryable=True)
    h.notifier.failures = [down] * 4
    h.send(db("db-1"))
    for _ in range(4):
        h.dispatcher.dispatch_due()
        h.send(db(f"db-{len(h.notifier.failures) + 10}"))  # changes pile up during the outage
        h.clock.advance(MAX_BACKOFF)
    h.dispatcher.dispatch_due()
    # One post with every alert; no edit for the versions that were never shown.
    assert h.notifier.actions() == ["post"]
    assert "5 firing" in str(h.notifier.calls[0][3].blocks)


def test_permanent_error_is_a_dead_letter(h: Harness) -> None:
    h.notifier.failures = [DeliveryError(Reason.CHANNEL, "channel_not_found", retryable=False)]
    h.send(db("db-1"))
    h.dispatcher.dispatch_due()
    h.clock.advance(3600)
    assert h.dispatcher.dispatch_due() == 0
    assert h.store.outbox_counts() == {"dead": 1}
    assert h.metric("router_notifications_dead_lettered_total", reason="channel") == 1
    assert h.metric("router_outbox_entries", state="dead") == 1
    (delivery,) = h.store.recent_alerts()[0].deliveries
    assert (delivery.state, delivery.reason, delivery.last_error) == (
        "dead",
        "channel",
        "channel_not_found",
    )


def test_a_dead_letter_is_tried_again_when_its_message_changes(h: Harness) -> None:
    """The bot was invited to the channel mid-incident: later changes get through."""
    h.notifier.failures = [DeliveryError(Reason.CHANNEL, "not_in_channel", retryable=False)]
    h.send(db("db-1"))
    h.dispatcher.dispatch_due()
    assert h.store.outbox_counts() == {"dead": 1}
    h.send(db("db-2"))
    h.dispatcher.dispatch_due()
    assert h.notifier.actions() == ["post"]
    assert h.store.outbox_counts() == {"done": 1}


def test_unexpected_exception_is_retried_not_fatal(h: Harness) -> None:
    class Boom(RuntimeError):
        pass

    h.send(db("db-1"))
    original = h.notifier.post

    def explode(channel: str, message: Rendered) -> Posted:
        h.notifier.post = original  # type: ignore[method-assign]
        raise Boom

    h.notifier.post = explode  # type: ignore[method-assign]
    h.dispatcher.dispatch_due()
    h.clock.advance(10)
    h.dispatcher.dispatch_due()
    assert h.notifier.actions() == ["post"]


def test_failed_reply_does_not_repost(h: Harness) -> None:
    h.send(db("db-1"))
    h.dispatcher.dispatch_due()
    h.send(db("db-1", status="resolved"))
    h.notifier.failures = [DeliveryError(Reason.UNAVAILABLE, "x", retryable=True)]
    h.dispatcher.dispatch_due()  # the edit fails
    h.clock.advance(10)
    h.dispatcher.dispatch_due()
    assert h.notifier.actions() == ["post", "update", "reply"]


def test_latency_is_observed(h: Harness) -> None:
    h.send(db("db-1"))
    h.clock.advance(0.05)
    h.dispatcher.dispatch_due()
    assert h.metric("router_delivery_latency_seconds_count") == 1
    assert h.metric("router_delivery_latency_seconds_sum") == pytest.approx(0.05)


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(0)
    delays = [backoff(n, rng) for n in range(12)]
    assert 0.8 <= delays[0] <= 1.2
    assert 6.4 <= delays[3] <= 9.6
    assert all(d <= MAX_BACKOFF * 1.2 for d in delays)
    assert delays[-1] >= MAX_BACKOFF * 0.8


@pytest.fixture
def paced(database_url: str, ruleset: Ruleset, clock: FakeClock) -> Iterator[Harness]:
    harness = Harness(database_url, ruleset, clock, channel_interval=1.0)
    yield harness
    harness.store.engine.dispose()


def test_one_message_a_second_per_channel(paced: Harness) -> None:
    paced.send(
        *(
            make_alert("QueueDepthHigh", group_key=f"g{i}", severity="warning", queue=f"q{i}")
            for i in range(5)
        )
    )
    paced.send(db("db-1"))  # another channel is not held up
    sent_at: list[tuple[float, str]] = []
    for _ in range(10):
        before = len(paced.notifier.calls)
        paced.dispatcher.dispatch_due()
        sent_at += [(paced.clock.now(), c[1]) for c in paced.notifier.calls[before:]]
        paced.clock.advance(0.5)
    queue_times = [t for t, channel in sent_at if channel == "#data-platform"]
    assert len(queue_times) == 5
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(queue_times))
    assert [c for _, c in sent_at].count("#db-oncall") == 1
    assert paced.metric("router_notifications_paced_total") >= 4
    assert paced.metric("router_notifications_failed_total", reason="rate_limited") == 0


def test_a_backlog_waits_its_turn_and_each_entry_is_claimed_twice(paced: Harness) -> None:
    # Each waiting entry keeps its slot: it is put off once, when first claimed, not
    # once for every message that goes before it (a backlog's cost in its square).
    paced.send(*(queue_alert(i) for i in range(8)))
    handled = 0
    posts: list[tuple[float, str]] = []
    for _ in range(40):
        before = len(paced.notifier.calls)
        handled += paced.dispatcher.dispatch_due()
        posts += [(paced.clock.now(), str(c[3].blocks)) for c in paced.notifier.calls[before:]]
        paced.clock.advance(0.25)
    queues = [re.findall(r"\bq\d\b", blocks)[0] for _, blocks in posts]
    assert queues == [f"q{i}" for i in range(8)]  # oldest first
    assert [b - a for (a, _), (b, _) in itertools.pairwise(posts)] == [1.0] * 7
    assert handled == 8  # the handler saw each entry once: when its turn came
    assert paced.metric("router_notifications_paced_total") == 7


def queue_alert(i: int) -> Alert:
    return make_alert(
        "QueueDepthHigh",
        group_key=f"g{i}",
        summary=f"queue q{i}",
        severity="warning",
        queue=f"q{i}",
    )


def test_replicas_share_each_channel_s_pace(
    database_url: str, ruleset: Ruleset, clock: FakeClock
) -> None:
    # Slack's limit is the channel's, not a process's: two replicas, one database,
    # still a message a second, each in its turn.
    one = Harness(database_url, ruleset, clock, channel_interval=1.0, owner="replica-1")
    two = Harness(database_url, ruleset, clock, channel_interval=1.0, owner="replica-2")
    posts: list[tuple[float, str]] = []

    def dispatch(replica: Harness) -> None:
        before = len(replica.notifier.calls)
        replica.dispatcher.dispatch_due()
        posts.extend((clock.now(), str(c[3].blocks)) for c in replica.notifier.calls[before:])

    one.send(*(queue_alert(i) for i in range(3)))
    dispatch(one)  # q0 now; q1 and q2 get the next two turns
    two.send(*(queue_alert(i) for i in range(3, 6)))
    dispatch(two)  # the other replica's new messages queue behind them
    for _ in range(24):
        clock.advance(0.25)
        dispatch(two)
        dispatch(one)
    queues = [re.findall(r"\bq\d\b", blocks)[0] for _, blocks in posts]
    assert queues == [f"q{i}" for i in range(6)]
    assert [b - a for (a, _), (b, _) in itertools.pairwise(posts)] == [1.0] * 5
    paced = "router_notifications_paced_total"
    assert one.metric(paced) + two.metric(paced) == 5
    for replica in (one, two):
        replica.store.engine.dispose()


def test_changes_while_waiting_for_the_channel_become_one_edit(paced: Harness) -> None:
    paced.send(db("db-1"))
    paced.dispatcher.dispatch_due()  # the post
    for i in range(2, 7):  # five changes within the same second
        paced.send(db(f"db-{i}"))
        paced.dispatcher.dispatch_due()
    paced.clock.advance(1.0)
    paced.dispatcher.dispatch_due()
    assert paced.notifier.actions() == ["post", "update"]
    assert "6 firing" in str(paced.notifier.calls[-1][3].blocks)


# -- the background loop, as the server runs it -------------------------------------


async def _until(condition: Any, what: str, polls: int = 2000) -> None:
    """Yield to the loop until ``condition()`` holds (observable state, not a timer)."""
    for _ in range(polls):
        if condition():
            return
        await asyncio.sleep(0.005)  # hands the loop to the dispatcher task and its thread
    raise AssertionError(f"never happened: {what}")


def test_the_run_loop_delivers_what_is_stored_when_woken(h: Harness) -> None:
    async def scenario() -> None:
        task = asyncio.create_task(h.dispatcher.run())
        try:
            h.send(make_alert(env="prod"))
            h.dispatcher.wake()
            await _until(lambda: h.notifier.actions() == ["post"], "the post")
            await _until(lambda: h.store.outbox_counts() == {"done": 1}, "the entry done")
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(scenario())


def test_the_run_loop_outlives_a_store_outage_and_a_bug(h: Harness) -> None:
    """StoreUnavailable, then an unexpected error, then it delivers as usual."""
    real = h.store.claim
    failures: list[Exception] = [StoreUnavailable("database is down"), RuntimeError("bug")]

    def flaky_claim(*args: Any, **kwargs: Any) -> Any:
        if failures:
            raise failures.pop(0)
        return real(*args, **kwargs)

    h.store.claim = flaky_claim  # type: ignore[method-assign]

    async def scenario() -> None:
        h.send(make_alert(env="prod"))
        task = asyncio.create_task(h.dispatcher.run())
        try:
            await _until(lambda: not failures, "both failures raised")
            h.dispatcher.wake()
            await _until(lambda: h.notifier.actions() == ["post"], "the post after the failures")
            assert not task.done()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(scenario())


def test_the_run_loop_takes_back_this_process_leases_on_sqlite(
    tmp_path: Any, ruleset: Ruleset, clock: FakeClock
) -> None:
    """A lease left by a crashed run of the same SQLite file is released at start."""
    h = Harness(f"sqlite:///{tmp_path}/router.db", ruleset, clock)
    h.send(make_alert(env="prod"))
    assert len(h.store.claim("crashed:1", lease_seconds=3600).items) == 1  # and then it died

    async def scenario() -> None:
        task = asyncio.create_task(h.dispatcher.run())
        try:
            await _until(lambda: h.notifier.actions() == ["post"], "the post, lease released")
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(scenario())
    h.store.engine.dispose()


def test_the_idle_loop_waits_for_the_next_entry_and_never_spins() -> None:
    assert idle_wait(None, 100.0) == IDLE_POLL
    assert idle_wait(100.3, 100.0) == pytest.approx(0.3)
    assert idle_wait(500.0, 100.0) == IDLE_POLL
    # Due already, yet nothing was taken: another replica holds it. Look again soon.
    assert idle_wait(99.0, 100.0) == MIN_POLL


def sev1(store: Store, ruleset: Ruleset, *alerts: Alert) -> None:
    """Store alerts with SEV1's response clock armed, as the app stores them."""
    store.ingest(
        [(a, ruleset.decide(a)) for a in alerts], policy=IngestPolicy(first_look={"SEV1": 0.0})
    )


def test_a_handler_that_hangs_holds_back_no_other_entry(h: Harness, ruleset: Ruleset) -> None:
    """A clock entry hangs; meanwhile another message comes in and is posted, the same pass."""
    release = threading.Event()
    hung: list[int] = []

    def hanging(item: OutboxItem) -> int:
        if not hung:  # the first clock hangs; db-9 arrives meanwhile
            hung.append(item.id)
            sev1(h.store, ruleset, db("db-9", group_key="other"))
            release.wait(10)
        return item.version

    h.dispatcher.register(RESPONSE_CLOCK, hanging)
    h.dispatcher.deadline = 0.5
    sev1(h.store, ruleset, db("db-1"))
    started = time.monotonic()
    h.dispatcher.dispatch_due()
    took = time.monotonic() - started
    assert h.notifier.actions() == ["post", "post"]  # db-1's message, then db-9's
    assert took < 5  # back at the deadline, not when the hanging handler is
    assert h.metric("router_deliveries_overdue_total") == 1
    release.set()  # it finishes on its own thread; woken meanwhile (db-1 posted), it runs again

    def all_done() -> bool:
        h.dispatcher.dispatch_due()
        return h.store.next_due() is None

    wait_for(all_done, 5, "the late clock to be done")


def test_entries_are_delivered_several_at_once(h: Harness, ruleset: Ruleset) -> None:
    """Four clocks that each wait for the others: only delivered side by side."""
    barrier = threading.Barrier(WORKERS, timeout=5)

    def together(item: OutboxItem) -> int:
        barrier.wait()  # raises (and the test fails) unless all four run at once
        return item.version

    h.dispatcher.register(RESPONSE_CLOCK, together)
    sev1(h.store, ruleset, *(db(f"db-{i}", group_key=f"g{i}") for i in range(WORKERS)))
    assert h.dispatcher.dispatch_due() == 2 * WORKERS
    assert h.metric("router_deliveries_overdue_total") == 0
    assert h.store.next_due() is None


def test_importing_the_dispatcher_loads_no_handler_nor_what_handlers_use() -> None:
    """The contract is the dispatcher's (Handler, Deferred, DispatchStore): router/deliveries
    imports it, never the reverse."""
    code = (
        "import sys, router.dispatcher; "
        "print(' '.join(m for m in sys.modules if m.startswith('router.')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout.split()
    assert "router.dispatcher" in loaded
    above = ("router.deliveries", "router.slackapp", "router.render", "router.notifiers")
    assert [m for m in loaded if m.startswith(above)] == []


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
def test_a_cancel_as_the_loop_wakes_stops_it(h: Harness, turns: int) -> None:
    """Shutdown cancels the loop; a wake just before must not swallow the cancel."""

    async def scenario() -> None:
        task = asyncio.create_task(h.dispatcher.run())
        await _until(lambda: h.dispatcher._wake is not None, "the loop started")
        await asyncio.sleep(0.05)  # idle: waiting to be woken
        h.dispatcher.wake()
        for _ in range(turns):
            await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=5)
        assert done, "the loop went on after its cancel"
        assert task.cancelled()

    asyncio.run(scenario())
