"""Housekeeping the dispatcher runs between deliveries (about once a second)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from router.clock import Clock

DELIVERY_IDS_KEPT = 7 * 86400.0  # PagerDuty retries for up to 48 h
PRUNE_EVERY = 3600.0


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
