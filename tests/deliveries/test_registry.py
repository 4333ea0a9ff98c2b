"""The one registry of delivery kinds, and the narrow part of the store each handler takes
(tests/test_ports.py checks the Store against every such port)."""

from __future__ import annotations

import random
import typing
from pathlib import Path

import pytest

from router.alertmanagers import Alertmanagers
from router.decide import Ruleset
from router.deliveries import KINDS, register_all
from router.deliveries.heartbeat import HeartbeatChecker, HeartbeatStore
from router.deliveries.hold import HoldRelease, HoldStore
from router.deliveries.pagerduty_event import AlertStore, PagerDutyEvent
from router.deliveries.pagerduty_note import PagerDutyNote
from router.deliveries.reconcile import Reconciler, ReconcileStore
from router.deliveries.response_clock import ResponseClock, ResponseClockStore
from router.deliveries.runbook_post import RunbookPost, RunbookPostStore
from router.deliveries.slack_action import ActionStore, SlackAction
from router.deliveries.slack_message import SlackMessage, SlackMessageStore
from router.dispatcher import Dispatcher, DispatchStore
from router.metrics import Metrics
from router.render.message import MessageRenderer
from router.store import Store
from router.store.kinds import OutboxKind
from tests.fakes.notifier import RecordingNotifier

PORTS: dict[type, type] = {
    Dispatcher: DispatchStore,
    SlackMessage: SlackMessageStore,
    PagerDutyNote: AlertStore,
    PagerDutyEvent: AlertStore,
    SlackAction: ActionStore,
    RunbookPost: RunbookPostStore,
    ResponseClock: ResponseClockStore,
    HoldRelease: HoldStore,
    HeartbeatChecker: HeartbeatStore,
    Reconciler: ReconcileStore,
}
"""Each consumer of the store, and the Protocol it declares beside itself."""


def _store(tmp_path: Path) -> Store:
    store = Store.from_url(f"sqlite:///{tmp_path}/router.db")
    store.create_schema()
    return store


def _renderer(ruleset: Ruleset) -> MessageRenderer:
    data = ruleset.config.data
    return MessageRenderer(ruleset.catalog, data.severity.levels, data.defaults.stale_after_days)


def _register(store: Store, ruleset: Ruleset) -> Dispatcher:
    dispatcher = Dispatcher(store, Metrics(), rng=random.Random(1))
    renderer = _renderer(ruleset)
    register_all(
        dispatcher,
        store,
        RecordingNotifier(),
        lambda: renderer,
        Metrics(),
        ruleset=lambda: ruleset,
        alertmanagers=lambda: Alertmanagers([]),
    )
    return dispatcher


def test_every_outbox_kind_has_one_registration() -> None:
    assert set(KINDS) == set(OutboxKind)


def test_with_every_part_every_kind_is_registered_and_the_timers_are_armed(
    tmp_path: Path, ruleset: Ruleset
) -> None:
    store = _store(tmp_path)
    dispatcher = _register(store, ruleset)
    assert dispatcher.kinds == set(OutboxKind)
    armed = {getattr(chore, "__self__", None).__class__ for chore in dispatcher._chores}
    assert {HeartbeatChecker, Reconciler} <= armed
    store.engine.dispose()


def test_without_a_ruleset_only_the_kinds_that_need_none_are_registered(
    tmp_path: Path, ruleset: Ruleset
) -> None:
    store = _store(tmp_path)
    dispatcher = Dispatcher(store, Metrics())
    renderer = _renderer(ruleset)
    register_all(dispatcher, store, RecordingNotifier(), lambda: renderer, Metrics())
    assert OutboxKind.SLACK_MESSAGE in dispatcher.kinds
    for needs_rules in (OutboxKind.RESPONSE_CLOCK, OutboxKind.HOLD, OutboxKind.HEARTBEAT):
        assert needs_rules not in dispatcher.kinds
    store.engine.dispose()


@pytest.mark.parametrize("consumer", list(PORTS), ids=lambda c: c.__name__)
def test_each_consumer_takes_its_own_port_not_the_store(consumer: type) -> None:
    hints = typing.get_type_hints(vars(consumer)["__init__"])
    assert hints["store"] is PORTS[consumer]
    assert hints["store"] is not Store
