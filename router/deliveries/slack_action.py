"""``slack_action``: the work behind a button click, queued when the click arrived."""

from __future__ import annotations

from typing import Protocol

from router.errors import DeliveryError, Reason
from router.metrics import Metrics
from router.records import Action
from router.slackapp.actions import ActionRunner
from router.store import OutboxItem


class ActionStore(Protocol):
    """A button's work, as queued when the click arrived."""

    def load_action(self, action_id: int) -> Action | None: ...


class SlackAction:
    def __init__(self, store: ActionStore, actions: ActionRunner | None, metrics: Metrics) -> None:
        self.store = store
        self.actions = actions
        self.metrics = metrics

    def __call__(self, item: OutboxItem) -> int:
        action = self.store.load_action(item.ref)
        if action is None or self.actions is None:
            raise DeliveryError(Reason.NOT_FOUND, f"action {item.ref} cannot run", retryable=False)
        done = self.actions.run(action, item.ref)
        self.metrics.delivered.labels(done).inc()
        return item.version
