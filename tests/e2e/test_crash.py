"""SIGKILL the router while the outbox is full and Slack refuses; restart; nothing lost or doubled."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import routes_without_storm, wait_for
from tests.e2e.conftest import RouterProcess, http
from tests.fakes.slack import FakeSlack

TOKEN = "crash-token"
GROUPS = 12  # one channel, paced at one message a second


def webhook(i: int) -> dict[str, object]:
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="QueueDepthHigh", queue="q{i}"}}',
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {
                    "alertname": "QueueDepthHigh",
                    "queue": f"q{i}",
                    "severity": "warning",
                    "n": str(n),
                },
                "annotations": {"summary": f"queue q{i} backlog"},
                "startsAt": "2026-11-22T01:00:00Z",
                "fingerprint": f"{i:08x}{n:08x}",
            }
            for n in range(3)
        ],
    }


def test_sigkill_with_a_full_outbox_loses_nothing_and_posts_once(
    tmp_path: Path, fake_slack: FakeSlack, start_router: Callable[..., RouterProcess]
) -> None:
    env = {
        "ALERTMANAGER_TOKEN": TOKEN,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": fake_slack.base_url,
        "ROUTER_CONFIG": routes_without_storm(tmp_path),
    }
    fake_slack.refuse_status = 503
    first = start_router(**env)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    accepted = []
    for i in range(GROUPS):
        status, _ = http("POST", f"{first.url}/webhooks/alertmanager", webhook(i), headers)
        if status == 202:
            accepted.append(i)
    assert len(accepted) == GROUPS
    wait_for(
        lambda: fake_slack.count("chat.postMessage") >= 1, 10, "attempts against the refusing Slack"
    )
    first.kill()
    assert fake_slack.posts() == []

    fake_slack.refuse_status = None
    second = start_router(**env)
    wait_for(lambda: len(fake_slack.posts()) >= GROUPS, 60, f"{GROUPS} messages after the restart")
    second.settled()  # all delivered: a second post of anything would be there now
    posts = fake_slack.posts("#data-platform")
    assert len(posts) == GROUPS
    assert sorted(p.text.split("queue q")[1].split(" ")[0] for p in posts) == sorted(
        str(i) for i in accepted
    )
    # The gauge follows once a second: it, too, comes to say nothing is pending.
    wait_for(
        lambda: second.metric('router_outbox_entries{state="pending"}') == 0, 15, "the gauge at 0"
    )
