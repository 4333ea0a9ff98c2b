from __future__ import annotations

import json
import re
from typing import Any

import pytest

from router.decide import load_ruleset
from router.errors import PayloadError, Unauthorized
from router.sources import datadog
from tests.helpers import GOLDEN, ROOT, ROUTES, RUNBOOKS

FOLDER = GOLDEN / "sources/datadog"
TRIGGERED = json.loads((FOLDER / "triggered.json").read_text())


def test_tags_become_labels() -> None:
    assert datadog.tags_to_labels("env:prod, team:payments,canary,url:https://x.example/a,, ") == {
        "env": "prod",
        "team": "payments",
        "canary": "",
        "url": "https://x.example/a",
    }


@pytest.mark.parametrize(
    ("transition", "alert_type", "status"),
    [
        ("Triggered", "error", "firing"),
        ("Re-Triggered", "error", "firing"),
        ("Warn", "warning", "firing"),
        ("Re-Warn", "warning", "firing"),
        ("No Data", "error", "firing"),
        ("Re-No Data", "error", "firing"),
        ("Renotify", "error", "firing"),
        ("Recovered", "success", "resolved"),
        ("Something New", "error", "firing"),  # unknown: never dropped
        ("Something New", "success", "resolved"),
    ],
)
def test_transitions(transition: str, alert_type: str, status: str) -> None:
    (alert,) = datadog.parse(TRIGGERED | {"transition": transition, "alert_type": alert_type})
    assert alert.status == status


def test_identity_is_monitor_and_scope_across_repeats_and_recovery() -> None:
    names = ["triggered", "re-triggered", "recovered", "numbers-not-strings"]
    alerts = [datadog.parse(json.loads((FOLDER / f"{n}.json").read_text()))[0] for n in names]
    assert len({(a.fingerprint, a.group_key) for a in alerts}) == 1
    other_scope = datadog.parse(TRIGGERED | {"scope": "service:checkout,env:staging"})[0]
    assert other_scope.fingerprint != alerts[0].fingerprint


def test_contract_labels() -> None:
    (alert,) = datadog.parse(TRIGGERED)
    assert alert.name == alert.labels["alertname"] == "Checkout p99 latency above 2s"
    assert {
        k: alert.labels[k] for k in ("priority", "alert_type", "env", "service", "team", "monitor")
    } == {
        "priority": "P2",
        "alert_type": "error",
        "env": "prod",
        "service": "checkout",
        "team": "payments",
        "monitor": "",
    }
    assert alert.summary == "p99 latency for checkout is 2.41s (threshold 2s)."  # handles dropped
    assert alert.url == TRIGGERED["link"]


def test_empty_and_unreplaced_variables_are_absent() -> None:
    (alert,) = datadog.parse(json.loads((FOLDER / "unreplaced-variables.json").read_text()))
    assert "priority" not in alert.labels
    assert "hostname" not in alert.labels
    assert "severity" not in alert.labels
    assert "team" not in alert.labels
    assert all("$" not in v for v in [*alert.labels.values(), *alert.annotations.values()])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "body: expected a JSON object, got list"),
        ({"transition": "Triggered"}, "title: required (with monitor_id)"),
        (TRIGGERED | {"date": "yesterday"}, "date: expected epoch milliseconds, got 'yesterday'"),
        (TRIGGERED | {"date": "-5"}, "date: epoch milliseconds out of range"),
        (TRIGGERED | {"tags": ["env:prod"]}, "tags: input should be a valid string"),
        (TRIGGERED | {"schema": "someone-else/v9"}, "schema: expected 'runbook-router/datadog/v1'"),
    ],
)
def test_bad_payloads_name_the_field(body: Any, message: str) -> None:
    with pytest.raises(PayloadError) as caught:
        datadog.parse(body)
    assert str(caught.value).startswith(message), str(caught.value)


def test_secret_header() -> None:
    datadog.verify({"x-router-secret": "s3cret"}, b"", ["old", "s3cret"])
    for headers in ({}, {"x-router-secret": "nope"}, {"x-router-secret": "s3cret "}):
        with pytest.raises(Unauthorized, match="X-Router-Secret") as caught:
            datadog.verify(headers, b"", ["s3cret"])
        assert "s3cret" not in str(caught.value).replace("X-Router-Secret", "")


def test_delivery_id_is_the_event_id() -> None:
    assert datadog.delivery_id({}, TRIGGERED) == "7419832650199812345"
    assert datadog.delivery_id({}, {"id": 42}) == "42"
    assert datadog.delivery_id({}, {"event_id": "$ID"}) is None
    assert datadog.delivery_id({}, {"event_id": ""}) is None


def test_the_documented_template_parses() -> None:
    """docs/datadog.md's JSON, with Datadog's variables filled in, is what parse reads."""
    docs = (ROOT / "docs/datadog.md").read_text()
    template = json.loads(re.findall(r"```json\n(.*?)```", docs, re.S)[0])
    assert template["schema"] == datadog.SCHEMA
    filled = {k: TRIGGERED.get(k, v) for k, v in template.items()}
    assert datadog.parse(filled) == datadog.parse(TRIGGERED)
    unfilled = datadog.parse(
        template | {"title": "[Triggered] Something", "transition": "Triggered"}
    )
    assert unfilled[0].labels == {"alertname": "Something"}


@pytest.mark.parametrize(
    ("title", "parts"),
    [
        (
            "[P1] [Triggered on {service:checkout,env:prod}] Checkout latency p99",
            ("P1", "Triggered", "service:checkout,env:prod", "Checkout latency p99"),
        ),
        ("[P1] [Recovered] Checkout latency p99", ("P1", "Recovered", "", "Checkout latency p99")),
        ("[Re-Triggered on {host:a}] Disk full", ("", "Re-Triggered", "host:a", "Disk full")),
        (
            "[No Data on {service:billing}] Heartbeat",
            ("", "No Data", "service:billing", "Heartbeat"),
        ),
        ("[Warn] Lag [replica]", ("", "Warn", "", "Lag [replica]")),
        ("Plain event title", ("", "", "", "Plain event title")),
    ],
)
def test_default_title_parts(title: str, parts: tuple[str, str, str, str]) -> None:
    assert datadog.title_parts(title) == parts


def default_payload(name: str) -> dict[str, Any]:
    path = GOLDEN / "sources" / "datadog" / f"{name}.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_default_payload_recovery_resolves_the_triggered_alert() -> None:
    (fired,) = datadog.parse(default_payload("default-p1-triggered"))
    (recovered,) = datadog.parse(default_payload("default-p1-recovered"))
    assert (fired.status, recovered.status) == ("firing", "resolved")
    assert fired.fingerprint == recovered.fingerprint
    assert fired.group_key == recovered.group_key == "datadog:1234567|service:checkout,env:prod"
    assert fired.labels["priority"] == "P1"
    assert fired.links == {"monitor": "https://app.datadoghq.com/monitors/1234567"}
    assert fired.summary == "Checkout p99 latency is 2.4s (threshold 2s)"
    description = fired.annotations["description"]
    assert "%%%" not in description
    assert "@webhook-runbook-router" not in description
    assert "[RUN-007](https://runbooks.example.com/RUN-007)" in description  # markdown kept


@pytest.mark.parametrize("name", ["default-warn", "default-no-data"])
def test_default_payload_warn_and_no_data_fire(name: str) -> None:
    (alert,) = datadog.parse(default_payload(name))
    assert alert.status == "firing"


def test_default_payload_priority_sets_the_level() -> None:
    ruleset = load_ruleset(ROUTES, RUNBOOKS)
    (alert,) = datadog.parse(default_payload("default-p1-triggered"))
    (decision,) = ruleset.decide(alert)
    assert decision.severity.level == "SEV0"
    assert decision.severity.reason == "priority=P1 -> SEV0 (datadog map)"
