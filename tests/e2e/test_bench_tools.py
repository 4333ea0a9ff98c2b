"""The load generator the ingest benchmark uses: wrk and bench/unique_alerts.lua.

A benchmark is only as good as its load: every request must be a body the server
takes (a webhook the router accepts, or alerts Alertmanager's own API accepts, for
each of the script's loads), and a new group each time (so each one stores a message).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.ingest import alertmanager_config
from tests.e2e.processes import Alertmanager, RouterProcess, http
from tests.helpers import ROOT, require_binary

TOKEN = "bench-token"


def drive(url: str, *script_args: str) -> dict[str, Any]:
    """wrk with the script for a second on 2 connections, each paced at 20 ms a request."""
    wrk = require_binary("wrk")
    out = subprocess.run(
        [wrk, "-t1", "-c2", "-d1s", "-s", str(ROOT / "bench/unique_alerts.lua"),
         "-H", f"Authorization: Bearer {TOKEN}", url, "--", "20", *script_args],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    summary: dict[str, Any] = json.loads(
        next(x for x in out.splitlines() if x.startswith("JSON "))[5:]
    )
    assert summary["requests"] > 0
    assert (summary["non2xx"], summary["errors"]) == (0, 0)
    # Paced at 20 ms a request per connection: about 2 x 50 in a second, not thousands.
    assert summary["requests"] < 400
    return summary


def four_new_alerts_a_request(summary: dict[str, Any], fingerprints: list[str]) -> None:
    # Four new alerts a request, none repeated; a request in flight when wrk stopped
    # (one per connection at most) may have been stored without being counted.
    assert 4 * summary["requests"] <= len(fingerprints) <= 4 * (summary["requests"] + 2)
    assert len(set(fingerprints)) == len(fingerprints)


def spread_as_the_routes_split_them(load: str, labels: list[dict[str, str]]) -> None:
    """The labels each load's routes tell apart, as the script spreads them."""
    if load == "sharded":
        assert {x["shard"] for x in labels} == {"0", "1", "2", "3"}
        return
    teams = [x["team"] for x in labels]
    assert teams.count("platform") > len(teams) / 2  # most to the busy team
    assert set(teams) == {"platform", "payments", "data", "analytics", "search", "identity"}


def router_alerts(router: RouterProcess) -> list[dict[str, Any]]:
    router.settled()
    status, listed = http(
        "GET", f"{router.url}/alerts?state=all&limit=1000", headers={"Accept": "application/json"}
    )
    assert status == 200
    alerts: list[dict[str, Any]] = listed["alerts"]
    return alerts


def test_the_wrk_script_sends_unique_valid_webhooks(
    start_router: Callable[..., RouterProcess],
) -> None:
    router = start_router(ALERTMANAGER_TOKEN=TOKEN)
    summary = drive(f"{router.url}/webhooks/alertmanager")
    four_new_alerts_a_request(summary, [a["fingerprint"] for a in router_alerts(router)])


def test_the_realistic_load_reaches_the_realistic_tables_routes(
    start_router: Callable[..., RouterProcess],
) -> None:
    router = start_router(
        ALERTMANAGER_TOKEN=TOKEN, ROUTER_CONFIG=str(ROOT / "bench/realistic_routes.yaml")
    )
    summary = drive(f"{router.url}/webhooks/alertmanager", "realistic", "webhook")
    alerts = router_alerts(router)
    four_new_alerts_a_request(summary, [a["fingerprint"] for a in alerts])
    spread_as_the_routes_split_them("realistic", [a["labels"] for a in alerts])
    # The busy team's alerts share one channel; its critical ones go to the pager too.
    channels = {d["channel"] for a in alerts for d in a["decisions"]}
    assert {"#platform-alerts", "#platform-oncall", "#payments-alerts"} <= channels


@pytest.mark.parametrize("load", ["sharded", "realistic"])
def test_the_api_bodies_are_alerts_alertmanager_takes(tmp_path: Path, load: str) -> None:
    manager = Alertmanager(tmp_path, "", "", config=alertmanager_config()).start()
    try:
        summary = drive(f"{manager.url}/api/v2/alerts", load, "api")
        status, listed = http("GET", f"{manager.url}/api/v2/alerts")
    finally:
        manager.stop()
    assert status == 200
    four_new_alerts_a_request(summary, [a["fingerprint"] for a in listed])
    assert all(a["status"]["state"] == "active" for a in listed)
    spread_as_the_routes_split_them(load, [a["labels"] for a in listed])
