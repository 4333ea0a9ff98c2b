"""Slack's Events API: the URL check, and a reaction on an alert message that acknowledges it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from router.store import Store
from tests.fakes.slack import FakeSlack, SlackMessage
from tests.helpers import AUTH, BODY, AppClients, runtime, wait_for
from tests.slack import posted, signed, slack_settings

JANE = "U0JANE0001"


@dataclass
class World:
    client: TestClient
    slack: FakeSlack
    store: Store

    def event(self, event: dict[str, Any], event_id: str = "Ev001") -> int:
        payload = {"type": "event_callback", "event_id": event_id, "event": event}
        body = json.dumps(payload).encode()
        headers = signed(body) | {"Content-Type": "application/json"}
        return self.client.post("/slack/events", content=body, headers=headers).status_code

    def alert_message(self) -> SlackMessage:
        assert (
            self.client.post("/webhooks/alertmanager", content=BODY, headers=AUTH).status_code
            == 202
        )
        return posted(self.slack, self.store)


@pytest.fixture
def world(tmp_path: Path, fake_slack: FakeSlack, app_client: AppClients) -> World:
    client = app_client(slack_settings(tmp_path, fake_slack))
    return World(client, fake_slack, runtime(client).store)


def drained(world: World) -> None:
    store = world.client.app.state.runtime.store  # type: ignore[attr-defined]
    wait_for(lambda: store.outbox_counts().get("pending", 0) == 0, 10, "the outbox to drain")


def reaction(message: SlackMessage, emoji: str = "eyes", user: str = JANE) -> dict[str, Any]:
    return {
        "type": "reaction_added",
        "user": user,
        "reaction": emoji,
        "item": {"type": "message", "channel": message.channel, "ts": message.ts},
        "item_user": "UBOT00001",
        "event_ts": "1795320100.000100",
    }


def test_url_verification_answers_the_challenge(world: World) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV2"}).encode()
    headers = signed(body) | {"Content-Type": "application/json"}
    response = world.client.post("/slack/events", content=body, headers=headers)
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2"}


def test_a_bad_signature_is_a_401(world: World) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "x"}).encode()
    headers = signed(body, secret="forged") | {"Content-Type": "application/json"}
    assert world.client.post("/slack/events", content=body, headers=headers).status_code == 401


def test_eyes_on_an_alert_message_acknowledges_it(world: World) -> None:
    message = world.alert_message()
    assert world.event(reaction(message)) == 200
    wait_for(lambda: bool(message.edits), 10, "the acknowledged edit")
    context = json.dumps(message.current_blocks)
    assert f"Acknowledged by <@{JANE}> at <!date^" in context
    assert "after it fired" in context
    assert f"(acknowledged by <@{JANE}>)" in message.current_text
    # The same event again (Slack retries), or a second person's eyes, changes nothing.
    edits = len(message.edits)
    assert world.event(reaction(message)) == 200
    assert world.event(reaction(message, user="U0BOB00002"), event_id="Ev002") == 200
    drained(world)
    assert len(message.edits) == edits
    assert f"<@{JANE}>" in message.current_text


def test_an_acknowledgement_the_database_failed_is_taken_on_slacks_retry(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The event id was recorded before the acknowledgement: a failure between the two
    made Slack's retry a duplicate, and the 👀 was lost."""
    message = world.alert_message()
    acknowledge = world.store._ack
    failures = [OperationalError("UPDATE message_alerts", {}, Exception("disk I/O error"))]

    def fails_once(*args: Any) -> bool:
        if failures:
            raise failures.pop()
        return acknowledge(*args)

    monkeypatch.setattr(world.store, "_ack", fails_once)
    assert world.event(reaction(message)) == 503  # Slack retries the same event id
    assert world.event(reaction(message)) == 200
    wait_for(lambda: bool(message.edits), 10, "the acknowledged edit")
    assert f"(acknowledged by <@{JANE}>)" in message.current_text


@pytest.mark.parametrize(
    "change",
    [
        {"reaction": "thumbsup"},  # not a configured reaction
        {"item": {"type": "message", "channel": "C0OTHER01", "ts": "1795320000.000001"}},
        {"item": {"type": "file", "file": "F123"}},
        {"user": "<!channel>"},
    ],
)
def test_other_reactions_and_messages_change_nothing(world: World, change: dict[str, Any]) -> None:
    message = world.alert_message()
    assert world.event(reaction(message) | change) == 200
    drained(world)
    assert message.edits == []


def test_alertmanagers_repeats_keep_the_acknowledgement(world: World) -> None:
    message = world.alert_message()
    world.event(reaction(message))
    wait_for(lambda: bool(message.edits), 10, "the acknowledged edit")
    for _ in range(3):  # Alertmanager re-sends the group every repeat_interval
        assert (
            world.client.post("/webhooks/alertmanager", content=BODY, headers=AUTH).status_code
            == 202
        )
    drained(world)
    assert f"(acknowledged by <@{JANE}>)" in message.current_text


def test_the_acknowledgement_shows_on_alerts(world: World) -> None:
    message = world.alert_message()
    world.event(reaction(message))
    wait_for(lambda: bool(message.edits), 10, "the acknowledged edit")
    listed = world.client.get("/alerts", headers={"Accept": "application/json"}).json()["alerts"]
    (delivery,) = listed[0]["deliveries"]
    assert delivery["acknowledged_by"] == f"slack:{JANE}"
    assert delivery["acknowledged_at"] is not None
    page = world.client.get("/alerts").text
    assert f"acknowledged by Slack user {JANE} at " in page
