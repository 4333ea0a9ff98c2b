"""``runbook_post``: the checklist and "Did RUN-001 help?" in the alert's thread, edited as
people answer; the question is posted here, the checklist by its Show all steps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from router.decide import Ruleset
from router.errors import DeliveryError, Reason
from router.metrics import Metrics
from router.notifiers import Notifier
from router.slackapp import checklist, feedback
from router.store import CHECKLIST_POST, MessageEvent, MessageView, OutboxItem
from router.store import RunbookPost as Post


class RunbookPostStore(Protocol):
    """The checklist or question, its message, and where it was posted."""

    def load_post(self, post_id: int) -> Post | None: ...

    def load_message(self, message_id: int, *, with_members: bool = True) -> MessageView | None: ...

    def message_events(self, message_id: int) -> list[MessageEvent]: ...

    def first_alert_id(self, message_id: int) -> int | None: ...

    def post_delivered(self, post_id: int, ts: str) -> None: ...


class RunbookPost:
    def __init__(
        self,
        store: RunbookPostStore,
        notifier: Notifier,
        ruleset: Callable[[], Ruleset],
        metrics: Metrics,
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.ruleset = ruleset
        self.metrics = metrics

    def __call__(self, item: OutboxItem) -> int:
        post = self.store.load_post(item.ref)
        view = self.store.load_message(post.message_id) if post is not None else None
        if post is None or view is None or view.slack_channel is None or view.slack_ts is None:
            raise DeliveryError(
                Reason.NOT_FOUND, f"runbook post {item.ref} is gone", retryable=False
            )
        ruleset = self.ruleset()
        events = self.store.message_events(view.id)
        if post.kind == CHECKLIST_POST:
            if post.slack_ts is None:
                return post.version  # not posted yet: its Show all steps posts it as it stands
            base = ruleset.pages_url
            first = self.store.first_alert_id(view.id) if base else None
            page = f"{base}/alerts/{first}" if first is not None else None
            rendered = checklist.render_for(post, view, events, ruleset, more_url=page)
        else:
            rendered = feedback.render_for(post, events, ruleset)
        if post.slack_ts is None:
            posted = self.notifier.reply(view.slack_channel, view.slack_ts, rendered)
            self.store.post_delivered(post.id, posted.ts)
            self.metrics.delivered.labels("reply").inc()
        else:
            self.notifier.update(view.slack_channel, post.slack_ts, rendered)
            self.metrics.delivered.labels("update").inc()
        return post.version
