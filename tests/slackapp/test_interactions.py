"""Buttons, through the app and its dispatcher, against the fake Slack and a PagerDuty stand-in."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from router.notifiers.pagerduty import PagerDuty
from router.store import Store
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.slack import FakeSlack, SlackMessage
from tests.helpers import AUTH, GOLDEN, AppClients, runtime, wait_for
from tests.slack import command_body, interaction_body, posted, signed, slack_settings

PD_SECRET = "pd-secret"
JANE = "U0JANE0001"


@dataclass
class World:
    client: TestClient
    slack: FakeSlack
    pd: FakePagerDuty
    store: Store

    def incident(self, name: str = "incident-triggered", webhook_id: str = "wh-1") -> None:
        body = (GOLDEN / f"sources/pagerduty/{name}.json").read_bytes()
        signature = hmac.new(PD_SECRET.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-PagerDuty-Signature": f"v1={signature}",
            "X-Webhook-Id": webhook_id,
        }
        assert (
            self.client.post("/webhooks/pagerduty", content=body, headers=headers).status_code
            == 202
        )

    def posted(self, channel: str = "#incidents") -> SlackMessage:
        return posted(self.slack, self.store, channel)

    def click(
        self, message: SlackMessage | None, action_id: str, value: str = "x", **extra: Any
    ) -> int:
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": JANE, "username": "jane", "name": "jane", "team_id": "T0001"},
            "team": {"id": "T0001"},
            "response_url": self.slack.response_url_prefix + "T0001/1/abc",
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "value": value,
                    "block_id": "b",
                    "action_ts": "1",
                }
            ],
            **extra,
        }
        if message is not None:
            payload["container"] = {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
            }
            payload["channel"] = {"id": message.channel}
        body = interaction_body(payload)
        return self.client.post(
            "/slack/interactions", content=body, headers=signed(body)
        ).status_code


@pytest.fixture
def world(tmp_path: Path, fake_slack: FakeSlack, app_client: AppClients) -> World:
    pd = FakePagerDuty()
    client = app_client(
        slack_settings(tmp_path, fake_slack, pagerduty_webhook_secrets=PD_SECRET),
        pagerduty=PagerDuty("pd-token", "router@example.com", {}, transport=pd.transport),
    )
    return World(client, fake_slack, pd, runtime(client).store)


def buttons(message: SlackMessage) -> dict[str, dict[str, Any]]:
    actions = [b for b in message.current_blocks if b["type"] == "actions"]
    return {e["action_id"]: e for a in actions for e in a["elements"]}


def test_acknowledge_acts_as_the_clicking_user_and_edits_the_message(world: World) -> None:
    world.slack.users[JANE] = "jane@acme.example"
    world.pd.users.add("jane@acme.example")
    world.incident()
    message = world.posted()
    assert buttons(message)["pd_ack"]["text"]["text"] == "Acknowledge"
    # The button's value is not trusted: the incident comes from the stored message.
    assert world.click(message, "pd_ack", value="PSOMEONEELSE") == 200
    wait_for(lambda: "acknowledged by jane" in message.current_text, 10, "the message edit")
    (put,) = [r for r in world.pd.requests if r.method == "PUT"]
    assert put.headers["From"] == "jane@acme.example"
    assert json.loads(put.content) == {
        "incidents": [
            {"id": "Q2HMW5ZJ3KX0QR", "type": "incident_reference", "status": "acknowledged"}
        ]
    }
    assert "pd_ack" not in buttons(message)  # nothing left to acknowledge
    assert world.slack.responses == []


def test_acknowledge_without_a_known_email_explains_and_does_nothing(world: World) -> None:
    world.incident()
    message = world.posted()
    world.click(message, "pd_ack")
    wait_for(lambda: bool(world.slack.responses), 10, "the ephemeral answer")
    (answer,) = world.slack.responses
    assert answer["response_type"] == "ephemeral"
    assert "could not read your email" in answer["text"]
    assert not [r for r in world.pd.requests if r.method == "PUT"]


def test_acknowledge_refused_by_pagerduty_is_explained(world: World) -> None:
    world.slack.users[JANE] = "jane@not-in-pagerduty.example"
    world.incident()
    message = world.posted()
    world.click(message, "pd_ack")
    wait_for(lambda: bool(world.slack.responses), 10, "the ephemeral answer")
    assert "PagerDuty refused to acknowledge Q2HMW5ZJ3KX0QR" in world.slack.responses[0]["text"]
    assert "acknowledged" not in message.current_text


def test_show_all_steps_posts_the_procedure_as_a_checklist_in_the_thread(world: World) -> None:
    world.incident()  # routed to RUN-004 by pagerduty-checkout
    message = world.posted()
    assert buttons(message)["show_steps"]["value"] == "RUN-004"
    world.click(
        message, "show_steps", value="RUN-012"
    )  # value ignored: the message's runbook counts
    wait_for(lambda: bool(world.slack.replies(message)), 10, "the thread reply")
    (reply,) = world.slack.replies(message)
    text = json.dumps(reply.blocks, ensure_ascii=False)
    assert "Checklist for RUN-004: Bad Deploy Detected" in text
    for step in (
        "Step 1: Correlate with recent releases",
        "Step 3: Roll back if the release is the cause",
    ):
        assert step in text
    assert f"asked by <@{JANE}>" in text
    assert text.count('"action_id": "step_done"') == 3  # a row of buttons per step


def test_post_in_channel_shares_the_entry(world: World) -> None:
    body = command_body("RUN-008")
    answer = world.client.post("/slack/commands", content=body, headers=signed(body)).json()
    share = next(
        e
        for b in answer["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "share_runbook"
    )
    assert world.click(None, "share_runbook", value=share["value"]) == 200
    wait_for(lambda: bool(world.slack.responses), 10, "the shared entry")
    (shared,) = world.slack.responses
    assert shared["response_type"] == "in_channel"
    assert shared["text"] == "RUN-008: TLS Certificate Renewal"
    assert f"Shared by <@{JANE}>" in json.dumps(shared["blocks"])
    assert "share_runbook" not in json.dumps(shared["blocks"])


@pytest.mark.parametrize("value", ["RUN-999", "<!channel>"])
def test_share_of_an_unknown_runbook_does_nothing(world: World, value: str) -> None:
    assert world.click(None, "share_runbook", value=value) == 200
    assert world.store.outbox_counts() == {}  # nothing queued


def test_clicks_on_messages_that_are_not_ours_do_nothing(world: World) -> None:
    stranger = SlackMessage("C999", "1.000001", "x", [])
    assert world.click(stranger, "pd_ack") == 200
    assert world.click(stranger, "show_steps") == 200
    assert world.click(None, "open_runbook") == 200  # URL buttons report clicks too


def test_response_url_outside_slack_is_not_used(world: World) -> None:
    assert (
        world.click(None, "share_runbook", value="RUN-001", response_url="https://evil.example/x")
        == 200
    )
    assert world.slack.responses == []


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"type": "block_actions"}, "payload.user: expected an object"),
        (
            {"type": "block_actions", "user": {"id": ""}},
            "payload.user.id: expected a non-empty string",
        ),
        (
            {"type": "block_actions", "user": {"id": "<!channel>"}},
            "payload.user.id: not a Slack user ID",
        ),
        (
            {"type": "block_actions", "user": {"id": JANE}, "actions": "x"},
            "payload.actions: expected a list",
        ),
        ([], "payload: expected a JSON object"),
    ],
)
def test_malformed_interactions_name_the_field(world: World, payload: Any, message: str) -> None:
    body = interaction_body(payload)
    response = world.client.post("/slack/interactions", content=body, headers=signed(body))
    assert (response.status_code, response.json()) == (400, {"error": message})


def test_interaction_without_payload(world: World) -> None:
    body = b"nothing=here"
    response = world.client.post("/slack/interactions", content=body, headers=signed(body))
    assert (response.status_code, response.json()) == (400, {"error": "payload: field required"})


def test_acknowledge_an_alertmanager_alert_in_the_router(world: World) -> None:
    """No PagerDuty incident behind it: the click acknowledges it here, as the clicking user."""
    body = (GOLDEN / "sources/alertmanager/firing-single.json").read_bytes()
    assert (
        world.client.post("/webhooks/alertmanager", content=body, headers=AUTH).status_code == 202
    )
    message = world.posted("#db-oncall")
    assert buttons(message)["pd_ack"]["text"]["text"] == "Acknowledge"
    assert world.click(message, "pd_ack") == 200
    wait_for(lambda: f"acknowledged by <@{JANE}>" in message.current_text, 10, "the edit")
    assert "pd_ack" not in buttons(message)
    assert world.pd.requests == []  # nothing asked of PagerDuty
