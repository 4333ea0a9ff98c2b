"""Sentry: event and metric alert webhooks, signatures, and what is ignored."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from router.errors import PayloadError, Unauthorized
from router.sources import sentry
from tests.helpers import GOLDEN

FOLDER = GOLDEN / "sources" / "sentry"


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FOLDER / f"{name}.json").read_text(encoding="utf-8"))
    return data


def test_signature_known_answer() -> None:
    """Computed with: printf '%s' '{"a":1}' | openssl dgst -sha256 -hmac sentry-secret-0123."""
    signature = "1bf5092ec71027b23a3530c50deb4b65fce9683704e3f6be1311ed95f0568f89"
    sentry.verify({"sentry-hook-signature": signature}, b'{"a":1}', ["old", "sentry-secret-0123"])


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Sentry-Hook-Signature: missing"),
        ({"sentry-hook-signature": "00" * 32}, "does not match SENTRY_CLIENT_SECRET"),
        ({"sentry-hook-signature": "not hex"}, "does not match SENTRY_CLIENT_SECRET"),
    ],
)
def test_bad_signatures_are_refused(headers: dict[str, str], message: str) -> None:
    with pytest.raises(Unauthorized, match=message):
        sentry.verify(headers, b'{"a":1}', ["sentry-secret-0123"])


def test_event_alert_labels_come_from_project_environment_rule_and_tags() -> None:
    (alert,) = sentry.parse(payload("event-alert"))
    assert (alert.source, alert.status, alert.name) == (
        "sentry",
        "firing",
        "Checkout errors in production",
    )
    labels = alert.labels
    assert (labels["project"], labels["environment"], labels["level"]) == (
        "checkout",
        "production",
        "error",
    )
    assert labels["server_name"] == "checkout-7f9c6d-x2k4q"
    assert labels["os_name"] == "Linux"  # tag names made label-shaped
    assert alert.summary == "PaymentGatewayTimeout: capture timed out after 10s"
    assert alert.fingerprint == "issue:5120991087"


def test_metric_alert_critical_then_resolved_is_one_alert() -> None:
    (critical,) = sentry.parse(payload("metric-critical"))
    (warning,) = sentry.parse(payload("metric-warning"))
    (resolved,) = sentry.parse(payload("metric-resolved"))
    assert [a.status for a in (critical, warning, resolved)] == ["firing", "firing", "resolved"]
    assert critical.fingerprint == warning.fingerprint == resolved.fingerprint
    assert (critical.labels["severity"], warning.labels["severity"]) == ("critical", "warning")
    assert critical.summary == "Critical: p95 checkout latency"
    assert critical.annotations["description"].startswith("2431.5ms p95")
    assert resolved.starts_at is not None
    assert resolved.ends_at is not None
    assert (resolved.ends_at - resolved.starts_at).total_seconds() == 19 * 60


def test_other_resources_carry_no_alert() -> None:
    assert sentry.parse(payload("installation-created")) == []


@pytest.mark.parametrize(
    ("name", "mutate", "path"),
    [
        ("metric-critical", lambda d: d.update(action="exploded"), "action"),
        (
            "metric-critical",
            lambda d: d["data"]["metric_alert"].pop("alert_rule"),
            "data.metric_alert.alert_rule",
        ),
        (
            "metric-critical",
            lambda d: d["data"]["metric_alert"]["alert_rule"].update(name=7),
            "data.metric_alert.alert_rule.name",
        ),
        ("event-alert", lambda d: d["data"]["event"].update(tags="x"), "data.event.tags"),
        (
            "event-alert",
            lambda d: d["data"]["event"].update(datetime="noon"),
            "data.event.datetime",
        ),
        ("event-alert", lambda d: d.pop("data"), "data"),
    ],
)
def test_bad_fields_are_named(name: str, mutate: Any, path: str) -> None:
    data = copy.deepcopy(payload(name))
    mutate(data)
    with pytest.raises(PayloadError) as caught:
        sentry.parse(data)
    assert caught.value.path == path


def test_the_signed_body_not_the_request_id_is_the_delivery_id() -> None:
    """Request-ID is not signed: a replay would pick a new one."""
    body = payload("metric-critical")
    known = sentry.delivery_id({"request-id": "a1b2"}, body)
    assert known == sentry.delivery_id({"request-id": "replayed"}, copy.deepcopy(body))
    assert known is not None
    assert known.startswith("body:")
    assert sentry.delivery_id({}, payload("metric-resolved")) != known
