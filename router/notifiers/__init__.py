"""Where messages go, and the other services the router calls: the transports.

    slack.py         Slack's Web API through slack_sdk: post, edit, reply, answer clicks
    log.py           no Slack token: each message written to the log as text
    directory.py     Slack's names for people and the workspace's address, cached
    pagerduty.py     PagerDuty's REST and Events APIs
    alertmanager.py  Alertmanager's API v2: silences and alerts

What they send is drawn in router/render/.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from router.render import Rendered, Reply


@dataclass(frozen=True)
class Posted:
    channel: str
    """The channel ID Slack answered with (edits need the ID, not the name)."""
    ts: str


class Notifier(Protocol):
    """Blocking calls (run off the event loop); failures raise DeliveryError."""

    def post(self, channel: str, message: Rendered) -> Posted: ...

    def update(self, channel: str, ts: str, message: Rendered) -> None: ...

    def reply(self, channel: str, thread_ts: str, message: Rendered) -> Posted: ...

    def user_email(self, user_id: str) -> str | None:
        """The Slack user's email, for acting as them in PagerDuty; None if unknown."""
        ...

    def user_by_email(self, email: str) -> str | None:
        """The Slack user ID of this email (``users.lookupByEmail``), for who is on call;
        None if Slack knows no one by it."""
        ...

    def user_name(self, user_id: str) -> str | None:
        """The Slack user's name as people know it, for pages and a silence's author;
        None if unknown."""
        ...

    def workspace_url(self) -> str | None:
        """The workspace's address (``https://acme.slack.com/``), for links to messages;
        None when there is no workspace (messages go to the log)."""
        ...

    def respond(self, response_url: str, reply: Reply) -> None:
        """Answer an interaction through its response_url."""
        ...

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        """Open a modal for the user whose click gave ``trigger_id`` (valid 3 s)."""
        ...

    def group_members(self, group_id: str) -> frozenset[str] | None:
        """The user IDs in a Slack user group; None if Slack does not say."""
        ...

    def create_channel(self, name: str) -> str:
        """A new public channel; its ID. DeliveryError(Reason.CONFLICT) if the name is taken."""
        ...

    def set_topic(self, channel_id: str, topic: str) -> None: ...

    def invite(self, channel_id: str, user_id: str) -> None:
        """Invite a user (already a member is fine)."""
        ...
