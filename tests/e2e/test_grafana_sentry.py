"""Grafana and Sentry to the running router: firing, then resolved, edits the one message."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from tests.e2e.processes import RouterProcess, http
from tests.fakes.slack import FakeSlack
from tests.helpers import GOLDEN, wait_for

GRAFANA_TOKEN = "e2e-grafana-token"
SENTRY_SECRET = "e2e-sentry-secret"


def golden(source: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / "sources" / source / f"{name}.json").read_text())
    return data


def post_sentry(router: RouterProcess, body: dict[str, Any], request_id: str) -> int:
    raw = json.dumps(body)
    signature = hmac.new(SENTRY_SECRET.encode(), raw.encode(), hashlib.sha256).hexdigest()
    headers = {
        "Sentry-Hook-Resource": "metric_alert",
        "Sentry-Hook-Signature": signature,
        "Request-ID": request_id,
    }
    status, _ = http("POST", f"{router.url}/webhooks/sentry", body, headers)
    return status


def test_grafana_and_sentry_resolves_edit_their_messages(
    fake_slack: FakeSlack, start_router: Callable[..., RouterProcess]
) -> None:
    router = start_router(
        GRAFANA_TOKEN=GRAFANA_TOKEN,
        SENTRY_CLIENT_SECRET=SENTRY_SECRET,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_API_URL=fake_slack.base_url,
    )
    bearer = {"Authorization": f"Bearer {GRAFANA_TOKEN}"}
    grafana = f"{router.url}/webhooks/grafana"
    assert http("POST", grafana, golden("grafana", "firing-single"), bearer)[0] == 202
    wait_for(lambda: len(fake_slack.posts()) == 1, 15, "the Grafana message")
    (checkout,) = fake_slack.posts()
    assert "CheckoutLatencyHigh" in checkout.text
    assert '"Dashboard"' in json.dumps(checkout.blocks)
    assert http("POST", grafana, golden("grafana", "resolved"), bearer)[0] == 202
    wait_for(lambda: bool(fake_slack.replies(checkout)), 15, "the Grafana resolve in thread")
    assert "RESOLVED" in checkout.current_text
    assert "cleared after 18m" in fake_slack.replies(checkout)[0].text

    assert post_sentry(router, golden("sentry", "metric-critical"), "r-1") == 202
    wait_for(lambda: len(fake_slack.posts()) == 2, 15, "the Sentry message")
    latency = next(m for m in fake_slack.posts() if m is not checkout)
    assert "p95 checkout latency" in latency.text
    assert post_sentry(router, golden("sentry", "metric-resolved"), "r-2") == 202
    wait_for(lambda: "RESOLVED" in latency.current_text, 15, "the Sentry resolve edit")
