"""Status update drafts and Declare incident, through the app and its dispatcher, against the
fake Slack; and the drafts themselves as goldens."""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from router.decide import load_ruleset
from router.errors import PayloadError
from router.records import NO_RUNBOOK
from router.render.buttons import Button
from router.render.incident import drafts
from router.slackapp import interactions
from router.slackapp.incident import channel_name
from router.store import Member, MessageView, Store
from tests.fakes.clock import FakeClock
from tests.fakes.slack import FakeSlack, SlackMessage
from tests.helpers import (
    AUTH,
    BODY,
    GOLDEN,
    ROUTES,
    RUNBOOKS,
    AppClients,
    check_golden,
    make_alert,
    runtime,
    wait_for,
)
from tests.slack import command_body, interaction_body, posted, signed, slack_settings

JANE = "U0JANE0001"
CLICKS = (f"1795320000.{n:06d}" for n in itertools.count(1))
"""Each click's own action_ts, as Slack sends them (so two clicks are two requests)."""


@dataclass
class World:
    client: TestClient
    slack: FakeSlack
    store: Store

    def alert(self, body: bytes = BODY) -> SlackMessage:
        """The golden SEV1 DatabaseConnectionPoolHigh (or ``body``), posted to #db-oncall."""
        assert (
            self.client.post("/webhooks/alertmanager", content=body, headers=AUTH).status_code
            == 202
        )
        return posted(self.slack, self.store, "#db-oncall")

    def click(
        self, message: SlackMessage, action_id: str, user: str = JANE, value: str = "x"
    ) -> None:
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user, "username": "jane", "name": "jane", "team_id": "T0001"},
            "response_url": self.slack.response_url_prefix + f"T0001/{user}/abc",
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "value": value,
                    "action_ts": next(CLICKS),
                }
            ],
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
            },
            "channel": {"id": message.channel},
        }
        body = interaction_body(payload)
        answer = self.client.post("/slack/interactions", content=body, headers=signed(body))
        assert answer.status_code == 200


@pytest.fixture
def world(tmp_path: Path, fake_slack: FakeSlack, app_client: AppClients) -> World:
    client = app_client(slack_settings(tmp_path, fake_slack))
    return World(client, fake_slack, runtime(client).store)


def _buttons(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


def test_a_status_update_draft_goes_to_the_clicker_alone_then_to_the_thread(
    world: World,
) -> None:
    message = world.alert()
    assert Button.STATUS_UPDATE in json.dumps(message.current_blocks)
    world.click(message, Button.STATUS_UPDATE)
    wait_for(lambda: bool(world.slack.responses), 10, "the draft, to the clicker")
    (answer,) = world.slack.responses
    assert answer["response_type"] == "ephemeral"
    text = json.dumps(answer["blocks"])
    assert "only for you" in text
    assert "Status: Investigating" in text
    assert "Current action: Following RUN-001" in text
    assert "Executive brief" not in text  # SEV1: the brief is for SEV0
    assert not world.slack.replies(message)  # nothing public yet
    post = _buttons(answer["blocks"])[Button.POST_STATUS]
    world.click(message, Button.POST_STATUS, value=post["value"])
    wait_for(lambda: bool(world.slack.replies(message)), 10, "the draft in the thread")
    (draft,) = world.slack.replies(message)
    assert "posted by <@U0JANE0001>" in json.dumps(draft.blocks)
    assert "Status: Investigating" in json.dumps(draft.blocks)
    assert world.slack.count("chat.postMessage") == 2  # the alert, and the draft in its thread


def test_post_in_thread_counts_only_for_a_message_in_the_clicked_channel(world: World) -> None:
    message = world.alert()
    ruleset = load_ruleset(ROUTES, RUNBOOKS)

    def queued(channel: str, value: str) -> list[int]:
        payload = {
            "type": "block_actions",
            "user": {"id": JANE, "name": "jane"},
            "container": {"type": "message", "message_ts": "1.2", "channel_id": channel},
            "actions": [{"action_id": Button.POST_STATUS, "value": value}],
        }
        return interactions.handle(payload, world.store, ruleset, "https://hooks.slack.com/")

    message_id = _buttons_value(world, message)
    assert queued("C0ELSEWHERE", message_id) == []
    assert queued(message.channel, "999") == []
    assert len(queued(message.channel, message_id)) == 1
    with pytest.raises(PayloadError, match=r"payload.actions\[0\].value: not a message id"):
        queued(message.channel, "1; DROP")


def _buttons_value(world: World, message: SlackMessage) -> str:
    view = world.store.find_message(message.channel, message.ts)
    assert view is not None
    return str(view.id)


def test_declare_incident_opens_one_channel_even_when_clicked_twice(world: World) -> None:
    message = world.alert()
    world.click(message, Button.DECLARE_INCIDENT)
    world.click(message, Button.DECLARE_INCIDENT, user="U0BOB00001")
    wait_for(lambda: len(world.slack.responses) == 1, 10, "the second clicker told")
    assert list(world.slack.channels) == [f"inc-{_today()}-databaseconnectionpoolhigh"]
    (channel,) = world.slack.channels.values()
    assert world.slack.topics[channel] == (
        "SEV1: Connection pool for main is nearly exhausted | Commander: <@U0JANE0001>"
    )
    assert world.slack.members[channel] == [JANE]
    (announcement,) = world.slack.posts(channel)
    assert "Commander: <@U0JANE0001>" in announcement.text
    link = [r for r in world.slack.replies(message) if "Incident declared" in r.text]
    assert len(link) == 1
    assert f"<#{channel}>" in link[0].text
    assert f"<#{channel}>" in world.slack.responses[0]["text"]  # only the second clicker
    assert world.slack.count("conversations.create") == 1


def test_the_incident_channel_topic_is_escaped_alert_text_on_one_line(world: World) -> None:
    data = json.loads(BODY)
    data["alerts"][0]["annotations"]["summary"] = "<!channel> pool\nfor <@U0EVIL> main"
    message = world.alert(json.dumps(data).encode())
    world.click(message, Button.DECLARE_INCIDENT)
    wait_for(lambda: bool(world.slack.topics), 10, "the incident channel's topic")
    (topic,) = world.slack.topics.values()
    assert topic == (
        "SEV1: &lt;!channel&gt; pool for &lt;@U0EVIL&gt; main | Commander: <@U0JANE0001>"
    )


def test_without_the_scope_the_clicker_is_told_what_is_missing(world: World) -> None:
    world.slack.scopes = {"chat:write"}
    message = world.alert()
    world.click(message, Button.DECLARE_INCIDENT)
    wait_for(lambda: bool(world.slack.responses), 10, "the answer to the clicker")
    (answer,) = world.slack.responses
    assert "channels:manage" in answer["text"]
    assert answer["response_type"] == "ephemeral"
    assert world.slack.channels == {}
    world.slack.scopes = None  # granted: the next click opens it
    world.click(message, Button.DECLARE_INCIDENT)
    wait_for(lambda: len(world.slack.channels) == 1, 10, "the channel, once allowed")


def _today() -> str:
    return datetime.now(UTC).strftime("%Y%m%d")


# -- the drafts, golden -----------------------------------------------------------------


def _view(level: str, acked: bool, clock: FakeClock) -> MessageView:
    ruleset = load_ruleset(ROUTES, RUNBOOKS)
    store = Store.from_url("sqlite://", clock)
    store.create_schema()
    alerts = [
        make_alert(env="prod", summary="Connection pool for main is nearly exhausted"),
        make_alert(
            env="prod",
            instance="pgbouncer-1:9127",
            summary="Connection pool for main is nearly exhausted",
        ),
    ]
    store.ingest([(a, ruleset.decide(a)) for a in alerts])
    if acked:
        store.acknowledge_message(1, JANE)
    view = store.load_message(1)
    assert view is not None
    return MessageView(**{**view.__dict__, "level": level})


@pytest.mark.parametrize("acked", [False, True], ids=["investigating", "identified"])
def test_status_update_draft_golden(acked: bool, clock: FakeClock) -> None:
    ruleset = load_ruleset(ROUTES, RUNBOOKS)
    view = _view("SEV1", acked, clock)
    clock.advance(600)
    text = drafts.status_update(
        view, ruleset.catalog.get("RUN-001"), ruleset.level("SEV1"), clock.now()
    )
    name = "identified" if acked else "investigating"
    check_golden(GOLDEN / f"incident/status-update-{name}.txt", text + "\n")


def test_executive_brief_and_initial_communication_golden(clock: FakeClock) -> None:
    ruleset = load_ruleset(ROUTES, RUNBOOKS)
    view = _view("SEV0", False, clock)
    runbook = ruleset.catalog.get("RUN-001")
    clock.advance(600)
    brief = drafts.executive_brief(view, runbook, ruleset.level("SEV0"), clock.now())
    check_golden(GOLDEN / "incident/executive-brief.txt", brief + "\n")
    first = drafts.initial_communication(
        view, runbook, f"<@{JANE}>", ruleset.runbook_url("RUN-001"), clock.now()
    )
    check_golden(GOLDEN / "incident/initial-communication.txt", first + "\n")


def test_runbook_status_drafts_for_the_newest_alert_firing_in_the_channel(world: World) -> None:
    message = world.alert()
    body = command_body("status", channel_id=message.channel)
    answer = world.client.post("/slack/commands", content=body, headers=signed(body))
    assert answer.status_code == 200
    reply = answer.json()
    assert reply["response_type"] == "ephemeral"  # only the asker; nothing posted
    assert "Status: Investigating" in json.dumps(reply["blocks"])
    elsewhere = command_body("status", channel_id="C0QUIET000")
    quiet = world.client.post("/slack/commands", content=elsewhere, headers=signed(elsewhere))
    assert "No alert is firing in this channel" in quiet.json()["text"]


SLACK_CHANNEL_NAME = re.compile(r"^[a-z0-9_-]{1,80}$")
"""docs.slack.dev, conversations.create: lowercase letters, numbers, hyphens and
underscores, at most 80 characters."""


@given(name=st.text(max_size=300), attempt=st.integers(min_value=0, max_value=4))
def test_incident_channel_names_are_names_slack_accepts(name: str, attempt: int) -> None:
    view = MessageView(
        id=1, source="alertmanager", group_key="g", channel="#c", route=None, runbook=NO_RUNBOOK, level="SEV1", version=1,
        closed=False, created_at=0.0, resolved_at=None, resolve_notified=False,
        slack_channel=None, slack_ts=None,
        members=[Member(fingerprint="f", name=name, status="firing", level="SEV1", reason="",
                        labels={}, annotations={}, summary="", url=None, starts_at=None,
                        ends_at=None)],
    )  # fmt: skip
    channel = channel_name(view, 1_795_320_000.0, attempt)
    assert SLACK_CHANNEL_NAME.match(channel), channel
    assert channel.startswith("inc-20261122-")
