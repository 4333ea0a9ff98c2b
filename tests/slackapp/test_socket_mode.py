"""Socket Mode's protocol against a fake Socket Mode server on loopback: hello, envelopes
and their acknowledgements, disconnects and dropped connections, and what Slack never
sends. The handler here is a stand-in; tests/e2e/test_socket_mode.py drives the router's."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk.socket_mode.request import SocketModeRequest

from router.errors import PayloadError, StoreUnavailable
from router.metrics import Metrics
from router.slackapp.socket_mode import Ack, Backoff, ConnectionsOpen, NotOpened, SocketMode
from tests.fakes.slack import FakeSlack
from tests.fakes.slack_socket import FakeSocketMode
from tests.helpers import wait_for

APP_TOKEN = "xapp-1-A0FAKE-1-secret"


class Handler:
    """Answers commands with their text; ``fail`` makes the next envelope raise."""

    def __init__(self) -> None:
        self.seen: list[SocketModeRequest] = []
        self.fail: Exception | None = None

    async def __call__(self, request: SocketModeRequest) -> Ack:
        self.seen.append(request)
        if self.fail is not None:
            raise self.fail
        if request.type == "slash_commands":
            return Ack(
                {"response_type": "ephemeral", "text": f"you said {request.payload['text']}"}
            )
        return Ack({"ignored": "no payload for this type"})

    def ids(self) -> list[str]:
        return [r.envelope_id for r in self.seen]


class Client:
    """A SocketMode on an event loop of its own, as the server's lifespan runs it."""

    def __init__(self, slack: FakeSlack, handler: Handler, **kw: Any) -> None:
        self.metrics = Metrics()
        opener = ConnectionsOpen(APP_TOKEN, slack.base_url)
        backoff = Backoff(base=0.05, cap=0.2, rng=random.Random(7))
        self.mode = SocketMode(opener, handler, metrics=self.metrics, backoff=backoff, **kw)
        self.loop = asyncio.new_event_loop()
        self.task: asyncio.Task[None] | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.task = self.loop.create_task(self.mode.run())
        with contextlib.suppress(asyncio.CancelledError):
            self.loop.run_until_complete(self.task)

    def start(self) -> Client:
        self.thread.start()
        return self

    def stop(self) -> None:
        wait_for(lambda: self.task is not None, 5, "the client's task")
        assert self.task is not None
        self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(10)
        self.loop.close()

    def metric(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
def socket() -> Iterator[FakeSocketMode]:
    server = FakeSocketMode().start()
    yield server
    server.stop()


@pytest.fixture
def slack(fake_slack: FakeSlack, socket: FakeSocketMode) -> FakeSlack:
    fake_slack.app_token = APP_TOKEN
    fake_slack.socket_url = lambda: socket.url
    return fake_slack


@pytest.fixture
def handler() -> Handler:
    return Handler()


@pytest.fixture
def client(slack: FakeSlack, handler: Handler) -> Iterator[Client]:
    c = Client(slack, handler, hello_within=2.0).start()
    yield c
    c.stop()


def test_a_command_is_answered_in_its_acknowledgement(
    client: Client, socket: FakeSocketMode, handler: Handler, slack: FakeSlack
) -> None:
    socket.wait_connected()
    wait_for(lambda: client.mode.state == "connected", 5, "connected")
    envelope = socket.command("RUN-001")
    ack = socket.ack(envelope)
    assert ack == {
        "envelope_id": envelope,
        "payload": {"response_type": "ephemeral", "text": "you said RUN-001"},
    }
    assert handler.seen[0].type == "slash_commands"
    # apps.connections.open was asked with the app-level token, not the bot token
    assert slack.count("apps.connections.open") == 1
    assert client.metric("router_slack_socket_connected") == 1
    labels = {"type": "slash_commands", "outcome": "acknowledged"}
    assert client.metric("router_slack_socket_envelopes_total", **labels) == 1


def test_no_payload_in_the_ack_where_slack_takes_none(
    client: Client, socket: FakeSocketMode
) -> None:
    socket.wait_connected()
    click = socket.send("interactive", {"type": "block_actions"})
    event = socket.send("events_api", {"type": "event_callback"}, retry_attempt=0)
    assert socket.ack(click) == {"envelope_id": click}
    assert socket.ack(event) == {"envelope_id": event}


def test_refresh_requested_connects_anew_before_the_old_one_closes(
    client: Client, socket: FakeSocketMode, handler: Handler
) -> None:
    old = socket.wait_connected()
    socket.disconnect("refresh_requested", old)
    new = socket.wait_connected(1, total=2)  # the old one closed once the new said hello
    assert new is not old
    assert not old.open
    envelope = socket.command("list", connection=new)
    assert socket.ack(envelope)["payload"]["text"] == "you said list"
    labels = {"reason": "refresh_requested"}
    assert client.metric("router_slack_socket_disconnects_total", **labels) == 1
    assert client.metric("router_slack_socket_connected") == 1


def test_an_envelope_on_the_old_connection_is_still_answered_there(
    slack: FakeSlack, socket: FakeSocketMode, handler: Handler
) -> None:
    socket.hello = True
    c = Client(slack, handler, hello_within=2.0).start()
    try:
        old = socket.wait_connected()
        socket.hello = False  # the next connection is slow to say hello
        socket.disconnect("warning", old)
        wait_for(lambda: len(socket.connections) == 2, 5, "a second connection")
        envelope = socket.command("why X", connection=old)
        assert socket.ack(envelope)["payload"]["text"] == "you said why X"
        assert old.received[-1]["envelope_id"] == envelope  # acknowledged where it came
    finally:
        c.stop()


def test_a_dropped_connection_comes_back_after_a_backoff(
    client: Client, socket: FakeSocketMode, handler: Handler
) -> None:
    first = socket.wait_connected()
    socket.hello = False  # the next connection is not greeted at once: the gauge says 0
    socket.drop(first)
    wait_for(lambda: client.metric("router_slack_socket_connected") == 0, 5, "the gauge at 0")
    socket.hello = True
    second = socket.wait_connected(1, total=2)
    envelope = socket.command("help", connection=second)
    assert socket.ack(envelope)["payload"]["text"] == "you said help"
    assert client.metric("router_slack_socket_disconnects_total", reason="dropped") == 1


def test_backoff_grows_with_jitter_and_resets() -> None:
    backoff = Backoff(base=1.0, cap=30.0, rng=random.Random(3))
    delays = [backoff.next() for _ in range(8)]
    for n, delay in enumerate(delays):
        ceiling = min(30.0, 2.0**n)
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(delays)) == len(delays)  # jittered: replicas cut off together spread out
    backoff.reset()
    assert backoff.next() <= 1.0


def test_link_disabled_waits_long_and_says_so(
    slack: FakeSlack, socket: FakeSocketMode, handler: Handler, caplog: pytest.LogCaptureFixture
) -> None:
    c = Client(slack, handler).start()
    try:
        connection = socket.wait_connected()
        socket.disconnect("link_disabled", connection)
        wait_for(lambda: c.mode.state == "disabled", 5, "the disabled state")
        assert "Socket Mode is off for this app" in caplog.text
    finally:
        c.stop()


def test_frames_slack_never_sends_are_logged_and_nothing_is_done(
    client: Client, socket: FakeSocketMode, handler: Handler, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "router.slack")
    connection = socket.wait_connected()
    socket.send_raw("{not json", connection)
    socket.send_raw(b"\x00\x01binary", connection)
    socket.send_raw(json.dumps(["a", "list"]), connection)
    socket.send_raw(json.dumps({"type": "slash_commands", "payload": {"text": "x"}}), connection)
    socket.send_raw(json.dumps({"envelope_id": "env-notype", "payload": {}}), connection)
    socket.send_raw(
        json.dumps({"envelope_id": "env-badpayload", "type": "interactive", "payload": 42}),
        connection,
    )
    # An envelope of a type Slack may add some day: the handler decides (here: acknowledged).
    unknown = socket.send("workflow_step_execute", {"anything": 1})
    after = socket.command("still here")
    assert socket.ack(after)["payload"]["text"] == "you said still here"
    assert socket.ack("env-notype") == {"envelope_id": "env-notype"}  # never given again
    assert socket.ack("env-badpayload") == {"envelope_id": "env-badpayload"}
    assert socket.ack(unknown) == {"envelope_id": unknown}
    assert handler.ids() == [unknown, after]  # nothing else reached the handler
    assert connection.open  # and the connection stays up
    assert "not a JSON object" in caplog.text
    assert "no envelope_id: dropped" in caplog.text
    assert "secret" not in caplog.text  # no token in the log
    dropped = client.metric("router_slack_socket_envelopes_total", type="other", outcome="dropped")
    assert dropped == 3  # not JSON, a list, binary
    assert (
        client.metric(
            "router_slack_socket_envelopes_total", type="slash_commands", outcome="dropped"
        )
        == 1
    )


def test_work_that_cannot_be_stored_is_not_acknowledged(
    client: Client, socket: FakeSocketMode, handler: Handler
) -> None:
    """As a 503 over HTTP: Slack gives the envelope again, and then it is done."""
    socket.wait_connected()
    handler.fail = StoreUnavailable("database refused the write: gone")
    envelope = socket.send("events_api", {"type": "event_callback"})
    wait_for(lambda: envelope in handler.ids(), 5, "the handler to see it")
    handler.fail = None
    after = socket.command("x")
    socket.ack(after)
    assert socket.acked(envelope) == 0
    socket.send("events_api", {"type": "event_callback"}, envelope_id=envelope, retry_attempt=1)
    assert socket.ack(envelope) == {"envelope_id": envelope}


def test_work_that_can_never_be_done_is_acknowledged(
    client: Client, socket: FakeSocketMode, handler: Handler
) -> None:
    """As a 4xx over HTTP: acknowledged, so Slack does not give it again."""
    socket.wait_connected()
    handler.fail = PayloadError("payload.user", "expected an object", status_code=400)
    envelope = socket.send("interactive", {"type": "block_actions"})
    assert socket.ack(envelope) == {"envelope_id": envelope}
    assert client.metric(
        "router_slack_socket_envelopes_total", type="interactive", outcome="refused"
    )


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ({"ok": False, "error": "invalid_auth"}, "apps.connections.open: invalid_auth"),
        ({"ok": True}, "no usable wss:// URL"),
        ({"ok": True, "url": "https://evil.example/link"}, "no usable wss:// URL"),
        ({"ok": True, "url": 42}, "no usable wss:// URL"),
    ],
)
def test_a_refused_or_forged_connections_open_answer_is_not_followed(
    slack: FakeSlack,
    socket: FakeSocketMode,
    handler: Handler,
    caplog: pytest.LogCaptureFixture,
    answer: dict[str, Any],
    why: str,
) -> None:
    slack.connections_open = answer
    c = Client(slack, handler).start()
    try:
        wait_for(lambda: slack.count("apps.connections.open") >= 2, 5, "a second try")
        assert socket.connections == []
        assert c.mode.state in ("backing off", "connecting")
        assert why in caplog.text
        assert APP_TOKEN not in caplog.text
        assert c.metric("router_slack_socket_connects_total", outcome="refused") >= 1
        slack.connections_open = None  # Slack answers again: connected
        socket.wait_connected()
    finally:
        c.stop()


def test_a_plain_ws_url_is_refused_from_an_https_api() -> None:
    opener = ConnectionsOpen(APP_TOKEN, "https://slack.com/api/")
    assert not opener._acceptable("ws://wss-primary.slack.com/link/?ticket=1")
    assert opener._acceptable("wss://wss-primary.slack.com/link/?ticket=1")


def test_the_bot_token_is_not_an_app_token(slack: FakeSlack) -> None:
    opener = ConnectionsOpen(slack.token, slack.base_url)
    with pytest.raises(NotOpened, match="not_allowed_token_type"):
        opener()


def test_no_hello_is_no_connection(
    slack: FakeSlack, socket: FakeSocketMode, handler: Handler
) -> None:
    socket.hello = False
    c = Client(slack, handler, hello_within=0.3).start()
    try:
        wait_for(lambda: len(socket.connections) >= 2, 10, "a second attempt")
        assert c.metric("router_slack_socket_connects_total", outcome="failed") >= 1
        assert c.mode.state != "connected"
    finally:
        c.stop()
