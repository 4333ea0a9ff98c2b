"""Housekeeping the dispatcher runs between deliveries (about once a second)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from router.clock import Clock
from router.metrics import Metrics
from router.store import Pruned

DELIVERY_IDS_KEPT = 7 * 86400.0  # PagerDuty retries for up to 48 h
PRUNE_EVERY = 3600.0
RETENTION_EVERY = 300.0
"""Seconds between retention passes once it has caught up (a pass that left more behind
is followed by the next at the next housekeeping, about a second later)."""


class ChoreStore(Protocol):
    """What the store's chores ask of it (the store implements it)."""

    def end_storms(self) -> int: ...

    def prune_deliveries(self, older_than: float) -> int: ...


def every(seconds: float, clock: Clock, chore: Callable[[], object]) -> Callable[[], None]:
    """``chore`` at most once per ``seconds`` (the first call runs it)."""
    last = float("-inf")

    def run() -> None:
        nonlocal last
        now = clock.now()
        if now - last >= seconds:
            last = now
            chore()

    return run


def store_chores(store: ChoreStore, clock: Clock) -> list[Callable[[], None]]:
    """Storms that went quiet end; sender delivery ids past any retry are forgotten."""

    def end_storms() -> None:
        store.end_storms()

    def prune() -> None:
        store.prune_deliveries(clock.now() - DELIVERY_IDS_KEPT)

    return [end_storms, every(PRUNE_EVERY, clock, prune)]


class RetentionStore(Protocol):
    """What the retention chore asks of the store (router/store/retention.py)."""

    def prune_history(
        self, resolved_before: float | None, finished_before: float | None, batch: int = ...
    ) -> Pruned: ...


def retention(
    store: RetentionStore, clock: Clock, metrics: Metrics, keep: float, keep_outbox: float
) -> Callable[[], None] | None:
    """History past its time deleted (``keep``: resolved alerts and closed messages,
    ``keep_outbox``: finished outbox entries; 0 keeps them), a batch of each per pass,
    counted in ``router_retention_deleted_total``. None when both keep everything.

    Every replica runs it: the store's batches take rows no other transaction holds."""
    if not keep and not keep_outbox:
        return None
    due = float("-inf")

    def run() -> None:
        nonlocal due
        now = clock.now()
        if now < due:
            return
        due = now + RETENTION_EVERY  # a pass that fails waits its turn, too
        pruned = store.prune_history(
            now - keep if keep else None, now - keep_outbox if keep_outbox else None
        )
        for table, rows in pruned.deleted.items():
            metrics.retention_deleted.labels(table).inc(rows)
        if pruned.more:
            due = now

    return run
