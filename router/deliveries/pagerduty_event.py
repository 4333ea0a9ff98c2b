"""``pagerduty_event``: trigger or resolve, by the alert's state now, for each key it pages."""

from __future__ import annotations

from typing import Protocol

from router.deliveries.base import configured
from router.errors import DeliveryError, Reason
from router.metrics import Metrics
from router.notifiers.pagerduty import PagerDuty, alert_trigger, dedup_key
from router.records import StoredAlert
from router.store import OutboxItem


class AlertStore(Protocol):
    """An alert as stored, with its decisions: what PagerDuty is told comes from it."""

    def load_alert(self, alert_id: int) -> StoredAlert | None: ...


class PagerDutyEvent:
    def __init__(self, store: AlertStore, pagerduty: PagerDuty | None, metrics: Metrics) -> None:
        self.store = store
        self.pagerduty = pagerduty
        self.metrics = metrics

    def __call__(self, item: OutboxItem) -> int:
        alert = self.store.load_alert(item.ref)
        if alert is None:
            raise DeliveryError(Reason.NOT_FOUND, f"alert {item.ref} is gone", retryable=False)
        key = dedup_key(alert.source, alert.fingerprint)
        firing = alert.status == "firing"
        pages = {d.page: d for d in alert.decisions if d.page}
        for name, decision in pages.items():
            if firing:
                configured(self.pagerduty).trigger(name, key, alert_trigger(alert, decision))
            else:
                configured(self.pagerduty).resolve(name, key)
            self.metrics.delivered.labels(
                "pagerduty_trigger" if firing else "pagerduty_resolve"
            ).inc()
        return item.version
