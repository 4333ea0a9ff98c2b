"""``response_clock``: hold a message to its level's response times.

Armed when a message is created, acknowledged or closed (router/store/outbox/entries.py),
the entry looks at the message and says in its thread what is overdue:

- ``ack_within``: not acknowledged this long after it fired -> escalate (once);
- ``resolve_within``: not resolved this long after it fired -> escalate (once,
  acknowledged or not);
- ``update_every``: while it fires, a reminder to post a status update.

Then it waits (Deferred) for the next of those times. Nothing fires for a
closed message; acknowledging stops the first only. What was sent is recorded
in the message's events, which are the timeline, so a restart or another
replica never sends it twice. Time to acknowledge and to resolve are observed
here, once each.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from router.clock import Clock
from router.config import Level
from router.decide import Ruleset
from router.dispatcher import Deferred
from router.metrics import Metrics
from router.notifiers import Notifier
from router.notifiers.pagerduty import PagerDuty, unacknowledged_trigger
from router.oncall import in_words
from router.oncall.lookup import OnCall
from router.render import Rendered
from router.render import clock as replies
from router.render.incident import drafts
from router.render.message import acknowledged_by
from router.runbooks import Runbook
from router.store import MessageView, OutboxItem
from router.store.events import (
    ACK_PAGE,
    ACK_PAGE_RESOLVED,
    ACK_REMINDER,
    ACKNOWLEDGED,
    RESOLVE_ESCALATION,
    RESOLVED,
    UPDATE_REMINDER,
    MessageEvent,
)
from router.store.kinds import EventKind


class ResponseClockStore(Protocol):
    """A message, its timeline, and a turn of its channel for the replies."""

    def load_message(self, message_id: int, *, with_members: bool = True) -> MessageView | None: ...

    def message_events(self, message_id: int) -> list[MessageEvent]: ...

    def record_event(
        self, message_id: int, kind: EventKind, at: float, who: str | None = None, detail: str = ""
    ) -> None: ...

    def take_turn(self, item: OutboxItem, channel: str, pace: float) -> float: ...


NOT_POSTED_YET = 30.0
"""Seconds to wait for a reminder whose message Slack has not taken yet."""


def _ack_dedup(view: MessageView) -> str:
    return f"runbook-router:unacknowledged:{view.id}"


class ResponseClock:
    def __init__(
        self,
        store: ResponseClockStore,
        notifier: Notifier,
        ruleset: Callable[[], Ruleset],
        metrics: Metrics,
        clock: Clock,
        pagerduty: PagerDuty | None = None,
        pace: Callable[[], float] = lambda: 0.0,
        oncall: OnCall | None = None,
    ) -> None:
        self.pagerduty = pagerduty
        self.oncall = oncall
        """``oncall:NAME`` in an ``escalate_to`` -> who is on call now (in words without)."""
        self.pace = pace
        """Seconds between messages to one channel (the dispatcher's)."""
        self.store = store
        self.notifier = notifier
        self.ruleset = ruleset
        self.metrics = metrics
        self.clock = clock

    def __call__(self, item: OutboxItem) -> int:
        view = self.store.load_message(item.ref)
        if view is None or view.kind == "pointer":
            return item.version
        events = self.store.message_events(view.id)
        self._observe(view, events)
        level = self.ruleset().level(view.level)
        now = self.clock.now()
        later = None
        if not view.closed and level is not None:
            due, later = self._due(view, level, events, now)
            if due:
                self._send(item, view, due, now)
                events = self.store.message_events(view.id)
        self._page(view, events, now)
        if later is not None:
            raise Deferred(later)
        return item.version

    def _page(self, view: MessageView, events: list[MessageEvent], now: float) -> None:
        """Not acknowledged in time on a route with ``page:``: page through the Events API
        (its own dedup key, so it is a new page); resolve that page when the message closes."""
        kinds = {e.kind for e in events}
        route = self.ruleset().table.find(view.route) if view.route else None
        if ACK_PAGE in kinds and view.closed and ACK_PAGE_RESOLVED not in kinds:
            if self.pagerduty is not None and route is not None and route.page:
                self.pagerduty.resolve(route.page, _ack_dedup(view))
            self.store.record_event(view.id, ACK_PAGE_RESOLVED, now)
            return
        if (
            ACK_REMINDER not in kinds
            or ACK_PAGE in kinds
            or view.closed
            or route is None
            or not route.page
            or self.pagerduty is None
            or view.tally.unacked < view.tally.firing
        ):
            return
        self.pagerduty.trigger(route.page, _ack_dedup(view), unacknowledged_trigger(view))
        self.store.record_event(view.id, ACK_PAGE, now, detail=route.page)

    def _observe(self, view: MessageView, events: list[MessageEvent]) -> None:
        """Time to acknowledge and to resolve, each once per message, as events too."""
        kinds = {e.kind for e in events}
        first = view.tally.first_ack
        if first is not None and ACKNOWLEDGED not in kinds:
            self.store.record_event(view.id, ACKNOWLEDGED, first, view.tally.first_ack_by)
            self.metrics.time_to_ack.labels(view.level).observe(max(0.0, first - view.created_at))
        if view.closed and view.resolved_at is not None and RESOLVED not in kinds:
            self.store.record_event(view.id, RESOLVED, view.resolved_at)
            took = max(0.0, view.resolved_at - view.created_at)
            self.metrics.time_to_resolve.labels(view.level).observe(took)

    def _due(
        self, view: MessageView, level: Level, events: list[MessageEvent], now: float
    ) -> tuple[list[tuple[EventKind, Rendered]], float | None]:
        """What to send now, and when to look next (None: nothing more to hold it to)."""
        kinds = {e.kind for e in events}
        acked = view.tally.unacked < view.tally.firing
        target = self._target(view)
        due: list[tuple[EventKind, Rendered]] = []
        times: list[float] = []
        if level.ack_within and not acked and ACK_REMINDER not in kinds:
            at = view.created_at + level.ack_within
            if at <= now:
                due.append((ACK_REMINDER, replies.ack_reminder(view, level.ack_within, target)))
            else:
                times.append(at)
        if level.resolve_within and RESOLVE_ESCALATION not in kinds:
            at = view.created_at + level.resolve_within
            if at <= now:
                who = acknowledged_by(view)
                reply = replies.resolve_escalation(view, level.resolve_within, target, who)
                due.append((RESOLVE_ESCALATION, reply))
            else:
                times.append(at)
        if level.update_every:
            last = max((e.at for e in events if e.kind == UPDATE_REMINDER), default=None)
            at = (last or view.created_at) + level.update_every
            if at <= now:
                draft = drafts.status_update(view, self._runbook(view), level, now)
                reply = replies.update_reminder(
                    view, level.update_every, now - view.created_at, draft
                )
                due.append((UPDATE_REMINDER, reply))
                times.append(now + level.update_every)
            else:
                times.append(at)
        return due, min(times) if times else None

    def _send(
        self, item: OutboxItem, view: MessageView, due: list[tuple[EventKind, Rendered]], now: float
    ) -> None:
        if view.slack_channel is None or view.slack_ts is None:
            raise Deferred(now + NOT_POSTED_YET)  # the message itself first
        if item.turn is None:  # the channel's turn, like any message (Slack's pace)
            at = self.store.take_turn(item, view.channel, self.pace())
            if at > now:
                raise Deferred(at)
        for kind, reply in due:
            self.notifier.reply(view.slack_channel, view.slack_ts, reply)
            self.store.record_event(view.id, kind, now)
            counter = (
                self.metrics.reminders if kind == UPDATE_REMINDER else self.metrics.escalations
            )
            counter.labels(kind, view.level).inc()
            self.metrics.delivered.labels("reply").inc()

    def _runbook(self, view: MessageView) -> Runbook | None:
        return self.ruleset().catalog.get(view.runbook.id) if view.runbook.id else None

    def _target(self, view: MessageView) -> str:
        ruleset = self.ruleset()
        route = ruleset.table.find(view.route) if view.route else None
        runbook = ruleset.catalog.get(view.runbook.id) if view.runbook.id else None
        who = runbook.escalation.who if runbook else None
        escalate_to = route.escalate_to if route else None
        if self.oncall is not None:
            escalate_to = self.oncall.mention(escalate_to, detail=True)
        return replies.escalation_target(in_words(escalate_to), who)
