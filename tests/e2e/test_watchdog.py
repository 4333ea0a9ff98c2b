"""The shipped dead man's switch, with the real Alertmanager running the shipped example.

deploy/alertmanager-example.yml and the watchdog route of routes.yaml, with every
time in both divided by the same factor (so in the same ratio as shipped), the
webhook pointed at the router and its token in a file of the test's: while
Watchdog fires, no "pipeline silent" alarm over several heartbeats; once it
stops, the alarm (so the first half could have failed).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from router.config_values import parse_duration
from router.deliveries.heartbeat import ALERTNAME
from tests.e2e.processes import Alertmanager, RouterProcess, http
from tests.fakes.slack import FakeSlack
from tests.helpers import ROOT, wait_for

TOKEN = "e2e-watchdog-token"
SCALE = 120
"""A shipped minute becomes half a second: 15m of heartbeat is 7.5 s."""
PERIODS = 3
"""Heartbeat periods Watchdog keeps firing without an alarm."""
TIMES = ("group_wait", "group_interval", "repeat_interval")


def scaled(value: str) -> str:
    return f"{round(parse_duration(value) * 1000 / SCALE)}ms"


def scale_route(route: dict[str, Any]) -> None:
    for key in TIMES:
        if key in route:
            route[key] = scaled(route[key])
    for child in route.get("routes", []):
        scale_route(child)


def shipped_alertmanager(webhook_url: str, token_file: Path) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(
        (ROOT / "deploy/alertmanager-example.yml").read_text("utf-8")
    )
    scale_route(config["route"])
    (hook,) = config["receivers"][0]["webhook_configs"]
    hook["url"] = webhook_url
    hook["http_config"]["authorization"]["credentials_file"] = str(token_file)
    return config


def shipped_routes(tmp: Path) -> tuple[Path, float]:
    """routes.yaml as shipped, its watchdog heartbeat scaled; and that heartbeat."""
    data = yaml.safe_load((ROOT / "routes.yaml").read_text("utf-8"))
    (route,) = [r for r in data["routes"] if r["name"] == "watchdog"]
    route["heartbeat"] = scaled(route["heartbeat"])
    path = tmp / "routes.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path, parse_duration(route["heartbeat"])


def watchdog(*, ends_in: timedelta) -> list[dict[str, Any]]:
    """kube-prometheus's Watchdog as Prometheus sends it (labels and summary)."""
    return [
        {
            "labels": {"alertname": "Watchdog", "severity": "none"},
            "annotations": {"summary": "An alert that should always be firing."},
            "endsAt": (datetime.now(UTC) + ends_in).isoformat(),
        }
    ]


def stored_names(router: RouterProcess) -> list[str]:
    status, body = http("GET", f"{router.url}/alerts", headers={"Accept": "application/json"})
    assert status == 200, body
    return [a["name"] for a in body["alerts"]]


def test_shipped_watchdog_keeps_the_heartbeat_quiet_and_its_absence_raises_the_alarm(
    tmp_path: Path, fake_slack: FakeSlack, start_router: Callable[..., RouterProcess]
) -> None:
    routes, heartbeat = shipped_routes(tmp_path)
    router = start_router(
        ROUTER_CONFIG=str(routes),
        ROUTER_RUNBOOKS=str(ROOT / "runbooks"),
        ALERTMANAGER_TOKEN=TOKEN,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_API_URL=fake_slack.base_url,
    )
    token_file = tmp_path / "router-token"
    token_file.write_text(TOKEN)
    webhook = f"{router.url}/webhooks/alertmanager"
    am = Alertmanager(tmp_path, webhook, TOKEN, shipped_alertmanager(webhook, token_file))
    copies = 'router_alerts_routed_total{route="watchdog",source="alertmanager"}'
    try:
        am.start()
        am.post_alerts(watchdog(ends_in=timedelta(hours=1)))  # firing, as Prometheus keeps it
        wait_for(lambda: router.metric(copies) >= 1, 15, "the first Watchdog copy")
        first = time.monotonic()

        def watched() -> bool:
            return time.monotonic() - first > PERIODS * heartbeat

        wait_for(watched, PERIODS * heartbeat + 5, f"{PERIODS} heartbeat periods")
        router.settled()
        assert stored_names(router) == ["Watchdog"], "no alarm while Watchdog arrives"
        assert fake_slack.posts() == []
        assert router.metric(copies) > PERIODS, "Alertmanager re-sent Watchdog every period"

        # The control: Watchdog stops (as when Prometheus dies), the alarm follows.
        am.post_alerts(watchdog(ends_in=timedelta(seconds=-1)))
        wait_for(lambda: bool(fake_slack.posts()), heartbeat + 15, "the heartbeat alarm")
    finally:
        am.stop()
    (alarm,) = fake_slack.posts("#alerting-meta")
    assert fake_slack.posts() == [alarm]
    assert ALERTNAME in stored_names(router)
    assert "The alerting pipeline is silent: no Watchdog" in alarm.text
    assert "SEV1" in alarm.text
