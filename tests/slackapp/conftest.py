from __future__ import annotations

import time
import urllib.parse
from typing import Any

from slack_sdk.signature import SignatureVerifier

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
    import json

    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
