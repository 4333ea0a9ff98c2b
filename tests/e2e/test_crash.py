"""SIGKILL the router while the outbox is full and Slack refuses; restart; nothing lost or doubled."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from pathlib import Path

from tests.e2e.processes import RouterProcess, http
from tests.fakes.slack import FakeSlack
from tests.helpers import routes_without_storm, sharded_routes, wait_for

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


SHARDS = 25  # a channel each: Slack's pace of one message a second per channel


def group_webhook(i: int) -> dict[str, object]:
    labels = {"alertname": "GroupCommit", "shard": str(i % SHARDS), "n": str(i)}
    return {
        "version": "4",
        "groupKey": f'{{}}:{{n="{i}"}}',
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": labels | {"k": str(k)},
                "annotations": {"summary": f"request {i}"},
                "startsAt": "2026-11-22T01:00:00Z",
                "fingerprint": f"gc{i:06d}{k}",
            }
            for k in range(2)
        ],
    }


def test_sigkill_in_the_middle_of_grouped_writes_posts_every_2xx_once(
    tmp_path: Path, fake_slack: FakeSlack, start_router: Callable[..., RouterProcess]
) -> None:
    """Sixteen senders at once (requests share transactions), then SIGKILL mid-stream.

    Every request answered 202 is posted exactly once after the restart; one that
    got no answer may or may not have been stored, and is never posted twice.
    """
    env = {
        "ALERTMANAGER_TOKEN": TOKEN,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": fake_slack.base_url,
        "ROUTER_CONFIG": sharded_routes(tmp_path, SHARDS),
    }
    fake_slack.refuse_status = 503  # nothing posts before the crash: all of it waits
    first = start_router(**env)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    accepted: set[int] = set()
    numbers = itertools.count()
    stop = threading.Event()

    def sender() -> None:
        while not stop.is_set():
            i = next(numbers)
            try:
                status, _ = http(
                    "POST", f"{first.url}/webhooks/alertmanager", group_webhook(i), headers
                )
            except OSError:
                return  # the router is gone
            if status == 202:
                accepted.add(i)

    threads = [threading.Thread(target=sender) for _ in range(16)]
    for thread in threads:
        thread.start()
    wait_for(lambda: len(accepted) >= 150, 60, "150 requests answered")
    grouped = first.metric("router_ingest_group_requests_sum")
    transactions = first.metric("router_ingest_group_requests_count")
    first.kill()  # while the senders are still sending
    stop.set()
    for thread in threads:
        thread.join(30)
    print(
        f"{len(accepted)} answered 202; {grouped:.0f} requests in {transactions:.0f} transactions"
    )
    assert grouped > transactions  # requests did share transactions

    fake_slack.refuse_status = None
    second = start_router(**env)
    wait_for(lambda: len(fake_slack.posts()) >= len(accepted), 90, "every answered request posted")
    second.settled(60)  # all delivered: a second post of anything would be there now
    posted = [int(p.text.split("request ")[1].split()[0]) for p in fake_slack.posts()]
    assert len(posted) == len(set(posted)), "a request was posted twice"
    assert accepted <= set(posted), f"answered 202, never posted: {sorted(accepted - set(posted))}"
