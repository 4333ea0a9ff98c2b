"""The handler contract: deliver an entry, or say it must wait (Deferred)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

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


def configured(pagerduty: PagerDuty | None) -> PagerDuty:
    if pagerduty is None:
        raise DeliveryError(Reason.AUTH, "PagerDuty is not configured", retryable=False)
    return pagerduty
