"""The handler contract, and Slack's pace of about one message a second per channel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from router.clock import Clock
from router.errors import DeliveryError, Reason
from router.notifiers.pagerduty import PagerDuty
from router.store import OutboxItem


class Handler(Protocol):
    def __call__(self, item: OutboxItem) -> int:
        """Deliver the entry; return the version delivered."""
        ...


HandlerFunc = Callable[[OutboxItem], int]


class Deferred(Exception):
    """Not now: try this entry again at ``until`` (no attempt counted, no error)."""

    def __init__(self, until: float) -> None:
        super().__init__(until)
        self.until = until


class Pacer:
    """At most one message per ``interval`` per channel, by this process.

    Too early: raise Deferred with the channel's next free slot, so entries for
    a busy channel wait their turn (oldest first) instead of collecting 429s.
    Changes to a message made while it waits are delivered as one edit.
    """

    def __init__(self, clock: Clock, interval: float) -> None:
        self.clock = clock
        self.interval = interval
        self._free: dict[str, float] = {}

    def take(self, channel: str) -> None:
        now = self.clock.now()
        free = self._free.get(channel, 0.0)
        if free > now:
            raise Deferred(free)
        self._free[channel] = now + self.interval


def configured(pagerduty: PagerDuty | None) -> PagerDuty:
    if pagerduty is None:
        raise DeliveryError(Reason.AUTH, "PagerDuty is not configured", retryable=False)
    return pagerduty
