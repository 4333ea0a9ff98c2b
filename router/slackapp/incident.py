"""Status update drafts and Declare incident: the buttons that carry an incident on.

Declaring is idempotent per message: a claim in the message's events (one per
message, a unique index) names the action that holds it; each step (channel,
topic, invite, announcement, link in the alert thread) is skipped when done, so
a retried action finishes the work and a second click gets the channel back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, PlainTextObject

from router.clock import Clock
from router.decide import Ruleset
from router.errors import DeliveryError, Reason
from router.notifiers import Notifier
from router.records import DeclareIncident, StatusDraft
from router.render import Rendered, Reply
from router.render.blocks import section
from router.render.buttons import Button
from router.render.incident import drafts
from router.render.mrkdwn import MAX_SECTION_TEXT, code_block, escape, safe, truncate
from router.store import MessageEvent, MessageView
from router.store.events import INCIDENT_ANNOUNCED, STATUS_DRAFT

DECLARABLE = ("SEV0", "SEV1", "SEV2")
MAX_TOPIC = 250  # Slack's limit for a channel topic
NAME_TRIES = 5
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_COMMANDER = "\x00commander\x00"  # stored text has no NUL (router/storable.py)


class StatusStore(Protocol):
    """What ``/runbook status`` reads (the store implements it)."""

    def latest_open_message(self, slack_channel: str) -> MessageView | None: ...


class IncidentStore(Protocol):
    """What status drafts and Declare incident read and write (the store implements it)."""

    def load_message(self, message_id: int, *, with_members: bool = True) -> MessageView | None: ...

    def message_events(self, message_id: int) -> list[MessageEvent]: ...

    def record_event(
        self, message_id: int, kind: str, at: float, who: str | None = None, detail: str = ""
    ) -> None: ...

    def claim_incident(self, message_id: int, holder: str, at: float) -> MessageEvent: ...

    def set_incident_channel(self, message_id: int, channel_id: str) -> None: ...

    def drop_incident_claim(self, message_id: int, holder: str) -> None: ...


def channel_name(view: MessageView, now: float, attempt: int = 0) -> str:
    """``inc-YYYYMMDD-<short-slug>``, lowercase, within Slack's 80 characters."""
    day = datetime.fromtimestamp(now, UTC).strftime("%Y%m%d")
    name = view.members[0].name if view.members else view.group_key
    slug = _NOT_SLUG.sub("-", name.lower()).strip("-")[:40].strip("-") or "incident"
    suffix = f"-{attempt + 1}" if attempt else ""
    return f"inc-{day}-{slug}{suffix}"


def status_answer(store: StatusStore, ruleset: Ruleset, channel_id: str, now: float) -> Reply:
    """``/runbook status``: drafts for the newest alert still firing in this channel,
    only to the asker (a slash command does not say which thread it was typed in)."""
    view = store.latest_open_message(channel_id)
    if view is None:
        return Reply("No alert is firing in this channel, so there is no status to draft.")
    runbook = ruleset.catalog.get(view.runbook.id) if view.runbook.id else None
    level = ruleset.level(view.level)
    texts = [drafts.status_update(view, runbook, level, now)]
    if view.level == "SEV0":
        texts.append(drafts.executive_brief(view, runbook, level, now))
    head = "📝 Draft for the newest alert firing here: edit it, then post it yourself."
    blocks = [section(head)] + [section(code_block(t, MAX_SECTION_TEXT - 20)) for t in texts]
    return Reply(head, [b.to_dict() for b in blocks])


class IncidentDesk:
    def __init__(
        self,
        store: IncidentStore,
        notifier: Notifier,
        ruleset: Callable[[], Ruleset],
        clock: Clock,
        tell: Callable[[str | None, str], None],
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.ruleset = ruleset
        self.clock = clock
        self.tell = tell
        """Answer only the clicking user (their response_url, if any)."""

    def _posted(self, message_id: int, response_url: str | None) -> MessageView | None:
        view = self.store.load_message(message_id)
        if view is None or view.slack_channel is None or view.slack_ts is None:
            self.tell(response_url, "That alert message is not in Slack (any more).")
            return None
        return view

    def status_draft(self, action: StatusDraft) -> None:
        """The draft, to the clicking user alone with a button to post it in the thread
        (or, from that button, in the thread): for a person to edit and repost."""
        view = self._posted(action.message_id, action.response_url)
        if view is None:
            return
        ruleset, now = self.ruleset(), self.clock.now()
        runbook = ruleset.catalog.get(view.runbook.id) if view.runbook.id else None
        level = ruleset.level(view.level)
        texts = [("Status update", drafts.status_update(view, runbook, level, now))]
        if view.level == "SEV0":
            texts.append(("Executive brief", drafts.executive_brief(view, runbook, level, now)))
        shared = action.post or action.response_url is None
        if shared:
            head = (
                f"📝 *Status update draft*, posted by <@{action.user_id}>: edit it, then post "
                "it where your stakeholders read. Nothing was sent anywhere else."
            )
        else:
            head = (
                "📝 *Status update draft*, only for you: edit it, then post it where your "
                "stakeholders read. Nothing was sent anywhere."
            )
        blocks: list[Block] = [section(head)]
        for name, text in texts:
            blocks.append(section(f"*{name}*\n" + code_block(text, MAX_SECTION_TEXT - 40)))
        fallback = f"Status update draft: {safe(drafts.title(view), 200)}"
        if not shared and action.response_url:
            blocks.append(ActionsBlock(elements=[_post_button(view.id)]))
            reply = Reply(fallback, [b.to_dict() for b in blocks])
            self.notifier.respond(action.response_url, reply)
        else:
            channel_id, ts = _thread(view)
            self.notifier.reply(channel_id, ts, Rendered(fallback, [b.to_dict() for b in blocks]))
        self.store.record_event(view.id, STATUS_DRAFT, now, f"slack:{action.user_id}")

    def declare(self, action: DeclareIncident, holder: str) -> None:
        view = self._posted(action.message_id, action.response_url)
        if view is None:
            return
        if view.closed or view.level not in DECLARABLE:
            why = "it is resolved" if view.closed else f"it is {view.level}"
            self.tell(action.response_url, f"No incident channel for this one: {why}.")
            return
        now = self.clock.now()
        claim = self.store.claim_incident(view.id, holder, now)
        if claim.who != holder:
            where = f"<#{claim.detail}>" if claim.detail else "a channel being made right now"
            self.tell(
                action.response_url, f"An incident is already declared for this alert: {where}."
            )
            return
        try:
            channel = claim.detail or self._create_channel(view, now)
        except DeliveryError as exc:
            if exc.retryable:
                raise
            self.store.drop_incident_claim(view.id, holder)
            self.tell(action.response_url, _cannot(exc))
            return
        if claim.detail is None:
            self.store.set_incident_channel(view.id, channel)
        self._open(view, channel, action, now)

    def _create_channel(self, view: MessageView, now: float) -> str:
        for attempt in range(NAME_TRIES):
            try:
                return self.notifier.create_channel(channel_name(view, now, attempt))
            except DeliveryError as exc:
                if exc.reason != Reason.CONFLICT:
                    raise
        raise DeliveryError(Reason.CONFLICT, "name_taken", retryable=False)

    def _open(self, view: MessageView, channel: str, action: DeclareIncident, now: float) -> None:
        """Topic, the commander in, the first communication there, the link in the thread."""
        ruleset = self.ruleset()
        commander = f"<@{action.user_id}>"
        # Alert text, escaped like all of it (a topic shows mentions and links too), on one line.
        title = safe(" ".join(drafts.title(view).split()), MAX_TOPIC - 60)
        topic = truncate(f"{view.level}: {title} | Commander: {commander}", MAX_TOPIC)
        self.notifier.set_topic(channel, topic)
        self.notifier.invite(channel, action.user_id)
        if INCIDENT_ANNOUNCED in {e.kind for e in self.store.message_events(view.id)}:
            return
        runbook = ruleset.catalog.get(view.runbook.id) if view.runbook.id else None
        url = ruleset.runbook_url(runbook) if runbook else view.runbook.url
        # The draft is text from alerts and runbooks, escaped; the commander is our mention.
        first = drafts.initial_communication(view, runbook, _COMMANDER, url, now)
        text = truncate(escape(first), MAX_SECTION_TEXT).replace(_COMMANDER, commander)
        self.notifier.post(channel, Rendered(text, [section(text).to_dict()]))
        thread = _thread(view)
        link = f"🚨 Incident declared by {commander}, who is commander: <#{channel}>"
        self.notifier.reply(*thread, Rendered(link, [section(link).to_dict()]))
        self.store.record_event(
            view.id, INCIDENT_ANNOUNCED, now, f"slack:{action.user_id}", channel
        )


def _post_button(message_id: int) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text="Post in thread"),
        action_id=Button.POST_STATUS,
        value=str(message_id),
    )


def _thread(view: MessageView) -> tuple[str, str]:
    """The alert message's channel ID and ts (it was checked to be posted)."""
    if view.slack_channel is None or view.slack_ts is None:
        raise DeliveryError(Reason.NOT_FOUND, "message not posted", retryable=False)
    return view.slack_channel, view.slack_ts


def _cannot(exc: DeliveryError) -> str:
    if exc.detail == "missing_scope" or exc.reason == Reason.AUTH:
        return (
            f"I could not open an incident channel: Slack says {exc.detail}. The app needs "
            "the channels:manage scope: reinstall it from deploy/slack-app-manifest.yaml, or "
            "create the channel by hand."
        )
    return f"I could not open an incident channel: Slack says {exc.detail}."
