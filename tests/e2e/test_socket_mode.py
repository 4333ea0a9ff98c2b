"""A running router with no public address: Slack reaches it over Socket Mode.

The router opens the connection itself (SLACK_APP_TOKEN, apps.connections.open on
the fake Slack), here to a fake Socket Mode server on loopback that speaks Slack's
envelope protocol. No SLACK_SIGNING_SECRET is set: nothing comes in over HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.processes import RouterProcess, http
from tests.fakes.postgres import PostgresServer
from tests.fakes.slack import FakeSlack, SlackMessage
from tests.fakes.slack_socket import FakeSocketMode
from tests.helpers import BODY, wait_for

TOKEN = "socket-token"
APP_TOKEN = "xapp-1-A0FAKE-1-e2e"
JANE = "U0JANE0001"


@pytest.fixture
def socket(fake_slack: FakeSlack) -> Iterator[FakeSocketMode]:
    server = FakeSocketMode().start()
    fake_slack.app_token = APP_TOKEN
    fake_slack.socket_url = lambda: server.url
    yield server
    server.stop()


def start(
    start_router: Callable[..., RouterProcess], slack: FakeSlack, **env: str
) -> RouterProcess:
    return start_router(
        ALERTMANAGER_TOKEN=TOKEN,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=slack.base_url,
        SLACK_RESPONSE_URL_PREFIX=slack.response_url_prefix,
        **env,
    )


def alert_message(router: RouterProcess, slack: FakeSlack) -> SlackMessage:
    status, _ = http(
        "POST",
        f"{router.url}/webhooks/alertmanager",
        json.loads(BODY),
        {"Authorization": f"Bearer {TOKEN}"},
    )
    assert status == 202
    wait_for(lambda: len(slack.posts("#db-oncall")) == 1, 20, "the alert message")
    router.settled()  # the post is recorded, so a click on it is found
    return slack.posts("#db-oncall")[0]


def click(message: SlackMessage, action_id: str) -> dict[str, Any]:
    """A block_actions payload as Slack puts it in an ``interactive`` envelope."""
    return {
        "type": "block_actions",
        "user": {"id": JANE, "username": "jane", "name": "jane", "team_id": "T0001"},
        "team": {"id": "T0001"},
        "container": {"type": "message", "message_ts": message.ts, "channel_id": message.channel},
        "channel": {"id": message.channel},
        "actions": [{"type": "button", "action_id": action_id, "value": "x", "action_ts": "1.2"}],
    }


def test_runbook_and_a_click_over_the_socket_then_a_refresh(
    fake_slack: FakeSlack, socket: FakeSocketMode, start_router: Callable[..., RouterProcess]
) -> None:
    router = start(start_router, fake_slack)
    socket.wait_connected()
    assert http("GET", f"{router.url}/readyz")[1] == {
        "status": "ready",
        "slack_socket": "connected",
    }

    # /runbook: the answer is the acknowledgement's payload, within Slack's 3 seconds.
    envelope = socket.command("RUN-001")
    ack = socket.ack(envelope, timeout=3)
    assert ack["payload"]["response_type"] == "ephemeral"
    assert "RUN-001" in ack["payload"]["text"]

    # Show all steps: queued on the ack, the procedure in the alert's thread.
    message = alert_message(router, fake_slack)
    clicked = socket.send("interactive", click(message, "show_steps"))
    assert socket.ack(clicked, timeout=3) == {"envelope_id": clicked}
    wait_for(lambda: len(fake_slack.replies(message)) == 1, 20, "the steps in the thread")
    assert "Checklist for RUN-001" in fake_slack.replies(message)[0].text

    # Slack gives the same envelope again (its ack was lost, say): acknowledged, not redone.
    socket.send("interactive", click(message, "show_steps"), envelope_id=clicked)
    wait_for(lambda: socket.acked(clicked) == 2, 10, "the second ack")
    router.settled()
    assert len(fake_slack.replies(message)) == 1

    # Slack refreshes the connection: the router connects anew, and the command works there.
    old = socket.live()[-1]
    socket.disconnect("refresh_requested", old)
    new = socket.wait_connected(1, total=2)
    assert new is not old
    after = socket.command("list", connection=new)
    assert "runbooks" in socket.ack(after, timeout=3)["payload"]["text"]

    # Cut off without a word: back after a short, jittered wait.
    socket.drop(new)
    third = socket.wait_connected(1, total=3)
    assert (
        "finds the procedure"
        in socket.ack(socket.command("help", connection=third))["payload"]["text"]
    )
    assert router.metric("router_slack_socket_connected") == 1
    assert router.metric('router_slack_socket_disconnects_total{reason="refresh_requested"}') == 1
    assert router.metric('router_slack_socket_disconnects_total{reason="dropped"}') >= 1
    log = router.log_path.read_text()
    assert APP_TOKEN not in log
    assert "ticket=" not in log


def test_a_reaction_over_the_socket_acknowledges_once(
    fake_slack: FakeSlack, socket: FakeSocketMode, start_router: Callable[..., RouterProcess]
) -> None:
    router = start(start_router, fake_slack)
    socket.wait_connected()
    message = alert_message(router, fake_slack)
    event = {
        "type": "event_callback",
        "event_id": "Ev0REACTION1",
        "event": {
            "type": "reaction_added",
            "user": JANE,
            "reaction": "eyes",
            "item": {"type": "message", "channel": message.channel, "ts": message.ts},
        },
    }
    first = socket.send("events_api", event, retry_attempt=0, retry_reason="")
    socket.ack(first, timeout=3)
    wait_for(lambda: "Acknowledged by" in json.dumps(message.current_blocks), 20, "the edit")
    router.settled()
    edits = len(message.edits)
    # Slack retries the event in a new envelope: the event id says it was taken.
    retry = socket.send("events_api", event, retry_attempt=1, retry_reason="timeout")
    socket.ack(retry, timeout=3)
    router.settled()
    assert len(message.edits) == edits
    assert (
        router.metric('router_slack_socket_envelopes_total{outcome="duplicate",type="events_api"}')
        == 1
    )


def test_a_modal_submission_is_answered_in_its_acknowledgement(
    fake_slack: FakeSlack, socket: FakeSocketMode, start_router: Callable[..., RouterProcess]
) -> None:
    """The Silence modal's view_submission goes to the same code as over HTTP; its answer
    (here: a form that cannot be checked, shown on the matchers) is the ack's payload."""
    start(start_router, fake_slack)
    socket.wait_connected()
    submission = {
        "type": "view_submission",
        "user": {"id": JANE, "username": "jane"},
        "view": {"callback_id": "silence", "private_metadata": "forged", "state": {"values": {}}},
    }
    envelope = socket.send("interactive", submission, accepts_response_payload=True)
    answer = socket.ack(envelope, timeout=3)["payload"]
    assert answer["response_action"] == "errors"
    assert "could not be checked" in json.dumps(answer["errors"])


def test_bad_envelopes_are_logged_acknowledged_or_dropped_and_change_nothing(
    fake_slack: FakeSlack, socket: FakeSocketMode, start_router: Callable[..., RouterProcess]
) -> None:
    router = start(start_router, fake_slack)
    connection = socket.wait_connected()
    message = alert_message(router, fake_slack)
    socket.send_raw("not json at all", connection)
    socket.send_raw(json.dumps({"type": "interactive", "payload": click(message, "show_steps")}))
    unknown = socket.send("workflow_step_execute", {"workflow_step": {}})
    broken = socket.send("interactive", {"type": "block_actions", "user": "not an object"})
    no_list = socket.send("interactive", {**click(message, "show_steps"), "actions": "x"})
    command = socket.send("slash_commands", {"text": ["not", "text"]})
    for envelope in (unknown, broken, no_list):
        assert socket.ack(envelope, timeout=3) == {"envelope_id": envelope}
    assert "finds the procedure" in socket.ack(command)["payload"]["text"]  # no text: the usage
    router.settled()
    assert fake_slack.replies(message) == []  # no click was acted on
    assert connection.open
    log = router.log_path.read_text()
    assert "a frame that is not a JSON object" in log
    assert "interactive message with no envelope_id: dropped" in log
    assert "interactive envelope refused: payload.user: expected an object" in log


def test_a_forged_connections_open_answer_is_not_followed(
    fake_slack: FakeSlack,
    socket: FakeSocketMode,
    start_router: Callable[..., RouterProcess],
    tmp_path: Path,
) -> None:
    fake_slack.connections_open = {"ok": True, "url": "http://attacker.example/"}
    router = start(start_router, fake_slack)
    wait_for(lambda: fake_slack.count("apps.connections.open") >= 2, 20, "tries")
    assert socket.connections == []
    status, body = http("GET", f"{router.url}/readyz")
    assert status == 200  # webhooks are still taken
    assert body["slack_socket"] in ("backing off", "connecting")
    assert "answered with no usable wss:// URL" in router.log_path.read_text()
    fake_slack.connections_open = None
    socket.wait_connected()
    wait_for(
        lambda: http("GET", f"{router.url}/readyz")[1].get("slack_socket") == "connected",
        10,
        "connected",
    )


def test_two_replicas_each_hold_a_connection_and_act_on_an_envelope_once(
    fake_slack: FakeSlack,
    socket: FakeSocketMode,
    postgres: PostgresServer,
    start_router: Callable[..., RouterProcess],
) -> None:
    """Slack gives an envelope to one connection; given again to the other replica (the
    first did not acknowledge in time, say), it is acknowledged there and not redone."""
    database = postgres.new_database()
    a = start(start_router, fake_slack, ROUTER_DATABASE_URL=database)
    first = socket.wait_connected()
    start(start_router, fake_slack, ROUTER_DATABASE_URL=database)
    second = socket.wait_connected(2)
    assert first is not second
    message = alert_message(a, fake_slack)
    envelope = socket.send("interactive", click(message, "show_steps"), connection=first)
    socket.send(
        "interactive", click(message, "show_steps"), envelope_id=envelope, connection=second
    )
    wait_for(lambda: socket.acked(envelope) == 2, 10, "both acknowledgements")
    wait_for(lambda: len(fake_slack.replies(message)) == 1, 20, "the steps in the thread")
    a.settled()
    assert len(fake_slack.replies(message)) == 1
    # A command goes to whichever connection Slack picks: each replica answers it.
    for connection in (first, second):
        answer = socket.ack(socket.command("RUN-001", connection=connection), timeout=3)
        assert "RUN-001" in answer["payload"]["text"]
