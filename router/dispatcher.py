"""Delivers what the outbox holds: post, edit, and reply on resolve.

Runs beside the HTTP server and never inside a request. Each entry is claimed
with a lease (so several replicas can share one database), delivered, and then
marked done for the message version it delivered. Retryable failures come back
after exponential backoff or Slack's Retry-After; permanent ones are dead letters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
from collections.abc import Callable

from router.clock import Clock, SystemClock
from router.errors import DeliveryError, Reason, StoreUnavailable
from router.metrics import Metrics
from router.notifiers import Notifier
from router.notifiers.message import MessageRenderer
from router.notifiers.pagerduty import PagerDuty, dedup_key, note_text, trigger_properties
from router.slackapp.actions import ActionRunner
from router.store import (
    PAGERDUTY_EVENT,
    PAGERDUTY_NOTE,
    SLACK_ACTION,
    SLACK_MESSAGE,
    OutboxItem,
    Store,
)

log = logging.getLogger("router.dispatcher")

BASE_BACKOFF = 1.0
MAX_BACKOFF = 300.0
IDLE_POLL = 1.0
CHANNEL_INTERVAL = 1.0  # Slack: about one message a second per channel
DELIVERY_IDS_KEPT = 7 * 86400.0  # PagerDuty retries for up to 48 h
PRUNE_EVERY = 3600.0
HOUSEKEEPING_EVERY = 1.0


class _Deferred(Exception):
    def __init__(self, until: float) -> None:
        self.until = until


def backoff(attempts: int, rng: random.Random) -> float:
    """1 s, 2 s, 4 s ... capped at 5 min, with ±20% jitter so replicas spread out."""
    delay = min(MAX_BACKOFF, BASE_BACKOFF * 2 ** max(0, attempts))
    return float(delay * rng.uniform(0.8, 1.2))


class Dispatcher:
    def __init__(
        self,
        store: Store,
        notifier: Notifier,
        renderer: Callable[[], MessageRenderer],
        metrics: Metrics,
        *,
        clock: Clock | None = None,
        owner: str | None = None,
        lease_seconds: float = 60.0,
        batch: int = 20,
        rng: random.Random | None = None,
        pagerduty: PagerDuty | None = None,
        actions: ActionRunner | None = None,
        channel_interval: float = CHANNEL_INTERVAL,
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.renderer = renderer
        self.metrics = metrics
        self.clock = clock or SystemClock()
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        self.lease_seconds = lease_seconds
        self.batch = batch
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self.pagerduty = pagerduty
        self.channel_interval = channel_interval
        self._channel_free: dict[str, float] = {}
        self.actions = actions
        self._wake = asyncio.Event()
        self._pruned_at = 0.0
        self._housekept_at = float("-inf")
        self._chores: list[Callable[[], None]] = []
        self._handlers: dict[str, Callable[[OutboxItem], int]] = {
            SLACK_MESSAGE: self._sync_message,
            PAGERDUTY_NOTE: self._pagerduty_note,
            PAGERDUTY_EVENT: self._pagerduty_event,
            SLACK_ACTION: self._slack_action,
        }

    def register(self, kind: str, handler: Callable[[OutboxItem], int]) -> None:
        """Deliver outbox entries of ``kind`` with ``handler`` (it returns the version done)."""
        self._handlers[kind] = handler

    def add_chore(self, chore: Callable[[], None]) -> None:
        """Run ``chore`` with the housekeeping, about once a second."""
        self._chores.append(chore)

    def wake(self) -> None:
        """Something was stored: look now instead of at the next poll."""
        self._wake.set()

    # -- synchronous core (tests drive this directly) ------------------------------

    def dispatch_due(self) -> int:
        """Deliver every entry due now; return how many were handled."""
        handled = 0
        while items := self.store.claim(self.owner, self.lease_seconds, self.batch):
            for item in items:
                self.deliver(item)
                handled += 1
        self._housekeeping()
        return handled

    def _housekeeping(self) -> None:
        """Gauges, pruning, ended storms: once a second, not on every delivery pass."""
        now = self.clock.now()
        if now - self._housekept_at < HOUSEKEEPING_EVERY:
            return
        self._housekept_at = now
        self._update_gauges()
        self._prune()
        self.store.end_storms()
        for chore in self._chores:
            chore()

    def deliver(self, item: OutboxItem) -> None:
        try:
            handler = self._handlers.get(item.kind)
            if handler is None:
                raise DeliveryError(
                    Reason.OTHER, f"unknown outbox kind {item.kind!r}", retryable=False
                )
            version = handler(item)
        except _Deferred as deferred:
            self.store.defer(item, deferred.until)
            self.metrics.paced.inc()
            return
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

    def _pace(self, channel: str) -> None:
        """At most one message a second per channel (Slack's limit), by this process.

        Too early: raise _Deferred with the channel's next free slot, so entries for
        a busy channel wait their turn (oldest first) instead of collecting 429s.
        Changes to a message made while it waits are delivered as one edit.
        """
        now = self.clock.now()
        free = self._channel_free.get(channel, 0.0)
        if free > now:
            raise _Deferred(free)
        self._channel_free[channel] = now + self.channel_interval

    def _sync_message(self, item: OutboxItem) -> int:
        view = self.store.load_message(item.ref)
        if view is None:
            raise DeliveryError(Reason.NOT_FOUND, f"message {item.ref} is gone", retryable=False)
        self._pace(view.channel)
        now = self.clock.now()
        renderer = self.renderer()
        if view.slack_ts is None or view.slack_channel is None:
            posted = self.notifier.post(view.channel, renderer.render(view, now))
            self.store.record_posted(view.id, posted.channel, posted.ts)
            self.metrics.delivered.labels("post").inc()
            channel, ts = posted.channel, posted.ts
        else:
            channel, ts = view.slack_channel, view.slack_ts
            self.notifier.update(channel, ts, renderer.render(view, now))
            self.metrics.delivered.labels("update").inc()
        if view.closed and not view.resolve_notified:
            self.notifier.reply(channel, ts, renderer.render_resolved_reply(view, now))
            self.store.record_resolve_notified(view.id)
            self.metrics.delivered.labels("reply").inc()
        log.info(
            "delivered message %s v%s to %s",
            view.id,
            view.version,
            view.channel,
            extra={"message_id": view.id, "route": view.route, "channel": view.channel},
        )
        return view.version

    def _pagerduty(self) -> PagerDuty:
        if self.pagerduty is None:
            raise DeliveryError(Reason.AUTH, "PagerDuty is not configured", retryable=False)
        return self.pagerduty

    def _pagerduty_note(self, item: OutboxItem) -> int:
        """The runbook link and first step, as a note on the PagerDuty incident."""
        alert = self.store.load_alert(item.ref)
        if alert is None or not alert["pagerduty_incident"]:
            raise DeliveryError(Reason.NOT_FOUND, f"alert {item.ref} is gone", retryable=False)
        decision = next((d for d in alert["decisions"] if d.get("runbook_url")), None)
        if decision is None:
            return item.version  # routed elsewhere since: nothing to say
        runbook = self.renderer().runbooks.get(decision["runbook"] or "")
        self._pagerduty().add_note(alert["pagerduty_incident"], note_text(decision, runbook))
        self.metrics.delivered.labels("pagerduty_note").inc()
        return item.version

    def _pagerduty_event(self, item: OutboxItem) -> int:
        """Trigger or resolve, by the alert's state now, for each routing key it pages."""
        alert = self.store.load_alert(item.ref)
        if alert is None:
            raise DeliveryError(Reason.NOT_FOUND, f"alert {item.ref} is gone", retryable=False)
        key = dedup_key(alert["source"], alert["fingerprint"])
        action = "trigger" if alert["status"] == "firing" else "resolve"
        pages = {d["page"]: d for d in alert["decisions"] if d.get("page")}
        for name, decision in pages.items():
            extra = trigger_properties(alert, decision) if action == "trigger" else {}
            self._pagerduty().send_event(name, action, key, **extra)
            self.metrics.delivered.labels(f"pagerduty_{action}").inc()
        return item.version

    def _slack_action(self, item: OutboxItem) -> int:
        action = self.store.load_action(item.ref)
        if action is None or self.actions is None:
            raise DeliveryError(Reason.NOT_FOUND, f"action {item.ref} cannot run", retryable=False)
        done = self.actions.run(action)
        self.metrics.delivered.labels(done).inc()
        return item.version

    def _prune(self) -> None:
        now = self.clock.now()
        if now - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = now
            self.store.prune_deliveries(now - DELIVERY_IDS_KEPT)

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
        for state in ("pending", "done", "dead"):
            self.metrics.outbox.labels(state).set(counts.get(state, 0))

    # -- the background loop -------------------------------------------------------

    async def run(self) -> None:
        released = False
        while True:
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
            timeout = IDLE_POLL
            if next_due is not None:
                timeout = min(IDLE_POLL, max(0.0, next_due - self.clock.now()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()
