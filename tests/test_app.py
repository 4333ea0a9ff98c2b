from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from router.app import create_app
from tests.fakes.clock import FakeClock
from tests.fakes.slack import FakeSlack
from tests.helpers import (
    ADMIN,
    AUTH,
    BODY,
    ROUTES,
    TOKEN,
    AppClients,
    settings,
    stored,
    time_passes,
    wait_for,
)


@pytest.fixture
def client(app_client: AppClients) -> TestClient:
    return app_client(run_dispatcher=False)


def test_accepts_and_stores(client: TestClient) -> None:
    response = client.post("/webhooks/alertmanager", content=BODY, headers=AUTH)
    assert response.status_code == 202
    assert response.json() == {
        "status": "accepted",
        "alerts": 1,
        "messages_changed": 1,
        "stale_ignored": 0,
    }
    (alert,) = stored(client)
    assert alert["name"] == "DatabaseConnectionPoolHigh"
    assert alert["decisions"][0]["runbook"] == "RUN-001"
    assert alert["deliveries"][0]["state"] == "pending"


def test_redelivery_is_idempotent(client: TestClient) -> None:
    for _ in range(3):
        client.post("/webhooks/alertmanager", content=BODY, headers=AUTH)
    response = client.post("/webhooks/alertmanager", content=BODY, headers=AUTH)
    assert response.json()["messages_changed"] == 0
    assert stored(client)[0]["repeats"] == 3


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({}, 401, "Authorization: expected a Bearer token (ALERTMANAGER_TOKEN)"),
        (
            {"Authorization": "Bearer nope"},
            401,
            "Authorization: bearer token does not match ALERTMANAGER_TOKEN",
        ),
        (
            {"Authorization": f"Basic {TOKEN}"},
            401,
            "Authorization: expected a Bearer token (ALERTMANAGER_TOKEN)",
        ),
    ],
)
def test_bad_credentials(
    client: TestClient, headers: dict[str, str], status: int, message: str
) -> None:
    response = client.post("/webhooks/alertmanager", content=BODY, headers=headers)
    assert (response.status_code, response.json()) == (status, {"error": message})
    assert stored(client) == []


def test_unset_token_refuses_and_names_the_variable(tmp_path: Path) -> None:
    with TestClient(
        create_app(settings(tmp_path, alertmanager_token=None), run_dispatcher=False)
    ) as c:
        response = c.post("/webhooks/alertmanager", content=BODY, headers=AUTH)
    assert response.status_code == 401
    assert response.json()["error"].startswith("ALERTMANAGER_TOKEN is not set")


def test_auth_none_in_routes_file_accepts_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text((ROUTES).read_text().replace("auth: {}", "auth: {alertmanager: none}"))
    app = create_app(
        settings(tmp_path, config=str(routes), alertmanager_token=None), run_dispatcher=False
    )
    with caplog.at_level(logging.WARNING), TestClient(app) as c:
        response = c.post(
            "/webhooks/alertmanager", content=BODY, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 202
    assert "auth: none for alertmanager" in caplog.text


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (
            b"{",
            "application/json",
            400,
            "body: invalid JSON: Expecting property name enclosed in double quotes (line 1, column 2)",
        ),
        (b"", "application/json", 400, "body: empty; expected a JSON object"),
        (b'{"alerts": "\xff"}', "application/json", 400, "body: not UTF-8 (byte 12)"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 400, "body: JSON nested too deeply"),
        (
            BODY,
            "application/x-www-form-urlencoded",
            415,
            "Content-Type: expected application/json, got application/x-www-form-urlencoded",
        ),
        (
            b'{"alerts": [{"labels": {"a": 1}}]}',
            "application/json",
            422,
            "alerts[0].labels.a: input should be a valid string",
        ),
        (b'{"version": "4"}', "application/json", 422, "alerts: field required"),
        (b"[1, 2]", "application/json", 422, "body: expected a JSON object, got list"),
    ],
)
def test_bad_bodies_name_the_problem_and_store_nothing(
    client: TestClient, body: bytes, content_type: str, status: int, message: str
) -> None:
    response = client.post(
        "/webhooks/alertmanager", content=body, headers={**AUTH, "Content-Type": content_type}
    )
    assert (response.status_code, response.json()) == (status, {"error": message})
    assert stored(client) == []


def test_body_size_limit(tmp_path: Path) -> None:
    with TestClient(create_app(settings(tmp_path, max_body_bytes=1000), run_dispatcher=False)) as c:
        big = json.dumps({"alerts": [], "pad": "x" * 2000}).encode()
        declared = c.post("/webhooks/alertmanager", content=big, headers=AUTH)
        streamed = c.post(
            "/webhooks/alertmanager", content=iter([big[:600], big[600:]]), headers=AUTH
        )
        assert stored(c) == []
    assert declared.status_code == 413
    assert "over the limit of 1000" in declared.json()["error"]
    assert streamed.status_code == 413


def test_unknown_source(client: TestClient) -> None:
    response = client.post("/webhooks/nagios", content=b"{}", headers=AUTH)
    assert response.status_code == 404
    assert "unknown source 'nagios'" in response.json()["error"]


def test_explain_route_stores_and_sends_nothing(client: TestClient) -> None:
    response = client.post("/api/route?source=alertmanager", content=BODY, headers=ADMIN)
    assert response.status_code == 200
    (alert,) = response.json()["alerts"]
    (decision,) = alert["decisions"]
    assert decision == {
        "route": "db-pool",
        "channel": "#db-oncall",
        "level": "SEV1",
        "respond": "< 5 min",
        "reason": "route 'db-pool' sets SEV1",
        "runbook": "RUN-001",
        "runbook_title": "Database Connection Pool Exhaustion",
        "runbook_url": "http://localhost:8080/runbooks/RUN-001",
        "runbook_reason": "route 'db-pool'",
        "page": None,
        "notify": True,
        "heartbeat": None,
        "held_until": None,
        "held": None,
    }
    assert stored(client) == []


def test_health_ready_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    client.post("/webhooks/alertmanager", content=BODY, headers=AUTH)
    client.post("/webhooks/alertmanager", content=b"{", headers=AUTH)
    text = client.get("/metrics").text
    assert 'router_alerts_received_total{source="alertmanager"} 1.0' in text
    assert 'router_alerts_routed_total{route="db-pool",source="alertmanager"} 1.0' in text
    assert 'router_webhook_requests_total{code="202",source="alertmanager"} 1.0' in text
    assert 'router_webhook_requests_total{code="400",source="alertmanager"} 1.0' in text
    assert "router_delivery_latency_seconds_bucket" in text


def test_unmatched_alerts_are_counted(client: TestClient) -> None:
    body = json.dumps({"alerts": [{"labels": {"alertname": "NoSuchAlert"}}]}).encode()
    client.post("/webhooks/alertmanager", content=body, headers=AUTH)
    assert 'router_alerts_unmatched_total{source="alertmanager"} 1.0' in client.get("/metrics").text


def test_reload_applies_good_config_and_refuses_bad(tmp_path: Path) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text((ROUTES).read_text())
    with TestClient(create_app(settings(tmp_path, config=str(routes)), run_dispatcher=False)) as c:
        routes.write_text("routes:\n  - {name: all, channel: '#everything'}\n")
        assert c.post("/-/reload", headers=ADMIN).json() == {
            "status": "reloaded",
            "routes": 1,
            "runbooks": 14,
        }
        routes.write_text("routes:\n  - {name: broken, runbok: RUN-001}\n")
        refused = c.post("/-/reload", headers=ADMIN)
        assert refused.status_code == 400
        assert refused.json()["problems"][0].startswith(
            f"{routes}:2: routes[0].runbok: unknown key"
        )
        explained = c.post("/api/route", content=BODY, headers=ADMIN)
        assert explained.json()["alerts"][0]["decisions"][0]["channel"] == "#everything"


def test_delivers_to_slack_in_the_background(tmp_path: Path, fake_slack: FakeSlack) -> None:
    app = create_app(
        settings(tmp_path, slack_bot_token="xoxb-test", slack_api_url=fake_slack.base_url)
    )
    with TestClient(app) as c:
        assert c.post("/webhooks/alertmanager", content=BODY, headers=AUTH).status_code == 202
        wait_for(lambda: bool(fake_slack.posts()), 10, "the message")
    (message,) = fake_slack.posts("#db-oncall")
    assert "RUN-001" in message.text


def test_no_secret_in_any_log_line(
    tmp_path: Path, fake_slack: FakeSlack, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = {"slack": "xoxb-test", "signing": "signing-secret-42", "pd": "pd-token-42"}
    app = create_app(
        settings(
            tmp_path,
            slack_bot_token=secrets["slack"],
            slack_api_url=fake_slack.base_url,
            slack_signing_secret=secrets["signing"],
            pagerduty_api_token=secrets["pd"],
        ),
        clock=clock,
    )
    fake_slack.fail_next = [(429, {"Retry-After": "0"}), (500, {})]
    with caplog.at_level(logging.DEBUG), TestClient(app) as c:
        c.post("/webhooks/alertmanager", content=BODY, headers=AUTH)
        c.post(
            "/webhooks/alertmanager",
            content=BODY,
            headers={"Authorization": "Bearer wrong-token-xyz"},
        )
        # the 500's backoff (2 s) passes on the app's clock, not in real time
        wait_for(
            lambda: bool(fake_slack.posts()), 10, "the message", meanwhile=time_passes(c, clock)
        )
    assert fake_slack.posts()
    assert fake_slack.fail_next == []  # the 429 and the 500 were answered, and logged
    assert "Sending a request" in caplog.text, "slack_sdk's debug lines must be in what is checked"
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    for secret in [TOKEN, "wrong-token-xyz", *secrets.values()]:
        assert secret not in logged


def test_socket_mode_alone_still_signs_the_silence_modal(tmp_path: Path) -> None:
    """No SLACK_SIGNING_SECRET under Socket Mode: the modal's metadata is signed with a
    key from the app token, so Silence works over the socket too."""
    app = create_app(settings(tmp_path, slack_app_token="xapp-1-A0-1-secret"), run_dispatcher=False)
    runtime = app.state.runtime
    assert runtime.socket is not None
    assert runtime.silences is not None
    assert runtime.silences.secret is not None
    plain = create_app(settings(tmp_path), run_dispatcher=False).state.runtime
    assert plain.socket is None
    assert plain.silences.secret is None
