"""Grafana over HTTP: its own endpoint and token, the Alertmanager endpoint, routes by source."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from router.app import create_app
from tests.fakes.slack import FakeSlack
from tests.helpers import AUTH, GOLDEN, settings, stored, wait_for

GRAFANA_TOKEN = "glsa-0123456789"
FOLDER = GOLDEN / "sources" / "grafana"
FIRING = (FOLDER / "firing-single.json").read_bytes()
RESOLVED = (FOLDER / "resolved.json").read_bytes()
GRAFANA_AUTH = {"Authorization": f"Bearer {GRAFANA_TOKEN}", "Content-Type": "application/json"}

ROUTES = """
severity:
  from_source:
    grafana: {label: severity, map: {critical: SEV1, warning: SEV3}}
routes:
  - name: checkout-from-grafana
    source: grafana
    matchers: ['service="checkout"']
    runbook: RUN-007
    channel: "#payments-oncall"
  - name: checkout-other-sources
    matchers: ['service="checkout"']
    channel: "#elsewhere"
"""


def app_settings(tmp_path: Path, **more: object) -> dict[str, object]:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES, encoding="utf-8")
    return {"config": str(routes), "grafana_token": GRAFANA_TOKEN, **more}


def test_grafana_endpoint_routes_by_source_and_grades_by_its_map(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, **app_settings(tmp_path)), run_dispatcher=False)
    with TestClient(app) as client:
        assert client.post("/webhooks/grafana", content=FIRING).status_code == 401
        response = client.post("/webhooks/grafana", content=FIRING, headers=GRAFANA_AUTH)
        assert response.status_code == 202
        (alert,) = stored(client)
        assert (alert["source"], alert["name"]) == ("grafana", "CheckoutLatencyHigh")
        (decision,) = alert["decisions"]
        assert (decision["route"], decision["runbook"], decision["level"]) == (
            "checkout-from-grafana",
            "RUN-007",
            "SEV1",
        )
        assert decision["reason"] == "severity=critical -> SEV1 (grafana map)"


def test_grafana_body_at_the_alertmanager_endpoint_is_accepted_as_grafana(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, **app_settings(tmp_path)), run_dispatcher=False)
    with TestClient(app) as client:
        # Alertmanager's endpoint: Alertmanager's token, and the body read as Grafana's.
        response = client.post("/webhooks/alertmanager", content=FIRING, headers=AUTH)
        assert response.status_code == 202, response.text
        (alert,) = stored(client)
        assert alert["source"] == "grafana"
        assert alert["decisions"][0]["route"] == "checkout-from-grafana"
        wrong = {**AUTH, "Authorization": f"Bearer {GRAFANA_TOKEN}"}
        assert (
            client.post("/webhooks/alertmanager", content=FIRING, headers=wrong).status_code == 401
        )


def test_several_alerts_in_one_group_share_one_message(tmp_path: Path) -> None:
    body = (FOLDER / "several-alerts.json").read_bytes()
    app = create_app(settings(tmp_path, **app_settings(tmp_path)), run_dispatcher=False)
    with TestClient(app) as client:
        response = client.post("/webhooks/grafana", content=body, headers=GRAFANA_AUTH)
        assert response.json()["alerts"] == 3
        assert response.json()["messages_changed"] == 1


def test_a_bad_field_is_a_422_naming_it_and_stores_nothing(tmp_path: Path) -> None:
    data = json.loads(FIRING)
    data["alerts"][0]["labels"] = ["not", "a", "map"]
    app = create_app(settings(tmp_path, **app_settings(tmp_path)), run_dispatcher=False)
    with TestClient(app) as client:
        response = client.post("/webhooks/grafana", json=data, headers=GRAFANA_AUTH)
        assert response.status_code == 422
        assert response.json()["error"].startswith("alerts[0].labels:")
        assert stored(client) == []


def test_resolve_edits_the_message(tmp_path: Path, fake_slack: FakeSlack) -> None:
    app = create_app(
        settings(
            tmp_path,
            **app_settings(
                tmp_path, slack_bot_token="xoxb-test", slack_api_url=fake_slack.base_url
            ),
        )
    )
    with TestClient(app) as client:
        client.post("/webhooks/grafana", content=FIRING, headers=GRAFANA_AUTH)
        wait_for(lambda: len(fake_slack.posts()) == 1, 10, "the firing message")
        client.post("/webhooks/grafana", content=RESOLVED, headers=GRAFANA_AUTH)
        (message,) = fake_slack.posts("#payments-oncall")
        wait_for(lambda: bool(message.edits), 10, "the edit on resolve")
        wait_for(lambda: bool(fake_slack.replies(message)), 10, "the resolve reply in thread")
    assert "resolved" in message.current_text.lower()
