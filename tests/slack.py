"""Slack's side of the router's Slack app in tests: requests signed as Slack signs them,
command and interaction bodies, settings that point the router at the fake Slack
(tests/fakes/slack.py), and the message a test's alert posted there."""

from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path
from typing import Any

from slack_sdk.signature import SignatureVerifier

from router.settings import Settings
from router.store import Store
from tests.fakes.slack import FakeSlack, SlackMessage
from tests.helpers import settings, wait_for

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def signed(body: bytes, *, secret: str = SIGNING_SECRET, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(at if at is not None else time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    assert signature is not None
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


def command_body(text: str, **extra: str) -> bytes:
    fields = {
        "token": "deprecated",
        "team_id": "T0001",
        "channel_id": "C2147483705",
        "user_id": "U2147483697",
        "user_name": "jane",
        "command": "/runbook",
        "text": text,
        "response_url": "https://hooks.slack.com/commands/T0001/1/x",
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        **extra,
    }
    return urllib.parse.urlencode(fields).encode()


def interaction_body(payload: dict[str, Any]) -> bytes:
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


def slack_settings(tmp_path: Path, slack: FakeSlack, **overrides: Any) -> Settings:
    """Test settings with the router's Slack pointed at the fake, signed like Slack signs."""
    return settings(
        tmp_path,
        slack_bot_token="xoxb-test",
        slack_api_url=slack.base_url,
        slack_signing_secret=SIGNING_SECRET,
        slack_response_url_prefix=slack.response_url_prefix,
        **overrides,
    )


def posted(slack: FakeSlack, store: Store, channel: str | None = None) -> SlackMessage:
    """The one alert message in Slack, once the router has recorded where it posted it
    (a click or a reaction on it is found only then)."""
    wait_for(lambda: len(slack.posts(channel)) == 1, 10, f"a message in {channel or 'Slack'}")
    message = slack.posts(channel)[0]
    known = lambda: store.find_message(message.channel, message.ts) is not None  # noqa: E731
    wait_for(known, 10, "the router to record the post")
    return message
