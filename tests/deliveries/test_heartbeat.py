"""The dead man's switch: a heartbeat route that goes silent posts once, and its return resolves.

An injected clock and the dispatcher driven by hand: no sleeping for minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from router.app import create_app
from router.runtime import Runtime
from tests.fakes.clock import FakeClock
from tests.fakes.slack import FakeSlack
from tests.helpers import AUTH, GOLDEN, settings

SECRET = "heartbeat-source-secret"
ROUTES = """
routes:
  - name: watchdog
    matchers: ['alertname="Watchdog"']
    heartbeat: 10m
    channel: "#alerting-meta"
"""


def watchdog() -> bytes:
    data = json.loads((GOLDEN / "sources/alertmanager/firing-single.json").read_text("utf-8"))
    data["alerts"][0]["labels"] = {"alertname": "Watchdog", "severity": "none"}
    data["alerts"][0]["fingerprint"] = "00000000watchdog"
    data["groupKey"] = '{}:{alertname="Watchdog"}'
    return json.dumps(data).encode()


@pytest.fixture
def routes(tmp_path: Path) -> Path:
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES, encoding="utf-8")
    return path


def start(
    stack: ExitStack, tmp_path: Path, routes: Path, fake_slack: FakeSlack, clock: FakeClock
) -> tuple[TestClient, Runtime]:
    app = create_app(
        settings(
            tmp_path,
            config=str(routes),
            slack_bot_token="xoxb-test",
            slack_api_url=fake_slack.base_url,
        ),
        clock=clock,
        run_dispatcher=False,
    )
    client = stack.enter_context(TestClient(app))
    runtime: Runtime = app.state.runtime
    return client, runtime


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as s:
        yield s


def test_silence_posts_once_and_the_heartbeats_return_resolves_it(
    tmp_path: Path, routes: Path, fake_slack: FakeSlack, clock: FakeClock, stack: ExitStack
) -> None:
    client, rt = start(stack, tmp_path, routes, fake_slack, clock)
    assert (
        client.post("/webhooks/alertmanager", content=watchdog(), headers=AUTH).status_code == 202
    )
    rt.dispatcher.dispatch_due()
    assert fake_slack.posts() == []  # the heartbeat itself (severity none) is never posted

    clock.advance(9 * 60)
    rt.dispatcher.dispatch_due()
    assert fake_slack.posts() == []  # not yet silent for 10m

    clock.advance(61)
    rt.dispatcher.dispatch_due()
    (alarm,) = fake_slack.posts("#alerting-meta")
    assert "SEV1" in alarm.text
    assert "The alerting pipeline is silent: no Watchdog" in alarm.text

    clock.advance(3600)
    rt.dispatcher.dispatch_due()
    assert len(fake_slack.posts()) == 1  # once, however long the silence

    client.post("/webhooks/alertmanager", content=watchdog(), headers=AUTH)
    rt.dispatcher.dispatch_due()
    assert "RESOLVED" in alarm.current_text
    (reply,) = fake_slack.replies(alarm)
    assert "cleared after 1h 10m" in reply.text  # from the last heartbeat to its return


def test_a_route_that_never_beat_is_silent_from_the_start(
    tmp_path: Path, routes: Path, fake_slack: FakeSlack, clock: FakeClock, stack: ExitStack
) -> None:
    _client, rt = start(stack, tmp_path, routes, fake_slack, clock)
    clock.advance(601)
    rt.dispatcher.dispatch_due()
    assert len(fake_slack.posts("#alerting-meta")) == 1


def test_timers_survive_a_restart_and_fire_once_across_replicas(
    tmp_path: Path, routes: Path, fake_slack: FakeSlack, clock: FakeClock
) -> None:
    with ExitStack() as first:
        client, _rt = start(first, tmp_path, routes, fake_slack, clock)
        client.post("/webhooks/alertmanager", content=watchdog(), headers=AUTH)
    # Down for longer than the interval; then two replicas come up on the database.
    clock.advance(15 * 60)
    with ExitStack() as both:
        _a, one = start(both, tmp_path, routes, fake_slack, clock)
        _b, two = start(both, tmp_path, routes, fake_slack, clock)
        one.dispatcher.dispatch_due()
        two.dispatcher.dispatch_due()
        one.dispatcher.dispatch_due()
    assert len(fake_slack.posts("#alerting-meta")) == 1


def signed(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def other_watchdogs() -> dict[str, tuple[bytes, dict[str, str]]]:
    """A firing "Watchdog" from every source but Alertmanager, with its credentials."""

    def golden(name: str) -> Any:
        return json.loads((GOLDEN / f"sources/{name}.json").read_text("utf-8"))

    grafana = golden("grafana/firing-single")
    grafana["alerts"][0]["labels"] = {"alertname": "Watchdog", "severity": "none"}
    datadog = golden("datadog/triggered") | {"title": "[Triggered] Watchdog"}
    sentry = golden("sentry/event-alert")
    sentry["data"]["triggered_rule"] = "Watchdog"
    pagerduty = golden("pagerduty/incident-triggered")
    pagerduty["event"]["data"]["title"] = "Watchdog"
    bodies = {k: json.dumps(v).encode() for k, v in [("grafana", grafana), ("datadog", datadog)]}
    bodies |= {k: json.dumps(v).encode() for k, v in [("sentry", sentry), ("pagerduty", pagerduty)]}
    json_type = {"Content-Type": "application/json"}
    return {
        "grafana": (bodies["grafana"], json_type | {"Authorization": f"Bearer {SECRET}"}),
        "datadog": (bodies["datadog"], json_type | {"X-Router-Secret": SECRET}),
        "sentry": (
            bodies["sentry"],
            json_type | {"Sentry-Hook-Signature": signed(SECRET, bodies["sentry"])},
        ),
        "pagerduty": (
            bodies["pagerduty"],
            json_type | {"X-PagerDuty-Signature": "v1=" + signed(SECRET, bodies["pagerduty"])},
        ),
    }


def test_a_watchdog_from_another_source_leaves_the_alarm_up(
    tmp_path: Path, routes: Path, fake_slack: FakeSlack, clock: FakeClock, stack: ExitStack
) -> None:
    app = create_app(
        settings(
            tmp_path,
            config=str(routes),
            slack_bot_token="xoxb-test",
            slack_api_url=fake_slack.base_url,
            grafana_token=SECRET,
            datadog_webhook_secret=SECRET,
            sentry_client_secret=SECRET,
            pagerduty_webhook_secrets=SECRET,
        ),
        clock=clock,
        run_dispatcher=False,
    )
    client = stack.enter_context(TestClient(app))
    rt: Runtime = app.state.runtime
    client.post("/webhooks/alertmanager", content=watchdog(), headers=AUTH)
    clock.advance(601)
    rt.dispatcher.dispatch_due()
    (alarm,) = [p for p in fake_slack.posts("#alerting-meta") if "pipeline is silent" in p.text]

    for source, (body, headers) in other_watchdogs().items():
        response = client.post(f"/webhooks/{source}", content=body, headers=headers)
        assert response.status_code == 202, (source, response.text)
        assert response.json()["alerts"] == 1, source
    rt.dispatcher.dispatch_due()
    assert "RESOLVED" not in alarm.current_text  # none of them is the heartbeat
    clock.advance(3600)
    rt.dispatcher.dispatch_due()
    assert "RESOLVED" not in alarm.current_text

    client.post("/webhooks/alertmanager", content=watchdog(), headers=AUTH)  # the real one
    rt.dispatcher.dispatch_due()
    assert "RESOLVED" in alarm.current_text
