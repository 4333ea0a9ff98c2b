"""The silence modal: what it shows, what it carries, and how a submission is read. Pure.

``callback_id`` ``silence``; input blocks ``matchers`` (one Alertmanager matcher
per line, prefilled with the labels the message's firing alerts share),
``duration`` (a select) and ``comment`` (required). ``private_metadata`` names
the message, its channel and ts, the clicking user, the Alertmanager and a
nonce, signed with a key derived from the Slack signing secret: a submission
cannot name another message, another user, or be submitted twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from slack_sdk.models.blocks import (
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from router.matchers import Matcher, MatcherError, parse_matcher
from router.render.blocks import slack_date
from router.render.mrkdwn import safe
from router.store import SilenceView

CALLBACK_ID = "silence"
MATCHERS = "matchers"
DURATION = "duration"
COMMENT = "comment"
DURATIONS: dict[str, tuple[float, str]] = {
    "30m": (1800, "30 minutes"),
    "1h": (3600, "1 hour"),
    "2h": (7200, "2 hours"),
    "4h": (14400, "4 hours"),
    "8h": (28800, "8 hours"),
    "1d": (86400, "1 day"),
    "3d": (259200, "3 days"),
    "7d": (604800, "7 days"),
}
DEFAULT_DURATION = "1h"
METADATA_TTL = 12 * 3600.0
"""A modal left open longer than this is refused: open a new one from the message."""
MAX_MATCHER_LINES = 30
MAX_COMMENT = 1000
_KEY_CONTEXT = b"runbook-router: silence modal"


@dataclass(frozen=True)
class ModalMetadata:
    """What a modal is about, signed into its ``private_metadata``."""

    message: int
    channel: str
    ts: str
    user: str
    author: str
    """The user's real name (users.info, read when the modal opened): ``createdBy``."""
    alertmanager: str
    nonce: str
    issued: float
    extends: int | None = None
    """The ``silences.id`` the modal extends."""

    @classmethod
    def new(cls, **values: Any) -> ModalMetadata:
        return cls(nonce=secrets.token_urlsafe(16), **values)


class MetadataError(ValueError):
    """The modal's metadata was not made by this router (or by another secret)."""


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _KEY_CONTEXT, hashlib.sha256).digest()


def sign(metadata: ModalMetadata, secret: str) -> str:
    body = base64.urlsafe_b64encode(json.dumps(asdict(metadata)).encode()).decode()
    mac = hmac.new(_key(secret), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def verify(text: Any, secret: str, now: float) -> ModalMetadata:
    """The metadata a modal carries, if this router signed it and it is not stale."""
    if not isinstance(text, str) or text.count(".") != 1:
        raise MetadataError("not signed")
    body, mac = text.split(".")
    want = hmac.new(_key(secret), body.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac, want):
        raise MetadataError("bad signature")
    try:
        metadata = ModalMetadata(**json.loads(base64.urlsafe_b64decode(body)))
    except (ValueError, TypeError) as exc:
        raise MetadataError("unreadable") from exc
    if not 0 <= now - metadata.issued <= METADATA_TTL:
        raise MetadataError("expired")
    return metadata


def durations(max_duration: float) -> list[str]:
    """The select's choices, up to the configured maximum."""
    return [key for key, (seconds, _) in DURATIONS.items() if seconds <= max_duration]


def _option(key: str) -> Option:
    return Option(value=key, label=DURATIONS[key][1])


def modal(
    metadata: str,
    alertmanager: str,
    matchers: Sequence[str],
    choices: Sequence[str],
    *,
    extends: SilenceView | None = None,
) -> dict[str, Any]:
    """The modal's JSON for ``views.open``."""
    if extends is None:
        intro = (
            f"Silence in Alertmanager *{safe(alertmanager, 64)}* the alerts these matchers "
            "select; it stops notifying them until the silence ends. Prefilled with the labels "
            "this message's alerts share."
        )
    else:
        intro = (
            f"Extend silence `{safe(extends.silence_id, 64)}` by "
            f"{safe(extends.created_by or 'someone', 100)}, ending {slack_date(extends.ends_at)}, "
            f"in Alertmanager *{safe(alertmanager, 64)}*. The duration counts from now."
        )
    initial = DEFAULT_DURATION if DEFAULT_DURATION in choices else choices[-1]
    view = View(
        type="modal",
        callback_id=CALLBACK_ID,
        title=PlainTextObject(text="Silence in Alertmanager"),
        submit=PlainTextObject(text="Extend" if extends else "Silence"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=metadata,
        blocks=[
            SectionBlock(text=MarkdownTextObject(text=intro, verbatim=True)),
            InputBlock(
                block_id=MATCHERS,
                label=PlainTextObject(text="Matchers, one per line"),
                element=PlainTextInputElement(
                    action_id=MATCHERS,
                    multiline=True,
                    initial_value="\n".join(matchers)[:3000] or None,
                ),
                hint=PlainTextObject(
                    text='As Alertmanager writes them: name="value", name!="value", '
                    'name=~"regex", name!~"regex" (regexes match the whole value).'
                ),
            ),
            InputBlock(
                block_id=DURATION,
                label=PlainTextObject(text="For (from now)"),
                element=StaticSelectElement(
                    action_id=DURATION,
                    options=[_option(k) for k in choices],
                    initial_option=_option(initial),
                ),
            ),
            InputBlock(
                block_id=COMMENT,
                label=PlainTextObject(text="Comment"),
                element=PlainTextInputElement(
                    action_id=COMMENT,
                    multiline=True,
                    max_length=MAX_COMMENT,
                    initial_value=(extends.comment[:MAX_COMMENT] if extends else None) or None,
                    placeholder=PlainTextObject(text="Why, and the ticket or incident"),
                ),
            ),
        ],
    )
    return view.to_dict()


def notice(text: str) -> dict[str, Any]:
    """A modal that only says something (why this user cannot silence this message)."""
    view = View(
        type="modal",
        title=PlainTextObject(text="Silence in Alertmanager"),
        close=PlainTextObject(text="Close"),
        blocks=[SectionBlock(text=MarkdownTextObject(text=text, verbatim=True))],
    )
    return view.to_dict()


@dataclass(frozen=True)
class Submission:
    matchers: list[Matcher]
    seconds: float
    comment: str


@dataclass(frozen=True)
class Refused:
    errors: dict[str, str]
    """Block id -> what is wrong, shown on that block (``response_action: errors``)."""

    def answer(self) -> dict[str, Any]:
        return {"response_action": "errors", "errors": self.errors}


def _value(values: Mapping[str, Any], block: str) -> Any:
    entry = values.get(block, {})
    entry = entry.get(block, {}) if isinstance(entry, dict) else {}
    if not isinstance(entry, dict):
        return None
    if entry.get("type") == "static_select":
        option = entry.get("selected_option")
        return option.get("value") if isinstance(option, dict) else None
    return entry.get("value")


def read(values: Any, max_duration: float) -> Submission | Refused:
    """A submission's ``view.state.values``, each line parsed as Alertmanager's API does."""
    values = values if isinstance(values, dict) else {}
    errors: dict[str, str] = {}
    text = _value(values, MATCHERS)
    lines = [line.strip() for line in (text if isinstance(text, str) else "").splitlines()]
    numbered = [(n, line) for n, line in enumerate(lines, 1) if line]
    matchers: list[Matcher] = []
    for number, line in numbered[:MAX_MATCHER_LINES]:
        try:
            matchers.append(parse_matcher(line))
        except MatcherError as exc:
            errors[MATCHERS] = f"Line {number}: {line[:80]}: {exc}"[:1900]
            break
    if MATCHERS not in errors:
        if len(numbered) > MAX_MATCHER_LINES:
            errors[MATCHERS] = f"At most {MAX_MATCHER_LINES} matchers."
        elif not matchers:
            errors[MATCHERS] = "At least one matcher: a silence without any would mute every alert."
        elif all(m.matches_value("") for m in matchers):
            errors[MATCHERS] = (
                'At least one matcher must not match an empty value (label="value"): '
                "these would mute every alert."
            )
    key = _value(values, DURATION)
    seconds = DURATIONS[key][0] if isinstance(key, str) and key in DURATIONS else None
    if seconds is None:
        errors[DURATION] = "Choose a duration."
    elif seconds > max_duration:
        errors[DURATION] = f"At most {_longest(max_duration)} here (silence.max_duration)."
    comment = _value(values, COMMENT)
    comment = comment.strip() if isinstance(comment, str) else ""
    if not comment:
        errors[COMMENT] = "Say why: Alertmanager keeps the comment with the silence."
    elif len(comment) > MAX_COMMENT:
        errors[COMMENT] = f"At most {MAX_COMMENT} characters."
    if errors or seconds is None:
        return Refused(errors)
    return Submission(matchers, seconds, comment)


def _longest(max_duration: float) -> str:
    allowed = durations(max_duration)
    return DURATIONS[allowed[-1]][1] if allowed else f"{max_duration:.0f} seconds"
