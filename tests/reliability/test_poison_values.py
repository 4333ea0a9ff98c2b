"""One alert with a value a database refuses never costs the others, on either backend.

Each request carries three alerts, one of them poisoned. Every value class is
either made storable (and the whole request stored, 202) or refused with a 4xx
naming the field; never a 500 that each retry repeats.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.helpers import AUTH, GOLDEN, AppClients

AM = json.loads((GOLDEN / "sources/alertmanager/firing-group.json").read_text("utf-8"))
PD = (GOLDEN / "sources/pagerduty/incident-triggered.json").read_text("utf-8")
PD_SECRET = "poison-pd-secret"


def poisoned(mutate: Callable[[dict[str, Any]], None]) -> str:
    """The three-alert group with its second alert changed; JSON text, as sent."""
    data = json.loads(json.dumps(AM))
    mutate(data["alerts"][1])
    return json.dumps(data, allow_nan=True)


def set_label(key: str, value: str) -> Callable[[dict[str, Any]], None]:
    return lambda alert: alert["labels"].__setitem__(key, value)


STORABLE: dict[str, str] = {
    "NUL in a label value": poisoned(set_label("pod", "worker\x00-1")),
    "NUL in a label name": poisoned(set_label("po\x00d", "x")),
    "NUL in an annotation": poisoned(lambda a: a["annotations"].__setitem__("summary", "a\x00b")),
    "lone surrogate": poisoned(set_label("pod", "\ud800")),
    "fingerprint of 300 characters": poisoned(lambda a: a.__setitem__("fingerprint", "f" * 300)),
    "runbook_id of 5,000 digits": poisoned(set_label("runbook_id", "RUN-" + "9" * 5000)),
    "NaN in an extra field": poisoned(lambda a: a.__setitem__("value", float("nan"))),
    "Infinity in an extra field": poisoned(lambda a: a.__setitem__("value", float("inf"))),
}
# Written by hand: json.dumps cannot produce these numbers.
BASE = poisoned(lambda a: a.__setitem__("value", "MARK"))
STORABLE["1e999"] = BASE.replace('"MARK"', "1e999")
STORABLE["an integer of 5,000 digits"] = BASE.replace('"MARK"', "7" * 5000)
STORABLE["-Infinity"] = BASE.replace('"MARK"', "-Infinity")


@pytest.fixture
def client(database_url: str, app_client: AppClients) -> TestClient:
    return app_client(
        run_dispatcher=False,
        raise_server_exceptions=False,
        database_url=database_url,
        pagerduty_webhook_secrets=PD_SECRET,
    )


@pytest.mark.parametrize("body", list(STORABLE.values()), ids=list(STORABLE))
def test_made_storable_and_every_alert_kept(client: TestClient, body: str) -> None:
    response = client.post("/webhooks/alertmanager", content=body.encode(), headers=AUTH)
    assert response.status_code == 202, response.text
    assert response.json()["alerts"] == 3
    again = client.post("/webhooks/alertmanager", content=body.encode(), headers=AUTH)
    assert again.status_code == 202  # a redelivery stores nothing new and fails nothing
    everything = client.get("/alerts?state=all", headers={"Accept": "application/json"})
    listed = everything.json()["alerts"]
    assert len(listed) == 3
    for row in listed:  # and each one's page renders, whatever it holds
        assert client.get(f"/alerts/{row['id']}").status_code == 200
        assert client.get(f"/alerts/{row['id']}", headers={"Accept": "application/json"}).is_success


def test_a_pagerduty_id_too_long_for_its_column_is_a_422_naming_it(client: TestClient) -> None:
    data = json.loads(PD)
    data["event"]["data"]["id"] = "Q" * 70
    raw = json.dumps(data).encode()
    signature = hmac.new(PD_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-PagerDuty-Signature": f"v1={signature}",
        "X-Webhook-Id": "poison",
    }
    response = client.post("/webhooks/pagerduty", content=raw, headers=headers)
    assert response.status_code == 422
    assert response.json()["error"].startswith("event.data.id:")
