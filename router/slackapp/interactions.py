"""Button clicks (``block_actions``) and form submissions (``view_submission``): checked
against what is stored, then recorded or queued.

What a click acts on comes from the signed request's container (channel and
message ts) looked up in the store, never from the button's value; a form's from
its ``private_metadata``, looked up again. Forms are routed by ``callback_id``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from router.decide import Ruleset
from router.errors import PayloadError
from router.records import (
    AcknowledgeMessage,
    Action,
    DeclareIncident,
    ExpireSilence,
    ShareRunbook,
    StatusDraft,
    ThreadSteps,
)
from router.render.buttons import Button
from router.slackapp import checklist, feedback
from router.slackapp.actions import SLACK_USER_ID
from router.slackapp.forms import Submitted
from router.slackapp.silence import SilenceDesk
from router.slackapp.silence_modal import CALLBACK_ID as SILENCE_FORM
from router.store import MessageView, SilenceView


class InteractionStore(checklist.TickStore, feedback.VoteStore, Protocol):
    """What a click or a form submission reads and records, the ticks' and votes' part
    with it (the store implements it)."""

    def load_message(self, message_id: int, *, with_members: bool = True) -> MessageView | None: ...

    def find_message(self, slack_channel: str, slack_ts: str) -> MessageView | None: ...

    def enqueue_action(self, action: Action) -> int: ...


ON_MESSAGE: dict[
    str, type[ThreadSteps] | type[AcknowledgeMessage] | type[StatusDraft] | type[DeclareIncident]
] = {
    Button.SHOW_STEPS: ThreadSteps,
    Button.ACKNOWLEDGE: AcknowledgeMessage,
    Button.STATUS_UPDATE: StatusDraft,
    Button.DECLARE_INCIDENT: DeclareIncident,
}
"""Buttons on an alert message: the work each queues, on the message the click came from."""


def _text(value: Any, path: str, *, required: bool = True) -> str:
    if isinstance(value, str) and value:
        return value
    if value is None and not required:
        return ""
    raise PayloadError(
        path,
        "expected a non-empty string" if value is not None else "field required",
        status_code=400,
    )


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


ON_SUBMIT: dict[str, Callable[[dict[str, Any], str, InteractionStore], Submitted]] = {
    checklist.REASON_FORM: checklist.reason_submitted,
    feedback.STEP_WRONG_FORM: feedback.step_wrong_submitted,
}
"""Forms by ``callback_id``: what each submission does (the silence form goes to its
desk, which holds the Alertmanagers)."""


def _user_id(payload: dict[str, Any]) -> str:
    user = payload.get("user")
    if not isinstance(user, dict):
        raise PayloadError("payload.user", "expected an object", status_code=400)
    user_id = _text(user.get("id"), "payload.user.id")
    if not SLACK_USER_ID.match(user_id):
        raise PayloadError("payload.user.id", "not a Slack user ID", status_code=400)
    return user_id


def _draft_of(action: dict[str, Any], channel: Any, store: InteractionStore, i: int) -> int | None:
    """The alert message a draft's *Post in thread* belongs to.

    The draft was shown to one user alone (an ephemeral message, which the store does
    not know), so the button carries the message id; it counts only for a message
    posted in the channel the click came from.
    """
    value = _text(action.get("value"), f"payload.actions[{i}].value")
    if not value.isdigit():
        raise PayloadError(f"payload.actions[{i}].value", "not a message id", status_code=400)
    view = store.load_message(int(value), with_members=False)
    if view is None or view.slack_channel is None or view.slack_channel != channel:
        return None
    return view.id


def _silence_of(
    action: dict[str, Any],
    channel: Any,
    message_ts: Any,
    thread_ts: Any,
    store: InteractionStore,
    i: int,
) -> tuple[MessageView, SilenceView] | None:
    """The message and silence an Extend or Expire names (``<message id>:<silences.id>``).

    Counted only for a message posted in the channel the click came from, clicked on it
    or in its thread, and a silence that message shows.
    """
    value = _text(action.get("value"), f"payload.actions[{i}].value")
    message_id, _, silence_id = value.partition(":")
    if not (message_id.isdigit() and silence_id.isdigit()):
        raise PayloadError(f"payload.actions[{i}].value", "not a silence", status_code=400)
    view = store.load_message(int(message_id))
    if view is None or view.slack_channel is None or view.slack_channel != channel:
        return None
    if view.slack_ts not in (message_ts, thread_ts):
        return None
    silence = next((s for s in view.silences if s.id == int(silence_id)), None)
    return (view, silence) if silence is not None else None


def submission(payload: Any, store: InteractionStore, silences: SilenceDesk | None) -> Submitted:
    """A form's ``view_submission``, done by its ``callback_id``; one not ours changes
    nothing."""
    if not isinstance(payload, dict) or payload.get("type") != "view_submission":
        raise PayloadError("payload.type", "expected view_submission", status_code=400)
    user_id = _user_id(payload)
    view = payload.get("view")
    if not isinstance(view, dict):
        raise PayloadError("payload.view", "expected an object", status_code=400)
    callback = view.get("callback_id")
    if callback == SILENCE_FORM:
        answer = silences.submit(payload) if silences is not None else None
        return Submitted(answer=answer, work=silences is not None)
    done = ON_SUBMIT.get(str(callback))
    return done(view, user_id, store) if done is not None else Submitted()


def handle(
    payload: Any,
    store: InteractionStore,
    ruleset: Ruleset,
    response_url_prefix: str,
    silences: SilenceDesk | None = None,
) -> list[int]:
    """Record or queue the work of the clicked action; the ids stored (actions, events).

    *Silence* and *Extend* open their modal here and now: ``views.open`` needs the
    click's ``trigger_id``, which Slack honours for three seconds.
    """
    if not isinstance(payload, dict):
        raise PayloadError("payload", "expected a JSON object", status_code=400)
    if payload.get("type") != "block_actions":
        return []  # view submissions (submission() above), shortcuts: nothing here
    user_id = _user_id(payload)
    user = payload["user"]
    user_name = str(user.get("name") or user.get("username") or user_id)[:100]
    container = _object(payload.get("container"))
    channel = container.get("channel_id") or _object(payload.get("channel")).get("id")
    message_ts = container.get("message_ts") or _object(payload.get("message")).get("ts")
    thread_ts = _object(payload.get("message")).get("thread_ts") or container.get("thread_ts")
    trigger_id = payload.get("trigger_id")
    response_url = payload.get("response_url")
    if not (isinstance(response_url, str) and response_url.startswith(response_url_prefix)):
        response_url = None
    actions = payload.get("actions")
    if not isinstance(actions, list):
        raise PayloadError("payload.actions", "expected a list", status_code=400)
    who = {"user_id": user_id, "user_name": user_name, "response_url": response_url}
    queued = []
    # One click is one action: a block_actions payload carries the one clicked, and a
    # crafted payload with several gets only its first done.
    for i, action in enumerate(actions[:1]):
        if not isinstance(action, dict):
            raise PayloadError(f"payload.actions[{i}]", "expected an object", status_code=400)
        action_id = action.get("action_id")
        if action_id in ON_MESSAGE:
            view = None
            if isinstance(channel, str) and isinstance(message_ts, str):
                view = store.find_message(channel, message_ts)
            if view is None:
                continue  # not one of our messages (or from before a database reset)
            work = ON_MESSAGE[action_id]
            queued.append(store.enqueue_action(work(**who, message_id=view.id)))
        elif action_id == Button.POST_STATUS:
            if (message_id := _draft_of(action, channel, store, i)) is not None:
                draft = StatusDraft(**who, message_id=message_id, post=True)
                queued.append(store.enqueue_action(draft))
        elif action_id == Button.SILENCE and silences is not None and isinstance(trigger_id, str):
            view = None
            if isinstance(channel, str) and isinstance(message_ts, str):
                view = store.find_message(channel, message_ts)
            if view is not None:
                silences.open(view, user_id, user_name, trigger_id)
        elif action_id in (Button.EXTEND_SILENCE, Button.EXPIRE_SILENCE) and silences is not None:
            found = _silence_of(action, channel, message_ts, thread_ts, store, i)
            if found is None:
                continue
            view, silence = found
            if action_id == Button.EXPIRE_SILENCE:
                expire = ExpireSilence(**who, message_id=view.id, silence=silence.id)
                queued.append(store.enqueue_action(expire))
            elif isinstance(trigger_id, str):
                silences.open(view, user_id, user_name, trigger_id, extends=silence)
        elif action_id in checklist.TICK_BUTTONS or action_id == Button.STEP_MENU:
            where = (channel, message_ts)
            queued += checklist.tick(store, action, i, where, who, trigger_id)
        elif action_id in feedback.VOTE_BUTTONS:
            queued += feedback.vote(store, action, i, (channel, message_ts), user_id)
        elif action_id == Button.STEP_WRONG:
            where = (channel, message_ts)
            queued += feedback.step_wrong(store, action, i, where, who, trigger_id)
        elif action_id == Button.SHARE:
            runbook = ruleset.catalog.get(_text(action.get("value"), f"payload.actions[{i}].value"))
            if runbook is not None and response_url:
                queued.append(store.enqueue_action(ShareRunbook(**who, runbook=runbook.id)))
        # URL buttons (open_runbook, open_pagerduty) also report clicks: nothing to do.
    return queued
