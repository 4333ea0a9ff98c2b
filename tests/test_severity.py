from __future__ import annotations

import pytest

from router.alert import Alert
from router.config import parse_routes
from router.severity import classify, most_severe

CONFIG = parse_routes(
    """
severity:
  from_source:
    alertmanager: {label: severity, map: {critical: SEV1, error: SEV2, warning: SEV3, info: SEV4}}
    pagerduty: {priority: {P1: SEV0, P2: SEV1}, urgency: {high: SEV1, low: SEV3}}
    datadog: {priority: {P1: SEV0}, alert_type: {error: SEV1, warning: SEV3}}
  default: SEV2
"""
).data.severity


def alert(source: str, **labels: str) -> Alert:
    return Alert(
        source=source, status="firing", name="A", fingerprint="f", group_key="g", labels=labels
    )


@pytest.mark.parametrize(
    ("source", "labels", "level", "reason"),
    [
        (
            "alertmanager",
            {"severity": "critical"},
            "SEV1",
            "severity=critical -> SEV1 (alertmanager map)",
        ),
        (
            "alertmanager",
            {"severity": "warning"},
            "SEV3",
            "severity=warning -> SEV3 (alertmanager map)",
        ),
        (
            "alertmanager",
            {"severity": "CRITICAL"},
            "SEV1",
            "severity=CRITICAL -> SEV1 (alertmanager map)",
        ),
        (
            "alertmanager",
            {"severity": "page"},
            "SEV2",
            "severity=page not in the alertmanager map -> default SEV2",
        ),
        ("alertmanager", {}, "SEV2", "no severity label -> default SEV2"),
        # first label present wins: priority before urgency
        (
            "pagerduty",
            {"priority": "P1", "urgency": "low"},
            "SEV0",
            "priority=P1 -> SEV0 (pagerduty map)",
        ),
        ("pagerduty", {"urgency": "low"}, "SEV3", "urgency=low -> SEV3 (pagerduty map)"),
        # an unknown priority falls through to urgency, which is mapped
        (
            "pagerduty",
            {"priority": "P9", "urgency": "high"},
            "SEV1",
            "urgency=high -> SEV1 (pagerduty map)",
        ),
        ("datadog", {"alert_type": "warning"}, "SEV3", "alert_type=warning -> SEV3 (datadog map)"),
    ],
)
def test_source_maps(source: str, labels: dict[str, str], level: str, reason: str) -> None:
    severity = classify(alert(source, **labels), CONFIG)
    assert (severity.level, severity.reason) == (level, reason)


def test_unmapped_value_is_flagged_not_silent() -> None:
    severity = classify(alert("alertmanager", severity="page"), CONFIG)
    assert severity.unmapped
    assert not classify(alert("alertmanager", severity="info"), CONFIG).unmapped


def test_route_override_wins() -> None:
    severity = classify(alert("alertmanager", severity="info"), CONFIG, override="SEV0", route="db")
    assert (severity.level, severity.reason) == ("SEV0", "route 'db' sets SEV0")
    assert severity.respond == "immediately"


def test_source_without_a_map_gets_the_default() -> None:
    config = parse_routes("severity: {default: SEV3}").data.severity
    severity = classify(alert("datadog", priority="P1"), config)
    assert (severity.level, severity.reason) == ("SEV3", "no datadog map -> default SEV3")


def test_most_severe_is_the_lowest_number() -> None:
    levels = [
        classify(alert("alertmanager", severity=s), CONFIG) for s in ("info", "critical", "warning")
    ]
    assert most_severe(levels).level == "SEV1"
