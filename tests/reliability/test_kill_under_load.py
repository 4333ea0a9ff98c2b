"""SIGKILL with thousands of alerts acknowledged and updates waiting: none lost, none doubled."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.processes import RouterProcess, http
from tests.fakes.slack import FakeSlack, SlackMessage
from tests.helpers import sharded_routes, wait_for

pytestmark = pytest.mark.e2e

TOKEN = "load-token"
GROUPS = 20
PER_BATCH = 50
SHARDS = 5


def webhook(group: int, first: int) -> dict[str, object]:
    return {
        "version": "4",
        "groupKey": f'{{}}:{{job="load",group="{group}"}}',
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {
                    "alertname": "LoadTest",
                    "group": str(group),
                    "shard": str(group % SHARDS),
                    "n": str(n),
                },
                "annotations": {"summary": f"group {group} alert {n}"},
                "startsAt": "2026-11-22T01:00:00Z",
                "fingerprint": f"{group:06x}{n:06x}",
            }
            for n in range(first, first + PER_BATCH)
        ],
    }


def firing(message: SlackMessage) -> str:
    return json.dumps(message.current_blocks)


def firing_count(message: SlackMessage) -> int:
    """The "N firing" the message says now."""
    found = re.search(r"(\d+) firing", firing(message))
    return int(found.group(1)) if found else 0


def test_sigkill_under_load(
    tmp_path: Path, fake_slack: FakeSlack, start_router: Callable[..., RouterProcess]
) -> None:
    env = {
        "ROUTER_CONFIG": sharded_routes(tmp_path, SHARDS, "#load"),
        "ALERTMANAGER_TOKEN": TOKEN,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": fake_slack.base_url,
    }
    headers = {"Authorization": f"Bearer {TOKEN}"}
    first = start_router(**env)
    for group in range(GROUPS):
        assert (
            http("POST", f"{first.url}/webhooks/alertmanager", webhook(group, 0), headers)[0] == 202
        )
    wait_for(lambda: len(fake_slack.posts()) == GROUPS, 60, "the first messages")

    fake_slack.refuse_status = 503  # the second half waits in the outbox
    for group in range(GROUPS):
        assert (
            http("POST", f"{first.url}/webhooks/alertmanager", webhook(group, PER_BATCH), headers)[
                0
            ]
            == 202
        )
    first.kill()

    fake_slack.refuse_status = None
    start_router(**env)
    posts = fake_slack.posts()
    total = 2 * PER_BATCH

    def all_updated() -> bool:
        return all(f"{total} firing" in firing(m) for m in posts)

    wait_for(all_updated, 90, f"every message to list its {total} alerts")
    assert len(fake_slack.posts()) == GROUPS  # nothing posted twice
    # Every alert answered 202 is listed, once: 2,000 in all.
    assert sum(firing_count(m) for m in fake_slack.posts()) == GROUPS * total
