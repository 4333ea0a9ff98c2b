"""A Notifier that records every call, for tests that drive the dispatcher directly."""

from __future__ import annotations

from typing import Any

from router.errors import DeliveryError
from router.notifiers import Posted
from router.render import Rendered, Reply


class RecordingNotifier:
    """Remembers every call; ``failures`` are raised, in order, before succeeding."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str | None, Rendered]] = []
        self.failures: list[DeliveryError] = []
        self.emails: dict[str, str] = {}
        self.names: dict[str, str] = {}  # user ID -> name (users.info)
        self.workspace: str | None = None  # auth.test's url
        self.responses: list[tuple[str, dict[str, Any]]] = []
        self.channels: list[str] = []
        self.topics: dict[str, str] = {}
        self.invites: list[tuple[str, str]] = []
        self.views: list[tuple[str, dict[str, Any]]] = []
        self.groups: dict[str, frozenset[str]] = {}
        self._n = 0

    def _maybe_fail(self) -> None:
        if self.failures:
            raise self.failures.pop(0)

    def post(self, channel: str, message: Rendered) -> Posted:
        self._maybe_fail()
        self._n += 1
        self.calls.append(("post", channel, None, message))
        return Posted(f"C-{channel}", f"1.{self._n}")

    def update(self, channel: str, ts: str, message: Rendered) -> None:
        self._maybe_fail()
        self.calls.append(("update", channel, ts, message))

    def reply(self, channel: str, thread_ts: str, message: Rendered) -> Posted:
        self._maybe_fail()
        self._n += 1
        self.calls.append(("reply", channel, thread_ts, message))
        return Posted(channel, f"1.{self._n}")

    def user_email(self, user_id: str) -> str | None:
        self._maybe_fail()
        return self.emails.get(user_id)

    def user_by_email(self, email: str) -> str | None:
        found = [u for u, e in self.emails.items() if e.lower() == email.lower()]
        return found[0] if found else None  # never one of the delivery ``failures``

    def user_name(self, user_id: str) -> str | None:
        return self.names.get(user_id)  # never one of the delivery ``failures``

    def workspace_url(self) -> str | None:
        return self.workspace

    def respond(self, response_url: str, reply: Reply) -> None:
        self._maybe_fail()
        self.responses.append((response_url, reply.payload()))

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        self._maybe_fail()
        self.views.append((trigger_id, view))

    def group_members(self, group_id: str) -> frozenset[str] | None:
        return self.groups.get(group_id)

    def create_channel(self, name: str) -> str:
        self._maybe_fail()
        self.channels.append(name)
        return f"C{len(self.channels):08d}"

    def set_topic(self, channel_id: str, topic: str) -> None:
        self._maybe_fail()
        self.topics[channel_id] = topic

    def invite(self, channel_id: str, user_id: str) -> None:
        self._maybe_fail()
        self.invites.append((channel_id, user_id))

    def actions(self) -> list[str]:
        return [c[0] for c in self.calls]
