"""Declare incident on a running router against the fake Slack: one channel, however often
it is clicked (here by two people at once)."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable

from tests.e2e.processes import RouterProcess, http
from tests.fakes.slack import FakeSlack
from tests.helpers import BODY, wait_for
from tests.slack import SIGNING_SECRET, interaction_body, signed

TOKEN = "incident-token"


def click(router: RouterProcess, slack: FakeSlack, channel: str, ts: str, user: str) -> int:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T0001"},
        "response_url": slack.response_url_prefix + f"T0001/{user}/x",
        "actions": [{"type": "button", "action_id": "declare_incident", "value": "declare",
                     "action_ts": f"1795320000.{user}"}],
        "container": {"type": "message", "message_ts": ts, "channel_id": channel},
        "channel": {"id": channel},
    }  # fmt: skip
    body = interaction_body(payload)
    request = urllib.request.Request(
        f"{router.url}/slack/interactions", data=body, headers=signed(body), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


def test_declare_incident_twice_makes_one_channel_topic_and_invite(
    fake_slack: FakeSlack, start_router: Callable[..., RouterProcess]
) -> None:
    router = start_router(
        ALERTMANAGER_TOKEN=TOKEN,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_API_URL=fake_slack.base_url,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_RESPONSE_URL_PREFIX=fake_slack.response_url_prefix,
    )
    status, _ = http(
        "POST",
        f"{router.url}/webhooks/alertmanager",
        json.loads(BODY),
        {"Authorization": f"Bearer {TOKEN}"},
    )
    assert status == 202
    wait_for(lambda: len(fake_slack.posts("#db-oncall")) == 1, 20, "the alert message")
    message = fake_slack.posts("#db-oncall")[0]
    router.settled()  # the router has recorded the post, so clicks on it are found
    answers: list[int] = []
    clicks = [
        threading.Thread(
            target=lambda u=user: answers.append(
                click(router, fake_slack, message.channel, message.ts, u)
            )
        )
        for user in ("U0JANE0001", "U0BOB00001")
    ]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join(30)
    assert answers == [200, 200]
    router.settled()
    wait_for(lambda: len(fake_slack.responses) == 1, 20, "the later clicker told")
    assert fake_slack.count("conversations.create") == 1
    (channel,) = fake_slack.channels.values()
    assert fake_slack.count("conversations.setTopic") == 1
    commander = fake_slack.topics[channel].rsplit("Commander: ", 1)[1]
    assert commander in ("<@U0JANE0001>", "<@U0BOB00001>")
    assert fake_slack.members[channel] == [commander[2:-1]]  # the commander, invited once
    assert len(fake_slack.posts(channel)) == 1  # the initial communication
    declared = [r for r in fake_slack.replies(message) if "Incident declared" in r.text]
    assert len(declared) == 1
    # Delivered side by side (or by two replicas), the later click may come while the
    # channel is being made: told so, or told the channel.
    told = fake_slack.responses[0]["text"]
    assert f"<#{channel}>" in told or "a channel being made right now" in told
