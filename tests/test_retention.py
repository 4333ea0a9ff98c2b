"""The retention chore (router/chores.py) and its two settings; what it deletes is
tested against both databases in tests/store/test_retention.py."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from router.chores import RETENTION_EVERY, retention
from router.decide import Ruleset
from router.deliveries import register_all
from router.dispatcher import Dispatcher
from router.metrics import Metrics
from router.render.message import MessageRenderer
from router.settings import Settings
from router.store import Pruned, Store
from router.store.schema import messages
from tests.fakes.clock import FakeClock
from tests.fakes.notifier import RecordingNotifier
from tests.helpers import make_alert

DAY = 86400.0


class PassesStore:
    """Answers each pass with the next of ``answers`` (then nothing), and notes its times."""

    def __init__(self, *answers: Pruned | Exception) -> None:
        self.answers = list(answers)
        self.passes: list[tuple[float | None, float | None]] = []

    def prune_history(
        self, resolved_before: float | None, finished_before: float | None, batch: int = 500
    ) -> Pruned:
        self.passes.append((resolved_before, finished_before))
        answer = self.answers.pop(0) if self.answers else Pruned()
        if isinstance(answer, Exception):
            raise answer
        return answer


def deleted(metrics: Metrics, table: str) -> float:
    value = metrics.registry.get_sample_value("router_retention_deleted_total", {"table": table})
    return value or 0.0


def test_a_pass_every_retention_every_with_the_two_periods(clock: FakeClock) -> None:
    store = PassesStore()
    chore = retention(store, clock, Metrics(), 180 * DAY, 7 * DAY)
    assert chore is not None
    start = clock.now()
    chore()
    assert store.passes == [(start - 180 * DAY, start - 7 * DAY)]
    clock.advance(RETENTION_EVERY - 1)
    chore()
    assert len(store.passes) == 1  # not due yet
    clock.advance(1)
    chore()
    assert len(store.passes) == 2


def test_a_pass_that_left_more_is_followed_at_once(clock: FakeClock) -> None:
    store = PassesStore(Pruned({"messages": 500}, more=True), Pruned({"messages": 20}))
    chore = retention(store, clock, Metrics(), 180 * DAY, 7 * DAY)
    assert chore is not None
    chore()
    clock.advance(1)  # the next housekeeping
    chore()
    assert len(store.passes) == 2
    clock.advance(1)
    chore()
    assert len(store.passes) == 2  # caught up: the next in RETENTION_EVERY


def test_rows_deleted_are_counted_by_table(clock: FakeClock) -> None:
    metrics = Metrics()
    store = PassesStore(
        Pruned({"outbox": 3, "messages": 2}, more=True), Pruned({"messages": 1, "alerts": 4})
    )
    chore = retention(store, clock, metrics, 180 * DAY, 7 * DAY)
    assert chore is not None
    chore()
    chore()
    assert {t: deleted(metrics, t) for t in ("outbox", "messages", "alerts", "actions")} == {
        "outbox": 3.0,
        "messages": 3.0,
        "alerts": 4.0,
        "actions": 0.0,
    }


def test_a_failed_pass_waits_its_turn(clock: FakeClock) -> None:
    """The database away: the next pass comes at its time, not at every housekeeping."""
    store = PassesStore(RuntimeError("database is locked"))
    chore = retention(store, clock, Metrics(), 180 * DAY, 7 * DAY)
    assert chore is not None
    with pytest.raises(RuntimeError):
        chore()
    clock.advance(1)
    chore()
    assert len(store.passes) == 1
    clock.advance(RETENTION_EVERY)
    chore()
    assert len(store.passes) == 2


def test_a_period_of_zero_keeps_that_history(clock: FakeClock) -> None:
    store = PassesStore()
    only_outbox = retention(store, clock, Metrics(), 0, 7 * DAY)
    only_history = retention(store, clock, Metrics(), 180 * DAY, 0)
    assert only_outbox is not None
    assert only_history is not None
    only_outbox()
    only_history()
    now = clock.now()
    assert store.passes == [(None, now - 7 * DAY), (now - 180 * DAY, None)]
    assert retention(store, clock, Metrics(), 0, 0) is None  # no chore at all


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("180d", 180 * DAY),
        ("12h", 12 * 3600.0),
        ("1h30m", 5400.0),
        ("3600", 3600.0),
        (" 90D ", 90 * DAY),
        ("off", 0.0),
        ("OFF", 0.0),
        ("0", 0.0),
    ],
)
def test_periods_read_as_durations(
    monkeypatch: pytest.MonkeyPatch, value: str, seconds: float
) -> None:
    monkeypatch.setenv("ROUTER_RETENTION", value)
    monkeypatch.setenv("ROUTER_OUTBOX_RETENTION", value)
    settings = Settings()
    assert (settings.retention, settings.outbox_retention) == (seconds, seconds)


def test_empty_or_unset_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTER_RETENTION", "")
    monkeypatch.delenv("ROUTER_OUTBOX_RETENTION", raising=False)
    settings = Settings()
    assert (settings.retention, settings.outbox_retention) == (180 * DAY, 7 * DAY)


@pytest.mark.parametrize("name", ["ROUTER_RETENTION", "ROUTER_OUTBOX_RETENTION"])
@pytest.mark.parametrize("value", ["forever", "1.5d", "-5", "10 days", "nan", "inf"])
def test_a_bad_period_is_an_error_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as error:
        Settings()
    assert name in str(error.value)
    said = ("such as 180d, 12h or 3600 (seconds), or off", "greater than or equal to 0", "finite")
    assert any(why in str(error.value) for why in said)


def test_the_dispatcher_prunes_with_its_housekeeping(
    tmp_path: Path, ruleset: Ruleset, clock: FakeClock
) -> None:
    """Posted, resolved, half a year on: the next housekeeping deletes it, and counts it."""
    store = Store.from_url(f"sqlite:///{tmp_path}/router.db", clock)
    store.create_schema()
    metrics = Metrics()
    dispatcher = Dispatcher(store, metrics, clock=clock, rng=random.Random(1))
    data = ruleset.config.data
    renderer = MessageRenderer(
        ruleset.catalog, data.severity.levels, data.defaults.stale_after_days
    )
    register_all(dispatcher, store, RecordingNotifier(), lambda: renderer, metrics)
    chore = retention(store, clock, metrics, 180 * DAY, 7 * DAY)
    assert chore is not None
    dispatcher.add_chore(chore)
    try:
        old = make_alert(env="prod", severity="critical", instance="db-1", group_key="old")
        store.ingest([(old, ruleset.decide(old))])
        dispatcher.dispatch_due()
        store.ingest([(old.model_copy(update={"status": "resolved"}), ruleset.decide(old))])
        dispatcher.dispatch_due()
        clock.advance(181 * DAY)
        new = make_alert(env="prod", severity="critical", instance="db-2", group_key="new")
        store.ingest([(new, ruleset.decide(new))])
        dispatcher.dispatch_due()
        with store.engine.connect() as conn:
            left = set(conn.execute(sa.select(messages.c.group_key)).scalars())
        assert left == {"new"}
        assert deleted(metrics, "messages") == 1.0
        assert deleted(metrics, "alerts") == 1.0
    finally:
        dispatcher.close()
        store.engine.dispose()
