from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from router.errors import PayloadError, Unauthorized
from router.sources import alertmanager
from tests.helpers import GOLDEN

FIRING = json.loads((GOLDEN / "sources/alertmanager/firing-single.json").read_text())


def test_fields_of_a_firing_alert() -> None:
    (alert,) = alertmanager.parse(FIRING)
    assert alert.name == "DatabaseConnectionPoolHigh"
    assert alert.status == "firing"
    assert alert.fingerprint == "b1c6f0a3d2e9f874"
    assert alert.group_key == FIRING["groupKey"]
    assert alert.ends_at is None  # Go's zero time means "still firing"
    assert alert.starts_at is not None
    assert alert.starts_at.isoformat() == "2026-11-22T03:02:41.482000+00:00"
    assert alert.source_severity == "critical"
    assert alert.summary == "Connection pool for main is nearly exhausted"
    assert alert.url is not None
    assert alert.url.startswith("http://prometheus-0:9090/graph")
    assert alert.raw == FIRING["alerts"][0]


def test_missing_fingerprint_is_derived_from_labels_stably() -> None:
    body = {"alerts": [{"labels": {"b": "2", "a": "1"}}, {"labels": {"a": "1", "b": "2"}}]}
    first, second = alertmanager.parse(body)
    assert first.fingerprint == second.fingerprint
    assert len(first.fingerprint) == 16


def test_alert_status_falls_back_to_the_group_status() -> None:
    (alert,) = alertmanager.parse(
        {"status": "resolved", "alerts": [{"labels": {"alertname": "A"}}]}
    )
    assert alert.status == "resolved"


def test_summary_falls_back_to_description_then_common_summary() -> None:
    body = {
        "commonAnnotations": {"summary": "common"},
        "alerts": [
            {"labels": {"alertname": "A"}, "annotations": {"description": "desc"}},
            {"labels": {"alertname": "B"}},
        ],
    }
    assert [a.summary for a in alertmanager.parse(body)] == ["desc", "common"]


def test_hundreds_of_alerts_in_one_request() -> None:
    body = copy.deepcopy(FIRING)
    item = body["alerts"][0]
    body["alerts"] = [
        {**item, "fingerprint": f"{i:016x}", "labels": {**item["labels"], "i": str(i)}}
        for i in range(500)
    ]
    alerts = alertmanager.parse(body)
    assert len({a.fingerprint for a in alerts}) == 500


def broken(path: str, value: Any) -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(FIRING)
    target: Any = body
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is KeyError:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return body


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (broken("alerts", KeyError), "alerts: field required"),
        (broken("alerts", "nope"), "alerts: input should be a valid list"),
        (broken("alerts.0", "nope"), "alerts[0]: input should be a valid dictionary"),
        (broken("alerts.0.labels", KeyError), "alerts[0].labels: field required"),
        (broken("alerts.0.labels", ["a"]), "alerts[0].labels: input should be a valid dictionary"),
        (broken("alerts.0.labels.env", 3), "alerts[0].labels.env: input should be a valid string"),
        (
            broken("alerts.0.annotations.summary", None),
            "alerts[0].annotations.summary: input should be a valid string",
        ),
        (
            broken("alerts.0.startsAt", "yesterday"),
            "alerts[0].startsAt: input should be a valid datetime",
        ),
        (
            broken("alerts.0.status", "pending"),
            "alerts[0].status: input should be 'firing' or 'resolved'",
        ),
        (broken("version", "3"), "version: expected \"4\", got '3'"),
        ([], "body: expected a JSON object, got list"),
        ("text", "body: expected a JSON object, got str"),
    ],
)
def test_bad_payloads_name_the_field(body: Any, message: str) -> None:
    with pytest.raises(PayloadError) as caught:
        alertmanager.parse(body)
    assert str(caught.value).startswith(message), str(caught.value)


def test_bearer_token() -> None:
    alertmanager.verify({"authorization": "Bearer s3cret"}, b"", ["old", "s3cret"])
    alertmanager.verify({"authorization": "bearer s3cret"}, b"", ["s3cret"])
    for header in ("Bearer wrong", "Basic s3cret", "s3cret", "Bearer ", ""):
        with pytest.raises(Unauthorized) as caught:
            alertmanager.verify({"authorization": header}, b"", ["s3cret"])
        assert "s3cret" not in str(caught.value)
        assert "ALERTMANAGER_TOKEN" in str(caught.value)
