"""/alerts' filters in SQL, on SQLite and PostgreSQL (the ``store`` fixture runs both)."""

from __future__ import annotations

from typing import Any

import pytest

from router.decide import Ruleset
from router.records import AlertFilter
from router.store import Store
from tests.helpers import make_alert


@pytest.fixture
def stored(store: Store, ruleset: Ruleset) -> Store:
    """Five alerts: three firing in three channels, two resolved."""
    alerts = [
        make_alert(env="prod", severity="critical", instance="db-1", summary="Pool at 95%"),
        make_alert(
            "KubePodCrashLooping",
            group_key="g2",
            namespace="jobs",
            pod="worker-7f9",
            container="api",
            severity="warning",
        ),
        make_alert("HighErrorRate", group_key="g3", service="checkout", severity="critical"),
        make_alert(
            "QueueDepthHigh",
            group_key="g4",
            status="resolved",
            queue="emails",
            ends_at="2026-11-22T01:10:00Z",
            severity="warning",
        ),
        make_alert("Watchdog", group_key="g5", status="resolved", severity="none"),
    ]
    store.ingest([(a, ruleset.decide(a)) for a in alerts])
    return store


def names(store: Store, **where: Any) -> list[str]:
    return sorted(a.name for a in store.recent_alerts(AlertFilter(**where)))


def test_no_filter_is_every_alert(stored: Store) -> None:
    assert len(stored.recent_alerts()) == 5


def test_state(stored: Store) -> None:
    assert names(stored, state="firing") == [
        "DatabaseConnectionPoolHigh",
        "HighErrorRate",
        "KubePodCrashLooping",
    ]
    assert names(stored, state="resolved") == ["QueueDepthHigh", "Watchdog"]


def test_channel_with_or_without_the_hash(stored: Store) -> None:
    assert names(stored, channel="#db-oncall") == ["DatabaseConnectionPoolHigh"]
    assert names(stored, channel="incidents") == ["HighErrorRate"]
    assert names(stored, channel="#nowhere") == []


def test_level_and_route_hold_of_one_decision(stored: Store) -> None:
    assert names(stored, level="SEV1") == ["DatabaseConnectionPoolHigh", "HighErrorRate"]
    assert names(stored, level="SEV1", channel="#incidents") == ["HighErrorRate"]
    assert names(stored, route="db-pool") == ["DatabaseConnectionPoolHigh"]
    assert names(stored, route="db-pool", level="SEV3") == []
    # KubePodCrashLooping of no worker container matches no route: the default.
    assert names(stored, route="default") == ["KubePodCrashLooping"]
    assert names(stored, channel="#alerts") == ["KubePodCrashLooping", "Watchdog"]


def test_source(stored: Store) -> None:
    assert len(names(stored, source="alertmanager")) == 5
    assert names(stored, source="datadog") == []


def test_words_search_name_summary_and_label_values(stored: Store) -> None:
    assert names(stored, words=("crashloop",)) == ["KubePodCrashLooping"]  # name, any case
    assert names(stored, words=("95%",)) == ["DatabaseConnectionPoolHigh"]  # summary
    assert names(stored, words=("worker-7f9",)) == ["KubePodCrashLooping"]  # a label value
    assert names(stored, words=("CHECKOUT",)) == ["HighErrorRate"]
    assert names(stored, words=("emails", "queue")) == ["QueueDepthHigh"]  # every word
    assert names(stored, words=("emails", "checkout")) == []
    assert names(stored, words=("_",)) == []  # LIKE's wildcards are plain characters
    assert names(stored, words=("%",)) == ["DatabaseConnectionPoolHigh"]


def test_filters_together_and_the_limit(stored: Store) -> None:
    assert names(stored, state="firing", words=("prod",), channel="db-oncall") == [
        "DatabaseConnectionPoolHigh"
    ]
    assert len(stored.recent_alerts(AlertFilter(limit=2))) == 2
