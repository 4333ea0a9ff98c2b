"""Webhooks of very many alerts: refused past ROUTER_MAX_ALERTS, written in slices below it,
and stored whole or not at all, as one request."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from router.http import webhooks
from tests.helpers import AUTH, AppClients, stored


def group(count: int, **extra: Any) -> bytes:
    alerts = [{"labels": {"alertname": "Many", "i": str(i)}} for i in range(count)]
    return json.dumps({"version": "4", "groupKey": "many", "alerts": alerts, **extra}).encode()


@pytest.fixture
def client(app_client: AppClients, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setattr(webhooks, "CHUNK_ALERTS", 10)  # slices of 10: a request of 35 is 4
    return app_client(run_dispatcher=False, max_alerts=40)


def test_more_alerts_than_the_limit_are_refused_naming_it(client: TestClient) -> None:
    response = client.post("/webhooks/alertmanager", content=group(41), headers=AUTH)
    assert (response.status_code, response.json()) == (
        413,
        {"error": "alerts: more than 40 in one request (ROUTER_MAX_ALERTS)"},
    )
    assert stored(client) == []


def test_a_request_written_in_slices_is_one_request(client: TestClient) -> None:
    response = client.post("/webhooks/alertmanager", content=group(35), headers=AUTH)
    assert response.status_code == 202
    assert response.json() == {
        "status": "accepted",
        "alerts": 35,
        "messages_changed": 1,
        "stale_ignored": 0,
    }
    listed = stored(client)
    assert sorted(int(a["labels"]["i"]) for a in listed) == list(range(35))
    assert {a["decisions"][0]["channel"] for a in listed} == {"#alerts"}
    again = client.post("/webhooks/alertmanager", content=group(35), headers=AUTH)
    assert again.json()["messages_changed"] == 0  # a repeat, slice by slice


def test_a_bad_alert_in_a_later_slice_stores_none_of_the_request(client: TestClient) -> None:
    data = json.loads(group(35))
    data["alerts"][27]["labels"] = "not an object"
    response = client.post("/webhooks/alertmanager", content=json.dumps(data), headers=AUTH)
    assert response.status_code == 422
    assert response.json()["error"].startswith("alerts[27].labels:")
    assert stored(client) == []  # the first two slices were written, and rolled back
