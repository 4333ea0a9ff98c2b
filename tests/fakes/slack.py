"""A fake Slack Web API on loopback: chat.postMessage, chat.update, chat.postEphemeral,
users.info, users.lookupByEmail, auth.test, views.open, usergroups.users.list,
conversations.create/.setTopic/.invite, and apps.connections.open (with an app token:
the URL of a FakeSocketMode, or a forged answer).

Keeps every message by channel ID, resolves ``#name`` to a stable ID, and can
be told to fail: HTTP 5xx, 429 with Retry-After, or ``channel_not_found``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

from slack_sdk.signature import SignatureVerifier


@dataclass
class SlackMessage:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def current_text(self) -> str:
        return self.edits[-1]["text"] if self.edits else self.text

    @property
    def current_blocks(self) -> list[dict[str, Any]]:
        return self.edits[-1]["blocks"] if self.edits else self.blocks


class FakeSlack:
    def __init__(self, token: str = "xoxb-test") -> None:
        self.token = token
        self.messages: list[SlackMessage] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.call_times: list[float] = []  # self.clock() at each call, as calls
        self.clock: Callable[[], float] = time.monotonic  # a test's fake clock's now, if set
        self.lock = threading.Lock()
        self.refuse_status: int | None = None  # every call answers this status
        self.fail_next: list[tuple[int, dict[str, str]]] = []  # (status, headers) queue
        self.missing_channels: set[str] = set()
        self.delay = 0.0
        self.users: dict[str, str] = {}  # user ID -> email, for users.info
        self.names: dict[str, str] = {}  # user ID -> real name, for users.info
        self.workspace = "https://fake-workspace.slack.com/"  # auth.test's url
        self.groups: dict[str, list[str]] = {}  # user group ID -> members (usergroups.users.list)
        self.views: list[dict[str, Any]] = []  # what views.open opened (the modal's JSON)
        self.triggers: list[str] = []  # the trigger_id of each views.open
        self.responses: list[dict[str, Any]] = []  # what was sent to response_url
        self.channels: dict[str, str] = {}  # created channel name -> ID (conversations.create)
        self.topics: dict[str, str] = {}  # channel ID -> topic
        self.members: dict[str, list[str]] = {}  # channel ID -> invited user IDs
        self.scopes: set[str] | None = None  # None: every scope; else what the token has
        self.expired_triggers: set[str] = set()  # views.open answers expired_trigger_id
        self.app_token = "xapp-test"
        self.socket_url: Callable[[], str] | None = None  # apps.connections.open's url
        self.connections_open: dict[str, Any] | None = None  # a forged answer instead
        self._seq = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    # -- lifecycle ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/"

    @property
    def response_url_prefix(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/response/"

    def start(self) -> FakeSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- what tests read ---------------------------------------------------------

    @staticmethod
    def channel_id(name: str) -> str:
        if name.startswith("C") and name.isupper():
            return name
        return "C" + hashlib.sha1(name.encode()).hexdigest()[:8].upper()

    def posts(self, channel: str | None = None) -> list[SlackMessage]:
        """Top-level messages (not thread replies), optionally in one channel."""
        with self.lock:
            return [
                m
                for m in self.messages
                if m.thread_ts is None
                and (channel is None or m.channel == self.channel_id(channel))
            ]

    def replies(self, parent: SlackMessage) -> list[SlackMessage]:
        with self.lock:
            return [m for m in self.messages if m.thread_ts == parent.ts]

    def count(self, method: str) -> int:
        with self.lock:
            return sum(1 for name, _ in self.calls if name == method)

    # -- the server --------------------------------------------------------------

    def _answer(
        self, method: str, body: dict[str, Any], auth: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self.lock:
            self.calls.append((method, body))
            self.call_times.append(self.clock())
            if self.fail_next:
                status, headers = self.fail_next.pop(0)
                error = "ratelimited" if status == 429 else "internal_error"
                return status, {"ok": False, "error": error}, headers
            if self.refuse_status is not None:
                return self.refuse_status, {"ok": False, "error": "service_unavailable"}, {}
            if method.startswith("response:"):
                self.responses.append(body)
                return 200, {"ok": True}, {}
            if method == "apps.connections.open":
                return self._connections_open(auth)
            if auth != f"Bearer {self.token}":
                return 200, {"ok": False, "error": "invalid_auth"}, {}
            if method.startswith("conversations."):
                return self._conversations(method, body)
            if method == "auth.test":
                answer = {"ok": True, "url": self.workspace, "team": "Fake", "user_id": "UBOT"}
                return 200, answer, {}
            if method == "users.lookupByEmail":
                email = str(body.get("email", "")).lower()
                found = [u for u, e in self.users.items() if e.lower() == email]
                if not found:
                    return 200, {"ok": False, "error": "users_not_found"}, {}
                return 200, {"ok": True, "user": {"id": found[0], "profile": {"email": email}}}, {}
            if method == "users.info":
                user = str(body.get("user", ""))
                if user not in self.users and user not in self.names:
                    return 200, {"ok": False, "error": "user_not_found"}, {}
                name = self.names.get(user, "")
                profile = {"real_name": name, "display_name": ""}
                if user in self.users:
                    profile["email"] = self.users[user]
                answer = {"ok": True, "user": {"id": user, "real_name": name, "profile": profile}}
                return 200, answer, {}
            if method == "views.open":
                if str(body.get("trigger_id", "")) in self.expired_triggers:
                    return 200, {"ok": False, "error": "expired_trigger_id"}, {}
                view = body.get("view")
                if isinstance(view, str):
                    view = json.loads(view)
                if not body.get("trigger_id") or not isinstance(view, dict):
                    return 200, {"ok": False, "error": "invalid_arguments"}, {}
                self.views.append(view)
                self.triggers.append(str(body["trigger_id"]))
                return 200, {"ok": True, "view": {"id": f"V{len(self.views):08d}", **view}}, {}
            if method == "usergroups.users.list":
                group = str(body.get("usergroup", ""))
                if group not in self.groups:
                    return 200, {"ok": False, "error": "no_such_subteam"}, {}
                return 200, {"ok": True, "users": self.groups[group]}, {}
            channel = str(body.get("channel", ""))
            if not channel:
                return 200, {"ok": False, "error": "channel_not_found"}, {}
            if channel in self.missing_channels:
                return 200, {"ok": False, "error": "channel_not_found"}, {}
            cid = self.channel_id(channel)
            if method in ("chat.postMessage", "chat.postEphemeral"):
                ts = f"1700000000.{next(self._seq):06d}"
                message = SlackMessage(
                    cid, ts, body.get("text", ""), body.get("blocks", []), body.get("thread_ts")
                )
                self.messages.append(message)
                return 200, {"ok": True, "channel": cid, "ts": ts, "message": {"ts": ts}}, {}
            if method == "chat.update":
                for message in self.messages:
                    if message.channel == cid and message.ts == body.get("ts"):
                        message.edits.append(
                            {"text": body.get("text", ""), "blocks": body.get("blocks", [])}
                        )
                        return 200, {"ok": True, "channel": cid, "ts": message.ts}, {}
                return 200, {"ok": False, "error": "message_not_found"}, {}
            return 200, {"ok": False, "error": "unknown_method"}, {}

    def _connections_open(self, auth: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Socket Mode's URL, for the app-level token only (Slack's not_allowed_token_type
        for a bot token)."""
        if self.connections_open is not None:
            return 200, self.connections_open, {}
        if auth == f"Bearer {self.token}":
            return 200, {"ok": False, "error": "not_allowed_token_type"}, {}
        if auth != f"Bearer {self.app_token}":
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        if self.socket_url is None:
            return 200, {"ok": False, "error": "internal_error"}, {}
        return 200, {"ok": True, "url": self.socket_url()}, {}

    def _conversations(
        self, method: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """conversations.create, .setTopic and .invite, with Slack's errors."""
        if self.scopes is not None and "channels:manage" not in self.scopes:
            answer = {"ok": False, "error": "missing_scope", "needed": "channels:manage"}
            return 200, answer, {}
        if method == "conversations.create":
            name = str(body.get("name", ""))
            if name in self.channels:
                return 200, {"ok": False, "error": "name_taken"}, {}
            cid = "C" + hashlib.sha1(f"created:{name}".encode()).hexdigest()[:8].upper()
            self.channels[name] = cid
            return 200, {"ok": True, "channel": {"id": cid, "name": name}}, {}
        channel = str(body.get("channel", ""))
        if channel not in self.channels.values():
            return 200, {"ok": False, "error": "channel_not_found"}, {}
        if method == "conversations.setTopic":
            self.topics[channel] = str(body.get("topic", ""))
            return 200, {"ok": True}, {}
        if method == "conversations.invite":
            users = str(body.get("users", "")).split(",")
            invited = self.members.setdefault(channel, [])
            if any(u in invited for u in users):
                return 200, {"ok": False, "error": "already_in_channel"}, {}
            invited += users
            return 200, {"ok": True, "channel": {"id": channel}}, {}
        return 200, {"ok": False, "error": "unknown_method"}, {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                if fake.delay:
                    threading.Event().wait(fake.delay)
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length).decode()
                if "json" in self.headers.get("Content-Type", ""):
                    body = json.loads(raw or "{}")
                else:
                    body = {k: v[0] for k, v in parse_qs(raw).items()}
                method = self.path.rsplit("/", 1)[-1]
                if self.path.startswith("/response/"):
                    method = f"response:{method}"
                status, payload, headers = fake._answer(
                    method, body, self.headers.get("Authorization", "")
                )
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


_UNIQUE = itertools.count(1)


def _unique() -> str:
    return f"{time.time():.6f}.{next(_UNIQUE)}"


def click_payload(
    message: SlackMessage,
    action_id: str,
    value: str,
    user_id: str,
    *,
    response_url: str = "",
    trigger_id: str = "13345224609.738474920.8088930838d88f008e0",
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """The ``block_actions`` Slack sends for a click on a button of ``message``."""
    container = {"type": "message", "message_ts": message.ts, "channel_id": message.channel}
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower()},
        "team": {"id": "T0001"},
        "trigger_id": trigger_id,
        "response_url": response_url,
        "container": container,
        "channel": {"id": message.channel},
        "message": {"ts": message.ts, **({"thread_ts": thread_ts} if thread_ts else {})},
        "actions": [
            # Slack's action_ts differs per click: two clicks are two requests.
            {"type": "button", "action_id": action_id, "value": value, "action_ts": _unique()}
        ],
    }


def view_submission(view: dict[str, Any], user_id: str, **typed: str | None) -> dict[str, Any]:
    """The ``view_submission`` of a modal opened with ``views.open``: each input holds its
    initial value unless the test types another (``comment="…"``, by block id; for a
    select, the option's value), as a user would."""
    values: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        block_id, action_id = block["block_id"], element["action_id"]
        if element["type"] == "static_select":
            chosen = typed.get(block_id) or element.get("initial_option", {}).get("value")
            option = {"value": chosen} if chosen else None
            values[block_id] = {action_id: {"type": "static_select", "selected_option": option}}
        else:
            text = typed.get(block_id)
            text = element.get("initial_value") if text is None else text
            values[block_id] = {action_id: {"type": "plain_text_input", "value": text}}
    return {
        "type": "view_submission",
        "user": {"id": user_id, "username": user_id.lower()},
        "team": {"id": "T0001"},
        "view": {
            "id": "V0001",
            "hash": _unique(),  # each submission differs, as Slack's do
            "type": "modal",
            "callback_id": view.get("callback_id"),
            "private_metadata": view.get("private_metadata", ""),
            "state": {"values": values},
        },
    }


def signed_form(payload: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    """An interaction as Slack posts it: ``payload=<json>``, signed with the app's secret."""
    body = urlencode({"payload": json.dumps(payload)}).encode()
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    headers = {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature or "",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return body, headers
