from __future__ import annotations

import copy
import hashlib
import hmac
import json
from typing import Any

import pytest

from router.errors import PayloadError, Unauthorized
from router.sources import pagerduty
from tests.helpers import GOLDEN

FOLDER = GOLDEN / "sources/pagerduty"
TRIGGERED = json.loads((FOLDER / "incident-triggered.json").read_text())

# Known answer, computed with `openssl dgst -sha256 -hmac <secret>` (not with Python).
KAT_BODY = b'{"event":{"event_type":"pagey.ping"}}'
KAT_SECRET = "whsec_runbook_router_test"
KAT_SIGNATURE = "f8b24051d22b2c7056dd3f13c02c3dac1c5682f8f7e8e5f346083487c729dbde"
KAT_ROTATED = (
    "rotated-secret-2",
    "c7ea130d138ad0094e633b0378834a68f049adeedd5b2cfadacbf1b961db654b",
)


def sign(body: bytes, secret: str) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_signature_known_answer() -> None:
    assert sign(KAT_BODY, KAT_SECRET) == f"v1={KAT_SIGNATURE}"
    pagerduty.verify({"x-pagerduty-signature": f"v1={KAT_SIGNATURE}"}, KAT_BODY, [KAT_SECRET])


def test_rotation_any_signature_against_any_secret() -> None:
    secret, signature = KAT_ROTATED
    header = f"v1={'0' * 64},v1={signature}"
    pagerduty.verify({"x-pagerduty-signature": header}, KAT_BODY, [KAT_SECRET, secret])
    pagerduty.verify(
        {"x-pagerduty-signature": f"v1={KAT_SIGNATURE.upper()}"}, KAT_BODY, [KAT_SECRET]
    )


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("", "missing"),
        ("v1=", "expected v1=<hex HMAC-SHA256>"),
        ("sha256=" + KAT_SIGNATURE, "expected v1=<hex HMAC-SHA256>"),
        ("v1=zz" + KAT_SIGNATURE[2:], "expected v1=<hex HMAC-SHA256>"),
        ("v1=" + KAT_SIGNATURE[:-1] + "0", "no signature matches"),
        ("v1=" + "a" * 5000, "too long"),
    ],
)
def test_forged_missing_malformed_signatures(header: str, message: str) -> None:
    with pytest.raises(Unauthorized, match=message) as caught:
        pagerduty.verify({"x-pagerduty-signature": header}, KAT_BODY, [KAT_SECRET])
    assert KAT_SECRET not in str(caught.value)


def test_a_changed_body_fails() -> None:
    with pytest.raises(Unauthorized):
        pagerduty.verify(
            {"x-pagerduty-signature": f"v1={KAT_SIGNATURE}"}, KAT_BODY + b" ", [KAT_SECRET]
        )


def test_labels_follow_the_contract() -> None:
    (alert,) = pagerduty.parse(TRIGGERED)
    assert alert.labels["service"] == "Checkout API"
    assert alert.labels["urgency"] == "high"
    assert alert.labels["priority"] == "P2"
    assert alert.labels["incident_key"] == "9b1e0c6b5c2d4e7f8a9b0c1d2e3f4a5b"
    assert alert.labels["alertname"] == alert.name == "Checkout API error rate above 5%"
    assert (alert.fingerprint, alert.group_key, alert.pagerduty_incident) == ("Q2HMW5ZJ3KX0QR",) * 3
    assert alert.raw == TRIGGERED["event"]


@pytest.mark.parametrize(
    ("name", "status", "acknowledged", "by"),
    [
        ("incident-triggered", "firing", False, None),
        ("incident-acknowledged", "firing", True, "Jane Oncall"),
        ("incident-priority-updated", "firing", True, None),  # still acknowledged, by whom unsaid
        ("incident-resolved", "resolved", False, None),
        ("incident-reopened", "firing", False, None),
    ],
)
def test_lifecycle(name: str, status: str, acknowledged: bool, by: str | None) -> None:
    (alert,) = pagerduty.parse(json.loads((FOLDER / f"{name}.json").read_text()))
    assert (alert.status, alert.acknowledged, alert.acknowledged_by) == (status, acknowledged, by)


def test_reopened_starts_a_new_cycle() -> None:
    (alert,) = pagerduty.parse(json.loads((FOLDER / "incident-reopened.json").read_text()))
    assert alert.starts_at is not None
    assert alert.starts_at.isoformat() == "2026-11-22T04:02:10+00:00"


@pytest.mark.parametrize("name", ["pagey-ping", "incident-annotated", "unknown-event-type"])
def test_other_event_types_are_no_alert(name: str) -> None:
    assert pagerduty.parse(json.loads((FOLDER / f"{name}.json").read_text())) == []


def test_priority_update_on_a_resolved_incident_does_not_reopen() -> None:
    body = json.loads((FOLDER / "incident-priority-updated.json").read_text())
    body["event"]["data"]["status"] = "resolved"
    (alert,) = pagerduty.parse(body)
    assert alert.status == "resolved"


def broken(path: list[str | int], value: Any) -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(TRIGGERED)
    target: Any = body
    for part in path[:-1]:
        target = target[part]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "event: field required"),
        (broken(["event", "event_type"], KeyError), "event.event_type: field required"),
        (broken(["event", "data"], "x"), "event.data: input should be a valid dictionary"),
        (broken(["event", "data", "id"], KeyError), "event.data.id: field required"),
        (
            broken(["event", "data", "created_at"], "soon"),
            "event.data.created_at: input should be a valid datetime",
        ),
        (
            broken(["event", "data", "service"], "Checkout"),
            "event.data.service: input should be a valid dictionary",
        ),
    ],
)
def test_bad_payloads_name_the_field(body: dict[str, Any], message: str) -> None:
    with pytest.raises(PayloadError) as caught:
        pagerduty.parse(body)
    assert str(caught.value).startswith(message), str(caught.value)


def test_delivery_id_is_the_webhook_id() -> None:
    assert pagerduty.delivery_id({"x-webhook-id": " abc-123 "}, {}) == "abc-123"
    assert pagerduty.delivery_id({}, {}) is None
