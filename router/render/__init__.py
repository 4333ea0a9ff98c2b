"""What the router writes for people, as pure functions: nothing here sends anything.

    message.py        an alert message (Block Kit); storm_message.py a storm's and its pointers
    message_runbook.py, message_buttons.py, muted.py, labels.py  the message's parts
    runbook_entry.py  a runbook entry whole (``/runbook``, Show all steps)
    clock.py          the response-time clock's thread replies
    blocks.py, mrkdwn.py, buttons.py  shared pieces: blocks, Slack's escaping and limits,
                      every button's ``action_id``
    incident/         the timeline, status drafts and the postmortem draft

A renderer's output is a ``Rendered`` (or a ``Reply`` to a command or a click); the
transports in router/notifiers/ send it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rendered:
    """A message ready to send: notification text plus Block Kit blocks."""

    text: str
    blocks: list[dict[str, Any]]


@dataclass(frozen=True)
class Reply:
    """An answer to a slash command or a click (its response_url): only the asker sees
    it, unless ``in_channel``."""

    text: str
    blocks: list[dict[str, Any]] | None = None
    in_channel: bool = False

    def payload(self) -> dict[str, Any]:
        """Slack's JSON for it; never replaces the message that was clicked."""
        body: dict[str, Any] = {
            "response_type": "in_channel" if self.in_channel else "ephemeral",
            "replace_original": False,
            "text": self.text,
        }
        if self.blocks is not None:
            body["blocks"] = self.blocks
        return body
