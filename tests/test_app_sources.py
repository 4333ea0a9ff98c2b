"""The PagerDuty and Datadog endpoints over HTTP: signatures, secrets, redelivery."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from router.app import create_app
from router.errors import ConfigError
from tests.fakes.slack import FakeSlack
from tests.helpers import ADMIN, GOLDEN, AppClients, settings, stored, wait_for

PD_SECRET = "whsec_pd_0123456789"
DD_SECRET = "dd-secret-0123456789"
PD_BODY = (GOLDEN / "sources/pagerduty/incident-triggered.json").read_bytes()
DD_BODY = (GOLDEN / "sources/datadog/triggered.json").read_bytes()


def pd_headers(body: bytes, secret: str = PD_SECRET, webhook_id: str = "wh-1") -> dict[str, str]:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-PagerDuty-Signature": f"v1={signature}",
        "X-Webhook-Id": webhook_id,
        "User-Agent": "PagerDuty-Webhook/V3.0",
    }


@pytest.fixture
def client(app_client: AppClients) -> TestClient:
    return app_client(
        run_dispatcher=False,
        pagerduty_webhook_secrets=f"old-secret,{PD_SECRET}",
        datadog_webhook_secret=DD_SECRET,
    )


def test_signed_pagerduty_webhook_is_stored(client: TestClient) -> None:
    response = client.post("/webhooks/pagerduty", content=PD_BODY, headers=pd_headers(PD_BODY))
    assert (response.status_code, response.json()["status"]) == (202, "accepted")
    (alert,) = stored(client)
    assert (alert["source"], alert["name"]) == ("pagerduty", "Checkout API error rate above 5%")


def test_redelivery_with_the_same_webhook_id_does_nothing(client: TestClient) -> None:
    client.post("/webhooks/pagerduty", content=PD_BODY, headers=pd_headers(PD_BODY))
    again = client.post("/webhooks/pagerduty", content=PD_BODY, headers=pd_headers(PD_BODY))
    assert (again.status_code, again.json()["status"]) == (202, "duplicate")
    assert stored(client)[0]["repeats"] == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json"},  # missing
        pd_headers(PD_BODY, secret="forged"),  # wrong secret
        pd_headers(PD_BODY, secret="retired-secret"),  # stale: signed with a rotated-out secret
        {**pd_headers(PD_BODY), "X-PagerDuty-Signature": "v1=nothex"},  # malformed
        {**pd_headers(PD_BODY), "X-PagerDuty-Signature": "t=1,v0=abc"},  # another scheme
        pd_headers(PD_BODY.replace(b"triggered", b"resolved")),  # signed another body
    ],
)
def test_bad_signatures_are_refused_and_nothing_stored(
    client: TestClient, headers: dict[str, str]
) -> None:
    response = client.post("/webhooks/pagerduty", content=PD_BODY, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"].startswith("X-PagerDuty-Signature")
    assert stored(client) == []


def test_ping_and_unknown_events_get_2xx_and_change_nothing(client: TestClient) -> None:
    for name in ("pagey-ping", "incident-annotated", "unknown-event-type"):
        body = (GOLDEN / f"sources/pagerduty/{name}.json").read_bytes()
        response = client.post(
            "/webhooks/pagerduty", content=body, headers=pd_headers(body, webhook_id=name)
        )
        assert (response.status_code, response.json()["alerts"]) == (202, 0)
    assert stored(client) == []


def test_pagerduty_without_secrets_is_refused(tmp_path: Path) -> None:
    with TestClient(create_app(settings(tmp_path), run_dispatcher=False)) as c:
        response = c.post("/webhooks/pagerduty", content=PD_BODY, headers=pd_headers(PD_BODY))
    assert response.status_code == 401
    assert response.json()["error"].startswith("PAGERDUTY_WEBHOOK_SECRETS is not set")


def test_datadog_secret_header(client: TestClient) -> None:
    ok = {"Content-Type": "application/json", "X-Router-Secret": DD_SECRET}
    assert client.post("/webhooks/datadog", content=DD_BODY, headers=ok).status_code == 202
    assert (
        client.post("/webhooks/datadog", content=DD_BODY, headers=ok).json()["status"]
        == "duplicate"
    )
    bad = client.post(
        "/webhooks/datadog", content=DD_BODY, headers={**ok, "X-Router-Secret": "nope"}
    )
    assert bad.status_code == 401
    (alert,) = stored(client)
    assert alert["decisions"][0]["runbook"] == "RUN-007"  # the runbook_id tag


def test_datadog_bad_body_names_the_field(client: TestClient) -> None:
    body = json.dumps({"title": "[Triggered] X", "date": "soon"}).encode()
    headers = {"Content-Type": "application/json", "X-Router-Secret": DD_SECRET}
    response = client.post("/webhooks/datadog", content=body, headers=headers)
    assert (response.status_code, response.json()) == (
        422,
        {"error": "date: expected epoch milliseconds, got 'soon'"},
    )
    assert stored(client) == []


def test_explain_for_other_sources(client: TestClient) -> None:
    response = client.post("/api/route?source=datadog", content=DD_BODY, headers=ADMIN)
    (alert,) = response.json()["alerts"]
    assert alert["decisions"][0]["route"] == "datadog-checkout-latency"
    assert alert["decisions"][0]["level"] == "SEV1"  # priority P2 -> SEV1


def test_a_route_paging_an_unknown_key_refuses_to_start(tmp_path: Path) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text("routes:\n  - name: db\n    page: database\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        create_app(settings(tmp_path, config=str(routes)))
    assert str(caught.value) == (
        f"{routes}:3: routes[0].page: no routing key named 'database' in PAGERDUTY_ROUTING_KEYS (known: none)"
    )
    create_app(settings(tmp_path, config=str(routes), pagerduty_routing_keys="database=R0UTINGKEY"))


def test_pagerduty_urls_must_be_https(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PAGERDUTY_API_URL: must be an https:// URL"):
        create_app(
            settings(tmp_path, pagerduty_api_token="t", pagerduty_api_url="http://127.0.0.1:1")
        )


def test_no_secret_or_signature_in_logs(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    headers = pd_headers(PD_BODY)
    with caplog.at_level(logging.DEBUG):
        client.post("/webhooks/pagerduty", content=PD_BODY, headers=headers)
        client.post(
            "/webhooks/pagerduty", content=PD_BODY, headers=pd_headers(PD_BODY, secret="forged")
        )
        client.post(
            "/webhooks/datadog", content=DD_BODY, headers={"X-Router-Secret": "wrong-dd-secret"}
        )
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    signature = headers["X-PagerDuty-Signature"].removeprefix("v1=")
    for secret in (PD_SECRET, DD_SECRET, signature, "wrong-dd-secret"):
        assert secret not in logged


SENTRY_SECRET = "sentry-client-secret-42"


def sentry_headers(body: bytes, resource: str, request_id: str) -> dict[str, str]:
    signature = hmac.new(SENTRY_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "Sentry-Hook-Resource": resource,
        "Sentry-Hook-Signature": signature,
        "Sentry-Hook-Timestamp": "1795832460",
        "Request-ID": request_id,
    }


def test_sentry_metric_alert_fires_and_resolves_one_message(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    s = settings(
        tmp_path,
        sentry_client_secret=SENTRY_SECRET,
        slack_bot_token="xoxb-test",
        slack_api_url=fake_slack.base_url,
    )
    critical = (GOLDEN / "sources/sentry/metric-critical.json").read_bytes()
    resolved = (GOLDEN / "sources/sentry/metric-resolved.json").read_bytes()
    with TestClient(create_app(s)) as c:
        bad = {**sentry_headers(critical, "metric_alert", "r1"), "Sentry-Hook-Signature": "00"}
        assert c.post("/webhooks/sentry", content=critical, headers=bad).status_code == 401
        first = c.post(
            "/webhooks/sentry",
            content=critical,
            headers=sentry_headers(critical, "metric_alert", "r1"),
        )
        assert (first.status_code, first.json()["alerts"]) == (202, 1)
        wait_for(lambda: len(fake_slack.posts()) == 1, 10, "the critical message")
        (alert,) = stored(c)
        assert (alert["source"], alert["decisions"][0]["level"]) == ("sentry", "SEV1")
        c.post(
            "/webhooks/sentry",
            content=resolved,
            headers=sentry_headers(resolved, "metric_alert", "r2"),
        )
        (message,) = fake_slack.posts()
        wait_for(lambda: bool(message.edits), 10, "the edit on resolve")
    assert "resolved" in message.current_text.lower()


def test_sentry_other_resources_are_accepted_and_ignored(tmp_path: Path) -> None:
    body = (GOLDEN / "sources/sentry/installation-created.json").read_bytes()
    s = settings(tmp_path, sentry_client_secret=SENTRY_SECRET)
    with TestClient(create_app(s, run_dispatcher=False)) as c:
        response = c.post(
            "/webhooks/sentry", content=body, headers=sentry_headers(body, "installation", "r3")
        )
        assert (response.status_code, response.json()["alerts"]) == (202, 0)
        assert stored(c) == []
