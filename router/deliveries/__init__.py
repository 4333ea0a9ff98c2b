"""What the dispatcher can deliver: one handler per outbox kind, one module each.

A handler takes a claimed outbox entry, does the work, and returns the version
it delivered. It raises DeliveryError (retryable or not) when it cannot, or
Deferred to try again later. Slack's pace is kept before a handler sees an
entry (the claim, router/store/turns.py). ``register_all`` is where each kind
is registered; adding a kind is one module here and one line there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from router.decide import Ruleset
from router.deliveries.base import Deferred, Handler
from router.deliveries.hold import HoldRelease
from router.deliveries.pagerduty_event import PagerDutyEvent
from router.deliveries.pagerduty_note import PagerDutyNote
from router.deliveries.response_clock import ResponseClock
from router.deliveries.runbook_post import RunbookPost
from router.deliveries.slack_action import SlackAction
from router.deliveries.slack_message import SlackMessage
from router.metrics import Metrics
from router.notifiers import Notifier
from router.notifiers.message import MessageRenderer
from router.notifiers.pagerduty import PagerDuty
from router.oncall.lookup import OnCall
from router.slackapp.actions import ActionRunner
from router.store import (
    HOLD,
    PAGERDUTY_EVENT,
    PAGERDUTY_NOTE,
    RESPONSE_CLOCK,
    RUNBOOK_POST,
    SLACK_ACTION,
    SLACK_MESSAGE,
    Store,
)

if TYPE_CHECKING:
    from router.dispatcher import Dispatcher

__all__ = ["Deferred", "Handler", "register_all"]


def register_all(
    dispatcher: Dispatcher,
    store: Store,
    notifier: Notifier,
    renderer: Callable[[], MessageRenderer],
    metrics: Metrics,
    *,
    pagerduty: PagerDuty | None = None,
    actions: ActionRunner | None = None,
    ruleset: Callable[[], Ruleset] | None = None,
    oncall: OnCall | None = None,
) -> None:
    """The router's own delivery kinds (heartbeats register in router/app.py)."""
    dispatcher.register(SLACK_MESSAGE, SlackMessage(store, notifier, renderer, metrics))
    dispatcher.register(PAGERDUTY_NOTE, PagerDutyNote(store, pagerduty, renderer, metrics))
    dispatcher.register(PAGERDUTY_EVENT, PagerDutyEvent(store, pagerduty, metrics))
    dispatcher.register(SLACK_ACTION, SlackAction(store, actions, metrics))
    if ruleset is not None:
        dispatcher.register(RUNBOOK_POST, RunbookPost(store, notifier, ruleset, metrics))
        clock = ResponseClock(
            store,
            notifier,
            ruleset,
            metrics,
            dispatcher.clock,
            pagerduty,
            pace=lambda: dispatcher.channel_interval,
            oncall=oncall,
        )
        dispatcher.register(RESPONSE_CLOCK, clock)
        dispatcher.register(HOLD, HoldRelease(store, ruleset, dispatcher.clock))
