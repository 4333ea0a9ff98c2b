"""``hold``: a route's time intervals open; the alerts they held are posted (or held on).

The hold's alerts that still fire are decided again at the time now, with the
routes.yaml in force, and join their messages as an arrival would: one message
per group, listing them. A route still held then (a reload moved its window, or
it opens later than a year ahead) holds them anew. See router/store/holds.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from router.alert import Alert
from router.clock import Clock
from router.decide import Decision, Ruleset
from router.store import IngestPolicy, OutboxItem

log = logging.getLogger("router.dispatcher")


class HoldStore(Protocol):
    """The held alerts, released into their messages (or held anew)."""

    def release_hold(
        self,
        hold_id: int,
        decide: Callable[[Alert], list[Decision]],
        policy: IngestPolicy = ...,
    ) -> int: ...


class HoldRelease:
    def __init__(self, store: HoldStore, ruleset: Callable[[], Ruleset], clock: Clock) -> None:
        self.store = store
        self.ruleset = ruleset
        self.clock = clock

    def __call__(self, item: OutboxItem) -> int:
        ruleset = self.ruleset()
        now = self.clock.now()
        released = self.store.release_hold(
            item.ref, lambda alert: ruleset.decide(alert, now), IngestPolicy.of(ruleset)
        )
        if released:
            log.info("hold %s released: %d alert(s) still firing", item.ref, released)
        return item.version
