"""Grafana alerting's webhook: fields, links and values, and bodies sent as Alertmanager's."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from router.errors import PayloadError, Unauthorized
from router.sources import SOURCES, alertmanager, grafana
from tests.helpers import GOLDEN, payloads

FOLDER = GOLDEN / "sources" / "grafana"
FIRING = json.loads((FOLDER / "firing-single.json").read_text(encoding="utf-8"))


def test_fields_links_and_value_of_a_firing_alert() -> None:
    (alert,) = grafana.parse(FIRING)
    assert (alert.source, alert.status, alert.name) == ("grafana", "firing", "CheckoutLatencyHigh")
    assert alert.fingerprint == "7c1e7a5f0e3b9a21"
    assert alert.group_key == FIRING["groupKey"]
    assert alert.starts_at is not None
    assert alert.starts_at.isoformat() == "2026-11-27T21:41:10+00:00"  # +01:00 in the body
    assert alert.ends_at is None
    assert alert.url == FIRING["alerts"][0]["generatorURL"]
    assert sorted(alert.links) == ["dashboard", "external", "panel", "silence"]
    assert alert.links["external"] == FIRING["externalURL"]  # which Grafana: its API, if set
    assert alert.value.startswith("[ var='A' labels={service=checkout} value=2.417 ]")
    assert alert.annotations["description"].startswith("p99 of checkout_request")


def test_resolved_has_its_end_time() -> None:
    (alert,) = grafana.parse(json.loads((FOLDER / "resolved.json").read_text(encoding="utf-8")))
    assert alert.status == "resolved"
    assert alert.starts_at is not None
    assert alert.ends_at is not None
    assert (alert.ends_at - alert.starts_at).total_seconds() == 18 * 60


def test_values_without_value_string_and_empty_links() -> None:
    (alert,) = grafana.parse(json.loads((FOLDER / "non-ascii.json").read_text(encoding="utf-8")))
    assert alert.value == "A=7.3"  # a null value is left out
    (bare,) = grafana.parse(json.loads((FOLDER / "no-annotations.json").read_text("utf-8")))
    assert (bare.links, bare.value, bare.summary) == (
        {"external": "https://grafana.example.com/"},
        "",
        "",
    )


@pytest.mark.parametrize("path", payloads("grafana"), ids=lambda p: p.stem)
def test_grafana_bodies_sent_to_the_alertmanager_endpoint_read_the_same(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert grafana.is_grafana(data)
    assert alertmanager.parse(data) == grafana.parse(data)


def test_a_grafana_body_without_version_is_still_recognised() -> None:
    data = copy.deepcopy(FIRING)
    del data["version"]
    del data["orgId"]
    (alert,) = alertmanager.parse(data)
    assert alert.source == "grafana"


def test_alertmanager_bodies_are_not_taken_for_grafana() -> None:
    body = json.loads((GOLDEN / "sources/alertmanager/firing-group.json").read_text("utf-8"))
    assert not grafana.is_grafana(body)
    assert {a.source for a in alertmanager.parse(body)} == {"alertmanager"}


@pytest.mark.parametrize(
    ("mutate", "path", "message"),
    [
        (lambda d: d.pop("alerts"), "alerts", "field required"),
        (lambda d: d["alerts"][0].update(labels="x"), "alerts[0].labels", "valid dictionary"),
        (lambda d: d["alerts"][0].update(status="alerting"), "alerts[0].status", "'firing'"),
        (lambda d: d["alerts"][0].update(values=["A"]), "alerts[0].values", "valid dictionary"),
        (lambda d: d["alerts"][0].update(startsAt="yesterday"), "alerts[0].startsAt", "datetime"),
    ],
)
def test_bad_fields_are_named(mutate: Any, path: str, message: str) -> None:
    data = copy.deepcopy(FIRING)
    mutate(data)
    with pytest.raises(PayloadError) as caught:
        grafana.parse(data)
    assert caught.value.path == path
    assert message in str(caught.value)


def test_bearer_token_from_grafana_token() -> None:
    verify = SOURCES["grafana"].verify
    verify({"authorization": "Bearer new"}, b"", ["old", "new"])
    with pytest.raises(Unauthorized, match="GRAFANA_TOKEN"):
        verify({"authorization": "Bearer nope"}, b"", ["old", "new"])
    with pytest.raises(Unauthorized, match=r"expected a Bearer token \(GRAFANA_TOKEN\)"):
        verify({}, b"", ["new"])
