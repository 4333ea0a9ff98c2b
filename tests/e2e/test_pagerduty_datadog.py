"""Signed PagerDuty and Datadog webhooks to the running router, checked on the fake Slack."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from tests.e2e.processes import RouterProcess, http
from tests.fakes.slack import FakeSlack
from tests.helpers import GOLDEN, wait_for

PD_SECRET = "e2e-pd-secret"
DD_SECRET = "e2e-dd-secret"


def golden(source: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / "sources" / source / f"{name}.json").read_text())
    return data


def post_pagerduty(router: RouterProcess, body: dict[str, Any], webhook_id: str) -> int:
    raw = json.dumps(body)
    signature = hmac.new(PD_SECRET.encode(), raw.encode(), hashlib.sha256).hexdigest()
    headers = {"X-PagerDuty-Signature": f"v1={signature}", "X-Webhook-Id": webhook_id}
    # http() serialises the body again; json.dumps is deterministic, so the signature holds.
    status, _ = http("POST", f"{router.url}/webhooks/pagerduty", body, headers)
    return status


def post_datadog(router: RouterProcess, body: dict[str, Any]) -> int:
    status, _ = http("POST", f"{router.url}/webhooks/datadog", body, {"X-Router-Secret": DD_SECRET})
    return status


def test_pagerduty_incident_lifecycle_and_datadog_monitor(
    fake_slack: FakeSlack, start_router: Callable[..., RouterProcess]
) -> None:
    router = start_router(
        PAGERDUTY_WEBHOOK_SECRETS=PD_SECRET,
        DATADOG_WEBHOOK_SECRET=DD_SECRET,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_API_URL=fake_slack.base_url,
    )

    assert post_pagerduty(router, golden("pagerduty", "incident-triggered"), "wh-1") == 202
    wait_for(
        lambda: len(fake_slack.posts("#incidents")) == 1, 15, "the PagerDuty incident in #incidents"
    )
    (incident,) = fake_slack.posts("#incidents")
    assert "SEV1" in incident.text
    assert "RUN-004" in incident.text
    assert "Open in PagerDuty" in json.dumps(incident.blocks)

    assert post_pagerduty(router, golden("pagerduty", "incident-acknowledged"), "wh-2") == 202
    wait_for(
        lambda: "acknowledged by Jane Oncall" in incident.current_text,
        15,
        "the acknowledgement edit",
    )

    # PagerDuty redelivers wh-2 (same X-Webhook-Id): nothing changes.
    edits = len(incident.edits)
    assert post_pagerduty(router, golden("pagerduty", "incident-acknowledged"), "wh-2") == 202
    assert post_pagerduty(router, golden("pagerduty", "pagey-ping"), "wh-ping") == 202

    assert post_pagerduty(router, golden("pagerduty", "incident-priority-updated"), "wh-3") == 202
    wait_for(lambda: "SEV0" in incident.current_text, 15, "the re-classification to SEV0")
    assert post_pagerduty(router, golden("pagerduty", "incident-resolved"), "wh-4") == 202
    wait_for(lambda: bool(fake_slack.replies(incident)), 15, "the resolve reply in the thread")
    assert "RESOLVED" in incident.current_text
    assert len(incident.edits) == edits + 2  # priority, resolve: nothing for the redelivery or ping

    assert post_datadog(router, golden("datadog", "triggered")) == 202
    wait_for(
        lambda: len(fake_slack.posts("#payments-oncall")) == 1, 15, "the Datadog monitor message"
    )
    (monitor,) = fake_slack.posts("#payments-oncall")
    assert "RUN-007" in monitor.text
    assert "SEV1" in monitor.text
    assert post_datadog(router, golden("datadog", "re-triggered")) == 202  # a repeat
    assert post_datadog(router, golden("datadog", "recovered")) == 202
    wait_for(lambda: "RESOLVED" in monitor.current_text, 15, "the Datadog recovery edit")

    forged = http(
        "POST",
        f"{router.url}/webhooks/datadog",
        golden("datadog", "warn"),
        {"X-Router-Secret": "x"},
    )
    assert forged[0] == 401
    router.settled()
    assert len(fake_slack.posts()) == 2
