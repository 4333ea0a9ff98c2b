"""The real Alertmanager delivers to the router, which posts to a fake Slack."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.processes import Alertmanager, RouterProcess
from tests.fakes.slack import FakeSlack
from tests.helpers import wait_for

TOKEN = "e2e-am-token"


def alert(name: str, ends: bool = False, **labels: str) -> dict[str, object]:
    item: dict[str, object] = {
        "labels": {"alertname": name, **labels},
        "annotations": {"summary": f"{name} on {labels.get('instance', labels.get('queue', '?'))}"},
    }
    if ends:
        item["endsAt"] = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    return item


@pytest.fixture
def stack(
    tmp_path: Path, fake_slack: FakeSlack, start_router: Callable[..., RouterProcess]
) -> Iterator[tuple[Alertmanager, RouterProcess]]:
    router = start_router(
        ALERTMANAGER_TOKEN=TOKEN, SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=fake_slack.base_url
    )
    am = Alertmanager(tmp_path, f"{router.url}/webhooks/alertmanager", TOKEN)
    try:
        yield am.start(), router
    finally:
        am.stop()


def test_alertmanager_to_slack_one_message_per_group_and_resolve_edits_it(
    stack: tuple[Alertmanager, RouterProcess], fake_slack: FakeSlack
) -> None:
    am, router = stack
    db = [
        alert("DatabaseConnectionPoolHigh", env="prod", severity="critical", instance=f"db-{i}")
        for i in (1, 2)
    ]
    queue = [alert("QueueDepthHigh", severity="warning", queue="emails")]
    am.post_alerts(db + queue)

    wait_for(lambda: len(fake_slack.posts()) == 2, 15, "two Slack messages")
    (db_message,) = fake_slack.posts("#db-oncall")
    (queue_message,) = fake_slack.posts("#data-platform")
    assert "SEV1" in db_message.text
    assert "RUN-001" in db_message.text
    assert "SEV3" in queue_message.text
    assert "RUN-005" in queue_message.text
    assert "2 firing" in json.dumps(db_message.blocks)

    # Alertmanager repeats the unchanged groups every second; nothing new is posted.
    received = router.metric("router_alerts_received_total")
    wait_for(
        lambda: router.metric("router_alerts_received_total") >= received + 6,
        15,
        "repeat notifications",
    )
    router.settled()  # the dispatcher has done whatever the repeats asked for
    assert len(fake_slack.posts()) == 2
    assert fake_slack.count("chat.update") == 0

    am.post_alerts(
        [
            alert(
                "DatabaseConnectionPoolHigh",
                ends=True,
                env="prod",
                severity="critical",
                instance=f"db-{i}",
            )
            for i in (1, 2)
        ]
    )

    def resolved() -> bool:
        return "RESOLVED" in db_message.current_text and bool(fake_slack.replies(db_message))

    wait_for(resolved, 15, "the resolve to edit the message and reply in its thread")
    assert fake_slack.posts("#db-oncall") == [db_message]
    (reply,) = fake_slack.replies(db_message)
    assert "Resolved" in reply.text
    assert "2 alerts" in reply.text
    assert "RESOLVED" not in queue_message.current_text


def test_wrong_token_is_refused_and_nothing_posted(
    tmp_path: Path, fake_slack: FakeSlack, start_router: Callable[..., RouterProcess]
) -> None:
    router = start_router(
        ALERTMANAGER_TOKEN=TOKEN, SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=fake_slack.base_url
    )
    am = Alertmanager(tmp_path, f"{router.url}/webhooks/alertmanager", "not-the-token")
    try:
        am.start()
        am.post_alerts([alert("DatabaseConnectionPoolHigh", env="prod", instance="db-1")])
        wait_for(
            lambda: (
                router.metric('router_webhook_requests_total{code="401",source="alertmanager"}')
                >= 1
            ),
            15,
            "a refused webhook",
        )
        assert fake_slack.posts() == []
    finally:
        am.stop()
