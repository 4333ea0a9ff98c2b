"""Every delivery kind and the handler that delivers it: the one place they are listed.

A new kind is an ``OutboxKind`` member (router/store/kinds.py), a handler module
here in router/deliveries/ (with the store Protocol it needs beside it), and its
line in ``KINDS`` (and the import). Handlers are built once, at start-up, from the
``Parts`` they share: each gets the store as its own Protocol (mypy checks the Store
against each at its line here), and reads the ruleset in force through what it was
given (router/deliveries/current.py), never through the composition root.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

from router.alertmanagers import Alertmanagers
from router.clock import Clock
from router.decide import Ruleset
from router.deliveries.heartbeat import HeartbeatChecker
from router.deliveries.hold import HoldRelease
from router.deliveries.pagerduty_event import PagerDutyEvent
from router.deliveries.pagerduty_note import PagerDutyNote
from router.deliveries.reconcile import Reconciler
from router.deliveries.response_clock import ResponseClock
from router.deliveries.runbook_post import RunbookPost
from router.deliveries.slack_action import SlackAction
from router.deliveries.slack_message import SlackMessage
from router.dispatcher import Handler
from router.metrics import Metrics
from router.notifiers import Notifier
from router.notifiers.pagerduty import PagerDuty
from router.oncall.lookup import OnCall
from router.render.message import MessageRenderer
from router.slackapp.actions import ActionRunner
from router.store import Store
from router.store.kinds import OutboxKind

if TYPE_CHECKING:
    from router.dispatcher import Dispatcher

H = TypeVar("H")


@dataclass(frozen=True)
class Parts:
    """What the handlers are built from, once at start-up."""

    store: Store
    """Handed to each handler as the Protocol it declares (never used whole here)."""
    notifier: Notifier
    renderer: Callable[[], MessageRenderer]
    """A Slack message renderer of the ruleset in force (``Current.renderer``)."""
    metrics: Metrics
    clock: Clock
    pace: Callable[[], float]
    """Seconds between messages to one channel (the dispatcher's)."""
    pagerduty: PagerDuty | None = None
    actions: ActionRunner | None = None
    ruleset: Callable[[], Ruleset] | None = None
    """The ruleset in force (``Current.ruleset``); None: the kinds that need it are off."""
    oncall: OnCall | None = None
    alertmanagers: Callable[[], Alertmanagers] | None = None
    """The Alertmanager APIs (``Current.alertmanagers``); None: no reconciling."""
    reconcile_interval: float = 0.0
    reconcile_warmup: float = 0.0


KINDS: dict[OutboxKind, Callable[[Parts], Handler | None]] = {
    OutboxKind.SLACK_MESSAGE: lambda p: SlackMessage(p.store, p.notifier, p.renderer, p.metrics),
    OutboxKind.PAGERDUTY_NOTE: lambda p: PagerDutyNote(p.store, p.pagerduty, p.renderer, p.metrics),
    OutboxKind.PAGERDUTY_EVENT: lambda p: PagerDutyEvent(p.store, p.pagerduty, p.metrics),
    OutboxKind.SLACK_ACTION: lambda p: SlackAction(p.store, p.actions, p.metrics),
    OutboxKind.HEARTBEAT: lambda p: (
        HeartbeatChecker(p.store, p.ruleset, p.clock) if p.ruleset else None
    ),
    OutboxKind.RESPONSE_CLOCK: lambda p: (
        ResponseClock(
            p.store, p.notifier, p.ruleset, p.metrics, p.clock, p.pagerduty, p.pace, p.oncall
        )
        if p.ruleset
        else None
    ),
    OutboxKind.RECONCILE: lambda p: (
        Reconciler(
            p.store,
            p.alertmanagers,
            p.ruleset,
            p.metrics,
            p.clock,
            p.reconcile_interval,
            p.reconcile_warmup,
        )
        if p.ruleset and p.alertmanagers
        else None
    ),
    OutboxKind.RUNBOOK_POST: lambda p: (
        RunbookPost(p.store, p.notifier, p.ruleset, p.metrics) if p.ruleset else None
    ),
    OutboxKind.HOLD: lambda p: HoldRelease(p.store, p.ruleset, p.clock) if p.ruleset else None,
}
"""Each kind's handler, built from the parts (None: a part it needs is not there)."""


@runtime_checkable
class Armed(Protocol):
    """A handler of timers with a chore that arms them (at start, after a reload)."""

    def sync(self) -> None: ...


@dataclass(frozen=True)
class Registered:
    """The handlers registered, by kind."""

    handlers: dict[OutboxKind, Handler]

    def handler(self, kind: OutboxKind, of: type[H]) -> H | None:
        """The handler of ``kind``, if it is an ``of``."""
        found = self.handlers.get(kind)
        return found if isinstance(found, of) else None


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
    alertmanagers: Callable[[], Alertmanagers] | None = None,
    reconcile_interval: float = 0.0,
    reconcile_warmup: float = 0.0,
) -> Registered:
    """Every kind's handler, registered with the dispatcher; the timers' chores with it."""
    parts = Parts(
        store,
        notifier,
        renderer,
        metrics,
        dispatcher.clock,
        lambda: dispatcher.channel_interval,
        pagerduty,
        actions,
        ruleset,
        oncall,
        alertmanagers,
        reconcile_interval,
        reconcile_warmup,
    )
    handlers: dict[OutboxKind, Handler] = {}
    for kind, build in KINDS.items():
        if (handler := build(parts)) is not None:
            dispatcher.register(kind, handler)
            handlers[kind] = handler
    for handler in handlers.values():
        if isinstance(handler, Armed):
            dispatcher.add_chore(handler.sync)
    return Registered(handlers)
