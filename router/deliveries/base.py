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

    The dispatcher asks when it claims an entry about a message. One that comes
    too early gets the channel's next free slot, kept for it, and is due again
    then: a backlog waits its turn (oldest first), each entry claimed about twice
    rather than once per slot until its turn comes. Changes to a message made
    while it waits are delivered as one edit.
    """

    def __init__(self, clock: Clock, interval: float) -> None:
        self.clock = clock
        self.interval = interval
        self._next: dict[str, float] = {}  # channel -> its first slot not yet given out
        self._held: dict[int, float] = {}  # outbox entry -> the slot kept for it

    def take(self, channel: str, entry: int) -> float | None:
        """None to go now; else the slot kept for ``entry``, to wait for."""
        now = self.clock.now()
        slot = self._held.pop(entry, None)
        if slot is None:
            slot = max(now, self._next.get(channel, 0.0))
            self._next[channel] = slot + self.interval
        if slot <= now:
            return None
        self._held[entry] = slot
        return slot

    def forget_stale(self, older_than: float = 60.0) -> None:
        """Drop slots long past: their entries were done elsewhere (another replica)."""
        cutoff = self.clock.now() - older_than
        self._held = {entry: slot for entry, slot in self._held.items() if slot >= cutoff}


def configured(pagerduty: PagerDuty | None) -> PagerDuty:
    if pagerduty is None:
        raise DeliveryError(Reason.AUTH, "PagerDuty is not configured", retryable=False)
    return pagerduty
