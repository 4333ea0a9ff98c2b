"""Modals: building one, reading what a ``view_submission`` says, and the answer Slack wants.

A modal is opened with a click's ``trigger_id``, which Slack honours for three
seconds. The checklist's and the feedback's forms open from the outbox, queued
in the transaction that stored the click (the dispatcher is woken at once):
what the click said is stored whatever becomes of the form, and if Slack's
seconds pass first the clicker is told. (The silence form opens in the request
itself: router/slackapp/silence.py.) What a form acts on travels in
``private_metadata``, which the router wrote; it is checked against the store
again on submission, as a button's value is. Each form has its ``callback_id``,
and interactions.py routes submissions by it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from router.errors import PayloadError
from router.render.mrkdwn import truncate

MAX_TITLE = 24
"""Slack's limit for a modal's title."""
MAX_OPTIONS = 100
"""Options in a static select."""
MAX_OPTION_TEXT = 75
TRIGGER_ID = re.compile(r"^[0-9A-Za-z.]{1,200}$")


@dataclass(frozen=True)
class Submitted:
    """What a form's submission did: the answer for Slack (``response_action``: errors by
    input block keep the form open; None closes it), and whether the dispatcher has work."""

    answer: dict[str, Any] | None = None
    work: bool = False

    @classmethod
    def refused(cls, errors: dict[str, str]) -> Submitted:
        return cls(answer={"response_action": "errors", "errors": errors})


def plain(text: str, limit: int = 3000) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": True}


def modal(
    callback_id: str, title: str, metadata: str, blocks: list[dict[str, Any]], submit: str
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": metadata,
        "title": plain(title, MAX_TITLE),
        "submit": plain(submit, MAX_TITLE),
        "close": plain("Cancel", MAX_TITLE),
        "blocks": blocks,
    }


def text_input(block_id: str, label: str, placeholder: str, max_length: int) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": {
            "type": "plain_text_input",
            "action_id": block_id,
            "multiline": True,
            "max_length": max_length,
            "placeholder": plain(placeholder, 150),
        },
    }


def select_input(block_id: str, label: str, options: list[tuple[str, str]]) -> dict[str, Any]:
    """A required static select of (value, text)."""
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": {
            "type": "static_select",
            "action_id": block_id,
            "placeholder": plain("Choose", 150),
            "options": [
                {"text": plain(text, MAX_OPTION_TEXT), "value": value}
                for value, text in options[:MAX_OPTIONS]
            ],
        },
    }


def _state(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    values = (view.get("state") or {}).get("values") or {}
    block = values.get(block_id) if isinstance(values, dict) else None
    answer = block.get(block_id) if isinstance(block, dict) else None
    return answer if isinstance(answer, dict) else {}


def typed(view: dict[str, Any], block_id: str, limit: int) -> str:
    """What was typed into an input (one line per line, trimmed), at most ``limit``."""
    value = _state(view, block_id).get("value")
    text = "\n".join(line.strip() for line in str(value or "").strip().splitlines())
    return text[:limit]


def chosen(view: dict[str, Any], block_id: str) -> str:
    option = _state(view, block_id).get("selected_option")
    value = option.get("value") if isinstance(option, dict) else None
    return value if isinstance(value, str) else ""


def metadata_id(view: dict[str, Any]) -> int:
    """The stored id the form was opened for (its ``private_metadata``)."""
    value = view.get("private_metadata")
    if not isinstance(value, str) or not value.isdigit() or len(value) > 18:
        raise PayloadError("payload.view.private_metadata", "not an id", status_code=400)
    return int(value)
