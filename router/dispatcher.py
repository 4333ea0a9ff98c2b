"""Delivers what the outbox holds, through the handler registered for each kind.

Runs beside the HTTP server and never inside a request. Each entry is claimed
with a lease (so several replicas can share one database), delivered, and then
marked done for the message version it delivered. Retryable failures come back
after exponential backoff or Slack's Retry-After; permanent ones are dead letters.

Entries are delivered by WORKERS threads, and claiming goes on while they work:
an entry that takes long (a Slack call that hangs, a PagerDuty timeout) holds
one worker, and past DEADLINE not even that: the dispatcher stops waiting for it
(it finishes on its own thread, its lease still held) and claims on.

The contract between the dispatcher and what it delivers with is declared here,
by the caller (``Handler``, ``Deferred``), as is the part of the store it uses
(``DispatchStore``); router/deliveries implements them, never the reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Protocol

from router.clock import Clock, SystemClock
from router.errors import DeliveryError, Reason, StoreUnavailable
from router.metrics import Metrics
from router.store.kinds import OutboxKind, OutboxState
from router.store.outbox import Claim, OutboxItem

log = logging.getLogger("router.dispatcher")

BASE_BACKOFF = 1.0
MAX_BACKOFF = 300.0
IDLE_POLL = 1.0
MIN_POLL = 0.05
"""Seconds between looks when entries are due but none could be taken (a wake is sooner)."""
PASS_GAP = 0.005
"""Seconds at least from one look at the outbox to the next: under load every webhook
wakes the loop, and a look per webhook would cost more than the webhook."""
CHANNEL_INTERVAL = 1.0  # Slack: about one message a second per channel
HOUSEKEEPING_EVERY = 1.0
WORKERS = 4
"""Entries delivered at once."""
DEADLINE = 20.0
"""Seconds the dispatcher waits for one handler (well within its 60 s lease)."""
SPARE_WORKERS = 4
"""Threads beyond WORKERS, for handlers past their deadline to finish on."""
BUSY_POLL = 0.2
"""While entries are being delivered, seconds between looks for more that came due."""


class Handler(Protocol):
    """Delivers the outbox entries of one kind (one module each in router/deliveries).

    It returns the version it delivered (the entry is done for it); it raises
    DeliveryError (retryable or not) when it cannot, or Deferred to be called
    again later. Slack's pace is kept before a handler sees an entry (the claim).
    """

    def __call__(self, item: OutboxItem) -> int:
        """Deliver the entry; return the version delivered."""
        ...


class Deferred(Exception):
    """Not now: try this entry again at ``until`` (no attempt counted, no error)."""

    def __init__(self, until: float) -> None:
        super().__init__(until)
        self.until = until


class DispatchStore(Protocol):
    """The outbox as the dispatcher uses it (router/store/outbox/claims.py)."""

    @property
    def single_process(self) -> bool: ...

    def ensure_schema(self) -> None: ...

    def release_leases(self) -> None: ...

    def claim(
        self, owner: str, lease_seconds: float, limit: int = 20, pace: float = 0.0
    ) -> Claim: ...

    def next_due(self) -> float | None: ...

    def complete(self, item: OutboxItem, delivered_version: int) -> None: ...

    def retry_later(self, item: OutboxItem, due_at: float, reason: str, error: str) -> None: ...

    def defer(self, items: Sequence[tuple[OutboxItem, float]]) -> None: ...

    def dead(self, item: OutboxItem, reason: str, error: str) -> None: ...

    def outbox_counts(self) -> dict[str, int]: ...


def backoff(attempts: int, rng: random.Random) -> float:
    """1 s, 2 s, 4 s ... capped at 5 min, with ±20% jitter so replicas spread out."""
    delay = min(MAX_BACKOFF, BASE_BACKOFF * 2 ** max(0, attempts))
    return float(delay * rng.uniform(0.8, 1.2))


def idle_wait(next_due: float | None, now: float) -> float:
    """How long the loop waits, when it found nothing to do, unless woken sooner.

    Until the next entry is due, at most IDLE_POLL; never a busy loop, not even
    when entries are due but not ours to take (another replica holds them).
    """
    if next_due is None:
        return IDLE_POLL
    return min(IDLE_POLL, max(MIN_POLL, next_due - now))


class Dispatcher:
    """Claims due outbox entries, hands each to the handler of its kind, and records how it went.

    Handlers are registered per kind (router/deliveries); the dispatcher only
    claims with a lease, paces, backs off, and dead-letters.
    """

    def __init__(
        self,
        store: DispatchStore,
        metrics: Metrics,
        *,
        clock: Clock | None = None,
        owner: str | None = None,
        lease_seconds: float = 60.0,
        batch: int = 20,
        rng: random.Random | None = None,
        channel_interval: float = CHANNEL_INTERVAL,
        workers: int = WORKERS,
        deadline: float = DEADLINE,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.clock = clock or SystemClock()
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        self.lease_seconds = lease_seconds
        self.batch = batch
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self.channel_interval = channel_interval
        """Seconds between messages to one channel, kept across replicas by the claim."""
        self._wake = asyncio.Event()
        self._housekept_at = float("-inf")
        self._chores: list[Callable[[], None]] = []
        self._handlers: dict[str, Handler] = {}
        """By kind (an ``OutboxKind``; an entry's kind may be one this router does not know)."""
        self.workers = workers
        self.deadline = deadline
        self._pool = ThreadPoolExecutor(workers + SPARE_WORKERS, thread_name_prefix="delivery")
        self._overdue: set[Future[float | None]] = set()
        """Handlers past their deadline, still running: each holds a thread of the pool."""

    def register(self, kind: OutboxKind, handler: Handler) -> None:
        """Deliver outbox entries of ``kind`` with ``handler`` (it returns the version done).

        Every kind is registered in one place, router/deliveries/registry.py."""
        self._handlers[kind] = handler

    @property
    def kinds(self) -> frozenset[OutboxKind]:
        """The kinds registered."""
        return frozenset(OutboxKind(kind) for kind in self._handlers)

    def add_chore(self, chore: Callable[[], None]) -> None:
        """Run ``chore`` with the housekeeping, about once a second."""
        self._chores.append(chore)

    def close(self) -> None:
        """No more deliveries: entries not begun are left to their leases."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def wake(self) -> None:
        """Something was stored: look now instead of at the next poll."""
        self._wake.set()

    # -- synchronous core (tests drive this directly) ------------------------------

    def dispatch_due(self) -> int:
        """Deliver every entry due now, ``workers`` at a time; return how many were handled.

        Entries are claimed as workers come free, and looked for again every BUSY_POLL
        while others are delivered; one still running after ``deadline`` is left to
        finish alone. Returns once nothing is due and nothing is waited for.
        """
        handled = 0
        running: dict[Future[float | None], tuple[OutboxItem, float]] = {}
        while True:
            self._overdue = {f for f in self._overdue if not f.done()}
            free = min(
                self.workers - len(running),
                self.workers + SPARE_WORKERS - len(running) - len(self._overdue),
            )
            found = False
            if free > 0:
                claim = self.store.claim(
                    self.owner,
                    self.lease_seconds,
                    min(self.batch, free),
                    pace=self.channel_interval,
                )
                if claim.put_off:
                    self.metrics.paced.inc(claim.put_off)
                for item in claim.items:
                    running[self._pool.submit(self.deliver, item)] = (item, time.monotonic())
                found = bool(claim.items or claim.put_off)
            if not running:
                if found:
                    continue
                break
            handled += self._wait(running, poll=found or free > 0)
        self._housekeeping()
        return handled

    def _wait(
        self, running: dict[Future[float | None], tuple[OutboxItem, float]], *, poll: bool
    ) -> int:
        """Until one of ``running`` is done, one passes its deadline, or (``poll``) it is
        time to look for more; the finished ones leave ``running``. How many finished."""
        now = time.monotonic()
        first_deadline = min(started for _, started in running.values()) + self.deadline
        timeout = max(0.0, first_deadline - now)
        if poll:
            timeout = min(timeout, BUSY_POLL)
        done, _ = wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
        deferred = []
        for future in done:
            item, _ = running.pop(future)
            if (until := future.result()) is not None:
                deferred.append((item, until))
        if deferred:  # one write for those that finished together, not one per entry
            self.store.defer(deferred)
        now = time.monotonic()
        for future, (item, started) in list(running.items()):
            if now - started >= self.deadline:
                del running[future]
                self._overdue.add(future)
                future.add_done_callback(functools.partial(self._finished_late, item))
                self.metrics.overdue.inc()
                log.warning(
                    "outbox entry %s (%s) is still being delivered after %g s; "
                    "delivering others meanwhile",
                    item.id,
                    item.kind,
                    self.deadline,
                )
        return len(done)

    def _finished_late(self, item: OutboxItem, future: Future[float | None]) -> None:
        """A handler past its deadline is done (on its own thread): its wait, if it asked."""
        with contextlib.suppress(Exception):  # a lost lease is claimed again anyway
            if (until := future.result()) is not None:
                self.store.defer([(item, until)])

    def _housekeeping(self) -> None:
        """Gauges and the registered chores: once a second, not on every delivery pass."""
        now = self.clock.now()
        if now - self._housekept_at < HOUSEKEEPING_EVERY:
            return
        self._housekept_at = now
        self._update_gauges()
        for chore in self._chores:
            chore()

    def deliver(self, item: OutboxItem) -> float | None:
        """Hand the entry to its kind's handler; a time to try again if it must wait."""
        try:
            handler = self._handlers.get(item.kind)
            if handler is None:
                raise DeliveryError(
                    Reason.OTHER, f"unknown outbox kind {item.kind!r}", retryable=False
                )
            version = handler(item)
        except Deferred as deferred:
            return deferred.until
        except DeliveryError as exc:
            self._failed(item, exc)
        except StoreUnavailable:
            log.warning(
                "store unavailable while delivering outbox entry %s; lease will expire", item.id
            )
        except Exception as exc:  # a bug must not stop delivery of everything else
            log.exception("unexpected error delivering outbox entry %s", item.id)
            self._failed(item, DeliveryError(Reason.OTHER, type(exc).__name__, retryable=True))
        else:
            self.store.complete(item, version)
            self.metrics.latency.observe(max(0.0, self.clock.now() - item.enqueued_at))
        return None

    def _failed(self, item: OutboxItem, exc: DeliveryError) -> None:
        self.metrics.failed.labels(exc.reason.value).inc()
        if not exc.retryable:
            log.error("outbox entry %s is a dead letter: %s", item.id, exc)
            self.metrics.dead_lettered.labels(exc.reason.value).inc()
            self.store.dead(item, exc.reason.value, exc.detail)
            return
        delay = exc.retry_after if exc.retry_after is not None else backoff(item.attempts, self.rng)
        log.warning("outbox entry %s failed (%s); retrying in %.1fs", item.id, exc, delay)
        self.store.retry_later(item, self.clock.now() + delay, exc.reason.value, exc.detail)

    def _update_gauges(self) -> None:
        counts = self.store.outbox_counts()
        for state in OutboxState:
            self.metrics.outbox.labels(state).set(counts.get(state, 0))

    # -- the background loop -------------------------------------------------------

    async def run(self) -> None:
        released = False
        looked_at = float("-inf")
        while True:
            if (gap := looked_at + PASS_GAP - time.monotonic()) > 0:
                await asyncio.sleep(gap)
            looked_at = time.monotonic()
            try:
                await asyncio.to_thread(self.store.ensure_schema)
                if self.store.single_process and not released:
                    await asyncio.to_thread(self.store.release_leases)
                    released = True
                handled = await asyncio.to_thread(self.dispatch_due)
                next_due = None if handled else await asyncio.to_thread(self.store.next_due)
            except StoreUnavailable as exc:
                log.warning("dispatcher: %s", exc)
                handled, next_due = 0, None
            except Exception:  # the loop must outlive any one failure
                log.exception("dispatcher: unexpected error; trying again")
                handled, next_due = 0, None
            if handled:
                continue
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that lands
            # as the wake does, and shutdown would then wait for this loop forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(idle_wait(next_due, self.clock.now())):
                    await self._wake.wait()
            self._wake.clear()
