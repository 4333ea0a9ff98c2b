"""Slack misbehaving: down for a while, rate limiting, redeliveries. The router copes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from router.clock import Clock
from tests.fakes.clock import FakeClock
from tests.fakes.slack import FakeSlack
from tests.helpers import (
    AUTH,
    GOLDEN,
    AppClients,
    routes_without_storm,
    runtime,
    time_passes,
    wait_for,
)

BODY = (GOLDEN / "sources/alertmanager/firing-group.json").read_text()


def group(i: int) -> bytes:
    data: dict[str, Any] = json.loads(BODY)
    data["groupKey"] = f"group-{i}"
    for n, alert in enumerate(data["alerts"]):
        alert["fingerprint"] = f"{i:06x}{n:04x}"
        alert["labels"]["alertname"] = f"Reliability{i}"
    return json.dumps(data).encode()


def router(
    tmp_path: Path, fake_slack: FakeSlack, app_client: AppClients, clock: Clock | None = None
) -> TestClient:
    return app_client(
        clock=clock,
        config=routes_without_storm(tmp_path),  # five groups at once: not a storm here
        slack_bot_token="xoxb-test",
        slack_api_url=fake_slack.base_url,
    )


@pytest.fixture
def client(tmp_path: Path, fake_slack: FakeSlack, app_client: AppClients) -> TestClient:
    """On the real clock."""
    return router(tmp_path, fake_slack, app_client)


def drained(client: TestClient, meanwhile: Callable[[], None] | None = None) -> None:
    """Wait until no outbox entry is pending: what was not posted by then never will be."""
    store = runtime(client).store
    pending = lambda: store.outbox_counts().get("pending", 0) == 0  # noqa: E731
    wait_for(pending, 30, "the outbox to drain", meanwhile=meanwhile)


def test_slack_down_for_a_while_then_back(
    tmp_path: Path, fake_slack: FakeSlack, app_client: AppClients, clock: FakeClock
) -> None:
    client = router(tmp_path, fake_slack, app_client, clock)
    later = time_passes(client, clock)  # the backoffs pass on the app's clock
    fake_slack.refuse_status = 503
    for i in range(5):
        assert (
            client.post("/webhooks/alertmanager", content=group(i), headers=AUTH).status_code == 202
        )
    attempts = lambda: fake_slack.count("chat.postMessage") >= 6  # noqa: E731
    wait_for(attempts, 30, "attempts while Slack is down", meanwhile=later)
    fake_slack.refuse_status = None
    posted = lambda: len(fake_slack.posts()) >= 5  # noqa: E731
    wait_for(posted, 60, "every message once Slack is back", meanwhile=later)
    drained(client, later)  # all delivered: a second post of any would be there now
    names = sorted(p.text.split(" ")[2].rstrip(":") for p in fake_slack.posts())
    assert names == [f"Reliability{i}" for i in range(5)]  # each once


def test_429_retry_after_is_honoured(
    tmp_path: Path, fake_slack: FakeSlack, app_client: AppClients, clock: FakeClock
) -> None:
    """On the app's clock, which stops at the second Retry-After asks for."""
    client = router(tmp_path, fake_slack, app_client, clock)
    fake_slack.clock = clock.now
    fake_slack.fail_next = [(429, {"Retry-After": "2"})]
    refused_at = clock.now()  # it stands still until the test moves it
    assert client.post("/webhooks/alertmanager", content=group(1), headers=AUTH).status_code == 202
    store = runtime(client).store
    wait_for(lambda: store.next_due() == refused_at + 2.0, 20, "the retry put off by Retry-After")
    until = time_passes(client, clock, 0.25, until=refused_at + 2.0)
    wait_for(lambda: len(fake_slack.posts()) == 1, 20, "the post after the 429", meanwhile=until)
    first, second = fake_slack.call_times[:2]
    assert second - first >= 2.0  # not before Retry-After
    assert second - first < 6.0
    metrics = client.get("/metrics").text
    assert 'router_notifications_failed_total{reason="rate_limited"} 1.0' in metrics


def test_the_same_webhook_five_times_is_one_message(
    client: TestClient, fake_slack: FakeSlack
) -> None:
    for _ in range(5):
        assert (
            client.post("/webhooks/alertmanager", content=group(7), headers=AUTH).status_code == 202
        )
    wait_for(lambda: len(fake_slack.posts()) == 1, 15, "the message")
    drained(client)
    assert len(fake_slack.posts()) == 1
    assert fake_slack.count("chat.update") == 0
