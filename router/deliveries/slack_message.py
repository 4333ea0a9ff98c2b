"""``slack_message``: post a message, or edit it to its current version; reply on resolve."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from router.clock import Clock
from router.errors import DeliveryError, Reason
from router.metrics import Metrics
from router.notifiers import Notifier
from router.render.message import MessageRenderer
from router.slackapp.checklist import posted_steps
from router.store import FeedbackQuestion, MessageEvent, MessageView, OutboxItem

log = logging.getLogger("router.dispatcher")


class SlackMessageStore(Protocol):
    """What posting a message needs of the store."""

    @property
    def clock(self) -> Clock: ...

    def load_message(self, message_id: int, *, with_members: bool = True) -> MessageView | None: ...

    def record_posted(self, message_id: int, channel_id: str, ts: str) -> None: ...

    def message_events(self, message_id: int) -> list[MessageEvent]: ...

    def first_alert_id(self, message_id: int) -> int | None: ...

    def record_resolve_notified(
        self, message_id: int, ask: FeedbackQuestion | None = None
    ) -> None: ...


class SlackMessage:
    def __init__(
        self,
        store: SlackMessageStore,
        notifier: Notifier,
        renderer: Callable[[], MessageRenderer],
        metrics: Metrics,
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.renderer = renderer
        self.metrics = metrics

    def __call__(self, item: OutboxItem) -> int:
        view = self.store.load_message(item.ref)
        if view is None:
            raise DeliveryError(Reason.NOT_FOUND, f"message {item.ref} is gone", retryable=False)
        now = self.store.clock.now()
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
            self._resolved(view, renderer, channel, ts, now)
        log.info(
            "delivered message %s v%s to %s",
            view.id,
            view.version,
            view.channel,
            extra={"message_id": view.id, "route": view.route, "channel": view.channel},
        )
        return view.version

    def _resolved(
        self, view: MessageView, renderer: MessageRenderer, channel: str, ts: str, now: float
    ) -> None:
        """The resolution in the thread: the timeline, and a line linking the postmortem
        draft (/alerts/{id}/postmortem.md) where the level and the incident ask for one."""
        events = self.store.message_events(view.id)
        url = None
        if renderer.pages_url and (alert_id := self.store.first_alert_id(view.id)) is not None:
            url = f"{renderer.pages_url}/alerts/{alert_id}/postmortem.md"
        reply = renderer.render_resolved_reply(view, now, events, postmortem_url=url)
        self.notifier.reply(channel, ts, reply)
        self.metrics.delivered.labels("reply").inc()
        self.store.record_resolve_notified(view.id, _feedback_question(view, renderer))


def _feedback_question(view: MessageView, renderer: MessageRenderer) -> FeedbackQuestion | None:
    """ "Did RUN-001 help?" follows the resolve of a message someone acknowledged, when its
    runbook is one of ours."""
    runbook = renderer.runbooks.get(view.runbook.id) if view.runbook.id else None
    if runbook is None or view.kind != "group" or view.heartbeat:
        return None
    if view.tally.first_ack is None and all(m.ack_by is None for m in view.members):
        return None
    label_sets = [m.labels for m in view.members]
    return FeedbackQuestion(runbook.id, posted_steps(runbook, label_sets))
