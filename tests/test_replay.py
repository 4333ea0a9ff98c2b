"""Replays: a captured signed request sent again changes nothing; one click is one action."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from router.app import create_app
from tests.fakes.clock import FakeClock
from tests.helpers import GOLDEN, AppClients, settings, stored
from tests.slack import SIGNING_SECRET, interaction_body, signed

PD_SECRET = "replay-pd-secret"
TRIGGERED = (GOLDEN / "sources/pagerduty/incident-triggered.json").read_bytes()
RESOLVED = (GOLDEN / "sources/pagerduty/incident-resolved.json").read_bytes()
OCCURRED = datetime.fromisoformat(json.loads(RESOLVED)["event"]["occurred_at"]).timestamp()


def pd_headers(body: bytes, webhook_id: str) -> dict[str, str]:
    signature = hmac.new(PD_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-PagerDuty-Signature": f"v1={signature}",
        "X-Webhook-Id": webhook_id,
    }


@pytest.fixture
def client(app_client: AppClients) -> TestClient:
    return app_client(
        clock=FakeClock(OCCURRED + 60),  # a minute after the resolve happened
        run_dispatcher=False,
        pagerduty_webhook_secrets=PD_SECRET,
        slack_signing_secret=SIGNING_SECRET,
        replay_window=48 * 3600.0,
    )


def test_a_captured_pagerduty_body_with_a_new_webhook_id_reopens_nothing(
    client: TestClient,
) -> None:
    assert (
        client.post(
            "/webhooks/pagerduty", content=TRIGGERED, headers=pd_headers(TRIGGERED, "a")
        ).json()["status"]
        == "accepted"
    )
    assert (
        client.post(
            "/webhooks/pagerduty", content=RESOLVED, headers=pd_headers(RESOLVED, "b")
        ).json()["status"]
        == "accepted"
    )
    # An attacker re-sends the captured trigger; X-Webhook-Id is not signed, so they pick a new one.
    replay = client.post(
        "/webhooks/pagerduty", content=TRIGGERED, headers=pd_headers(TRIGGERED, "c")
    )
    assert (replay.status_code, replay.json()["status"]) == (202, "duplicate")
    (incident,) = stored(client)
    assert incident["status"] == "resolved"


def test_a_signed_event_older_than_the_window_is_refused_naming_it(tmp_path: Path) -> None:
    clock = FakeClock(OCCURRED + 49 * 3600)
    app = create_app(
        settings(tmp_path, pagerduty_webhook_secrets=PD_SECRET, replay_window=48 * 3600.0),
        clock=clock,
        run_dispatcher=False,
    )
    with TestClient(app) as client:
        response = client.post(
            "/webhooks/pagerduty", content=RESOLVED, headers=pd_headers(RESOLVED, "late")
        )
        assert response.status_code == 422
        assert response.json()["error"] == (
            "event.occurred_at: 49 h old, beyond the 48 h replay window (ROUTER_REPLAY_WINDOW)"
        )
        assert stored(client) == []


SENTRY_SECRET = "replay-sentry-secret"
CRITICAL = (GOLDEN / "sources/sentry/metric-critical.json").read_bytes()
SENTRY_RESOLVED = (GOLDEN / "sources/sentry/metric-resolved.json").read_bytes()


def sentry_headers(body: bytes, request_id: str) -> dict[str, str]:
    signature = hmac.new(SENTRY_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "Sentry-Hook-Signature": signature,
        "Request-ID": request_id,  # not signed: a replay picks a new one
    }


def test_a_captured_sentry_body_acts_once_and_a_resolved_incident_stays_resolved(
    tmp_path: Path,
) -> None:
    clock = FakeClock(OCCURRED)
    app = create_app(
        settings(tmp_path, sentry_client_secret=SENTRY_SECRET), clock=clock, run_dispatcher=False
    )
    with TestClient(app) as client:

        def post(body: bytes, request_id: str) -> str:
            response = client.post(
                "/webhooks/sentry", content=body, headers=sentry_headers(body, request_id)
            )
            assert response.status_code == 202
            return str(response.json()["status"])

        assert post(CRITICAL, "a") == "accepted"
        assert post(CRITICAL, "b") == "duplicate"  # the same signed body, a new Request-ID
        assert post(SENTRY_RESOLVED, "c") == "accepted"
        # Weeks later, delivery ids forgotten: the captured critical re-sent.
        clock.advance(30 * 86400)
        app.state.runtime.store.prune_deliveries(clock.now())
        replay = client.post(
            "/webhooks/sentry", content=CRITICAL, headers=sentry_headers(CRITICAL, "d")
        )
        assert replay.json()["stale_ignored"] == 1
        (incident,) = stored(client)
        assert incident["status"] == "resolved"


def interaction(actions: int) -> bytes:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": "U0JANE0001", "name": "jane"},
        "response_url": "https://hooks.slack.com/actions/T0/1/x",
        "actions": [
            {"type": "button", "action_id": "share_runbook", "value": "RUN-001"}
            for _ in range(actions)
        ],
    }
    return interaction_body(payload)


def queued_actions(client: TestClient) -> int:
    """Outbox entries: here only button work can have queued any."""
    counts: dict[str, int] = client.app.state.runtime.store.outbox_counts()  # type: ignore[attr-defined]
    return sum(counts.values())


def test_the_same_signed_slack_request_twice_acts_once(client: TestClient) -> None:
    body = interaction(1)
    headers = signed(body, at=OCCURRED + 60)  # the app's clock
    assert client.post("/slack/interactions", content=body, headers=headers).status_code == 200
    assert client.post("/slack/interactions", content=body, headers=headers).status_code == 200
    assert queued_actions(client) == 1


def test_one_click_is_one_action_however_many_a_payload_carries(client: TestClient) -> None:
    body = interaction(5)
    headers = signed(body, at=OCCURRED + 60)
    assert client.post("/slack/interactions", content=body, headers=headers).status_code == 200
    assert queued_actions(client) == 1
