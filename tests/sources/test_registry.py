"""SOURCES is the one list of sources: every name once, each with a credential setting
that Settings reads and a button the messages can carry."""

from __future__ import annotations

from typing import get_args

import pytest
from pydantic import SecretStr

from router.alert import SourceName
from router.render.buttons import Button
from router.settings import SECRET_FIELDS, Settings
from router.slackapp import command
from router.sources import SOURCES, Source, _registry, page_button


def test_every_source_name_has_exactly_one_entry() -> None:
    names = get_args(SourceName)
    assert len(names) == len(set(names))
    assert sorted(SOURCES) == sorted(names)
    assert all(key == source.name for key, source in SOURCES.items())


def test_a_source_registered_twice_is_refused() -> None:
    twice = SOURCES["datadog"]
    with pytest.raises(AssertionError, match="twice"):
        _registry(twice, twice)


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_each_secret_setting_exists_on_settings(source: str) -> None:
    env = SOURCES[source].secret_env
    field = SECRET_FIELDS[env]
    assert field in Settings.model_fields
    assert SecretStr in get_args(Settings.model_fields[field].annotation)
    settings = Settings.model_validate({env: " one, two "})
    assert settings.secrets_for(env) == ["one", "two"]
    assert Settings.model_validate({}).secrets_for(env) == []


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_each_page_button_is_a_known_action(source: str) -> None:
    entry: Source = SOURCES[source]
    assert entry.page_action in set(Button)
    found = page_button(source, "https://example.com/x")
    assert found is None or (found[0] and found[1] == entry.page_action)


def test_the_other_lists_are_read_from_the_registry() -> None:
    assert tuple(SOURCES) == command.SOURCES
    assert page_button("alertmanager", "http://prom:9090/graph?g0.expr=up") == (
        "Prometheus graph",
        Button.OPEN_SOURCE,
    )
    assert page_button("pagerduty", "https://x.pagerduty.com/incidents/P1") == (
        "Open in PagerDuty",
        Button.OPEN_PAGERDUTY,
    )
    assert page_button("datadog", "https://app.datadoghq.com/monitors/1") is None
    assert page_button("nagios", "https://nagios/x") == ("Alert source", Button.OPEN_SOURCE)


def test_one_read_gives_the_alerts_the_delivery_id_and_the_time() -> None:
    body = {
        "event": {
            "id": "01ABC",
            "event_type": "incident.triggered",
            "occurred_at": "2026-11-23T03:00:00Z",
            "data": {"id": "P123", "title": "Disk full"},
        }
    }
    parsed = SOURCES["pagerduty"].read(body, {"x-webhook-id": "ignored"})
    assert [a.fingerprint for a in parsed.alerts] == ["P123"]
    assert parsed.delivery_id == "event:01ABC"
    assert parsed.occurred_at is not None
    assert parsed.occurred_at.isoformat() == "2026-11-23T03:00:00+00:00"
    assert parsed.later is None


def test_a_big_body_is_read_later_a_slice_at_a_time() -> None:
    items = [{"labels": {"alertname": f"A{i}"}} for i in range(5)]
    source = SOURCES["alertmanager"]
    parsed = source.read({"alerts": items}, chunk=2)
    assert parsed.alerts == []
    assert parsed.size == 5
    assert parsed.later is not None
    slices = [[a.name for a in chunk] for chunk in parsed.later()]
    assert slices == [["A0", "A1"], ["A2", "A3"], ["A4"]]
    assert [a.name for a in source.read({"alerts": items}, chunk=5).alerts] == [
        f"A{i}" for i in range(5)
    ]
