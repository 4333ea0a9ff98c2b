"""``pagerduty_note``: the runbook link and first step, as a note on the PagerDuty incident."""

from __future__ import annotations

from collections.abc import Callable

from router.deliveries.base import configured
from router.deliveries.pagerduty_event import AlertStore
from router.errors import DeliveryError, Reason
from router.metrics import Metrics
from router.notifiers.pagerduty import PagerDuty, note_text
from router.render.message import MessageRenderer
from router.store import OutboxItem


class PagerDutyNote:
    def __init__(
        self,
        store: AlertStore,
        pagerduty: PagerDuty | None,
        renderer: Callable[[], MessageRenderer],
        metrics: Metrics,
    ) -> None:
        self.store = store
        self.pagerduty = pagerduty
        self.renderer = renderer
        self.metrics = metrics

    def __call__(self, item: OutboxItem) -> int:
        alert = self.store.load_alert(item.ref)
        if alert is None or not alert.pagerduty_incident:
            raise DeliveryError(Reason.NOT_FOUND, f"alert {item.ref} is gone", retryable=False)
        decision = next((d for d in alert.decisions if d.runbook_url), None)
        if decision is None:
            return item.version  # routed elsewhere since: nothing to say
        runbook = self.renderer().runbooks.get(decision.runbook or "")
        configured(self.pagerduty).add_note(alert.pagerduty_incident, note_text(decision, runbook))
        self.metrics.delivered.labels("pagerduty_note").inc()
        return item.version
