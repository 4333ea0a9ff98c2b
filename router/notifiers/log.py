"""No Slack token: each message is written to the log as readable text."""

from __future__ import annotations

import itertools
import logging
import re
import time
from typing import Any

from router.notifiers import Posted
from router.render import Rendered, Reply
from router.render.mrkdwn import unescape

log = logging.getLogger("router.slack")


_SLACK_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")


def _text(obj: dict[str, Any] | None) -> str:
    return unescape(_SLACK_DATE.sub(r"\1", obj["text"])) if obj else ""


def as_text(blocks: list[dict[str, Any]]) -> str:
    """Block Kit -> plain lines, for a terminal."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"== {_text(block.get('text'))} ==")
        elif kind == "section":
            if "text" in block:
                lines.append(_text(block["text"]))
            for f in block.get("fields", []):
                lines.append("  " + _text(f).replace("\n", ": ", 1))
        elif kind == "context":
            lines.append("  " + " ".join(_text(e) for e in block.get("elements", [])))
        elif kind == "divider":
            lines.append("-" * 40)
        elif kind == "actions":
            for e in block.get("elements", []):
                lines.append(f"[{_text(e.get('text'))}] {e.get('url', e.get('action_id', ''))}")
    return "\n".join(lines)


class LogNotifier:
    """Stands in for Slack: same calls, messages go to the log and stay in the store."""

    def __init__(self) -> None:
        self._seq = itertools.count(1)

    def _ts(self) -> str:
        return f"{time.time():.0f}.{next(self._seq):06d}"

    def post(self, channel: str, message: Rendered) -> Posted:
        ts = self._ts()
        log.info("slack post to %s (ts %s)\n%s", channel, ts, as_text(message.blocks))
        return Posted(channel, ts)

    def update(self, channel: str, ts: str, message: Rendered) -> None:
        log.info("slack edit of %s in %s\n%s", ts, channel, as_text(message.blocks))

    def user_email(self, user_id: str) -> str | None:
        return None

    def user_by_email(self, email: str) -> str | None:
        return None  # no workspace: who is on call is named in words

    def user_name(self, user_id: str) -> str | None:
        return None

    def workspace_url(self) -> str | None:
        return None  # nothing was posted anywhere: no message to link to

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        log.info(
            "slack: would open a modal (no SLACK_BOT_TOKEN)\n%s", as_text(view.get("blocks", []))
        )

    def group_members(self, group_id: str) -> frozenset[str] | None:
        return None

    def respond(self, response_url: str, reply: Reply) -> None:
        log.info("slack response\n%s", as_text(reply.blocks or []) or reply.text)

    def create_channel(self, name: str) -> str:
        log.info("slack: would create channel #%s (no SLACK_BOT_TOKEN)", name)
        return f"C-LOG-{name}"[:80]

    def set_topic(self, channel_id: str, topic: str) -> None:
        log.info("slack: topic of %s: %s", channel_id, topic)

    def invite(self, channel_id: str, user_id: str) -> None:
        log.info("slack: invite %s to %s", user_id, channel_id)

    def reply(self, channel: str, thread_ts: str, message: Rendered) -> Posted:
        ts = self._ts()
        log.info("slack reply in thread %s of %s\n%s", thread_ts, channel, as_text(message.blocks))
        return Posted(channel, ts)
