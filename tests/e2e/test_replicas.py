"""Two router processes on one PostgreSQL: each message posted once, resolves edit it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.e2e.processes import RouterProcess, http
from tests.fakes.postgres import PostgresServer
from tests.fakes.slack import FakeSlack
from tests.helpers import routes_without_storm, wait_for

TOKEN = "replica-token"
GROUPS = 12


def webhook(group: int, status: str) -> dict[str, object]:
    return {
        "version": "4",
        "groupKey": f'{{}}:{{queue="q{group}"}}',
        "status": status,
        "alerts": [
            {
                "status": status,
                "labels": {
                    "alertname": "QueueDepthHigh",
                    "queue": f"q{group}",
                    "severity": "warning",
                    "n": str(n),
                },
                "annotations": {"summary": f"queue q{group} backlog"},
                "startsAt": "2026-11-22T01:00:00Z",
                "endsAt": "2026-11-22T01:30:00Z"
                if status == "resolved"
                else "0001-01-01T00:00:00Z",
                "fingerprint": f"{group:08x}{n:08x}",
            }
            for n in range(2)
        ],
    }


def test_two_replicas_post_each_message_once_and_resolve_the_right_one(
    tmp_path: Path,
    fake_slack: FakeSlack,
    postgres: PostgresServer,
    start_router: Callable[..., RouterProcess],
) -> None:
    fake_slack.delay = 0.3  # slow Slack: both replicas are busy at once
    env = {
        "ROUTER_DATABASE_URL": postgres.new_database(),
        "ROUTER_CONFIG": routes_without_storm(tmp_path),
        "ALERTMANAGER_TOKEN": TOKEN,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": fake_slack.base_url,
    }
    a, b = start_router(**env), start_router(**env)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    for group in range(GROUPS):
        # An Alertmanager HA pair sends the same notification through both replicas.
        for replica in (a, b):
            assert (
                http(
                    "POST",
                    f"{replica.url}/webhooks/alertmanager",
                    webhook(group, "firing"),
                    headers,
                )[0]
                == 202
            )

    wait_for(lambda: len(fake_slack.posts()) >= GROUPS, 60, f"{GROUPS} messages")
    a.settled()  # one database: all delivered, by either replica
    posts = fake_slack.posts("#data-platform")
    assert len(posts) == GROUPS
    by_group = {p.text.split("queue q")[1].split(" ")[0]: p for p in posts}
    assert sorted(by_group, key=int) == [str(g) for g in range(GROUPS)]

    for group in range(GROUPS):
        replica = (a, b)[group % 2]  # resolves land on either replica
        assert (
            http(
                "POST", f"{replica.url}/webhooks/alertmanager", webhook(group, "resolved"), headers
            )[0]
            == 202
        )

    def all_resolved() -> bool:
        return all("RESOLVED" in m.current_text and fake_slack.replies(m) for m in posts)

    wait_for(all_resolved, 60, "every message edited as resolved, with a reply")
    a.settled()
    assert all(len(fake_slack.replies(m)) == 1 for m in posts)
    assert len(fake_slack.posts()) == GROUPS
    # Both replicas did part of the work.
    delivered = [r.metric("router_notifications_delivered_total") for r in (a, b)]
    assert all(d > 0 for d in delivered), delivered
