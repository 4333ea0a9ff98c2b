"""What more than one handler needs, beside the contract (router/dispatcher.py)."""

from __future__ import annotations

from router.errors import DeliveryError, Reason
from router.notifiers.pagerduty import PagerDuty


def configured(pagerduty: PagerDuty | None) -> PagerDuty:
    if pagerduty is None:
        raise DeliveryError(Reason.AUTH, "PagerDuty is not configured", retryable=False)
    return pagerduty
