"""Silence from Slack: the modal a click opens, its submission, Expire, and the thread.

    click Silence / Extend -> views.open (in the request: the trigger_id lasts 3 s)
    submit -> checked (signed metadata, one submission, matchers, duration, comment)
           -> POST /api/v2/silences (first peer that answers, within Slack's 3 s)
           -> stored: the message edited "🔕 Silenced by @user until 14:00", a reply
              in its thread, the timeline (one transaction, delivered by the outbox)
    Expire -> queued; DELETE /api/v2/silence/{id}; the message and thread say so

Whatever Alertmanager does not do is told to the clicker alone (in the modal, or
through the click's response_url) and nothing changes. Who may: anyone who sees
the message, or those ``silence.allow`` names (users, user groups).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, PlainTextObject

from router.alertmanagers import Alertmanagers
from router.clock import Clock
from router.decide import Ruleset
from router.errors import DeliveryError
from router.metrics import Metrics
from router.notifiers import Notifier
from router.notifiers.directory import SlackDirectory
from router.records import ExpireSilence, SilenceNotice
from router.render import Rendered, Reply
from router.render.blocks import section, slack_date
from router.render.buttons import Button
from router.render.mrkdwn import safe
from router.render.muted import matcher_lines
from router.slackapp import silence_modal as modal
from router.store import MessageView, NewSilence, SilenceFacts, SilenceView

log = logging.getLogger("router.slack")

GROUP_CACHE = 60.0
"""Seconds a user group's members are believed (usergroups.users.list)."""
ALLOW_TEXT = (
    "Only the people and user groups that `silence.allow` names in routes.yaml may silence "
    "from Slack. Ask one of them, or silence in Alertmanager itself."
)


class SilenceStore(Protocol):
    """What the silence form, Expire and their notices read and write (the store
    implements it)."""

    def load_message(self, message_id: int, *, with_members: bool = True) -> MessageView | None: ...

    def silence(self, row_id: int) -> SilenceView | None: ...

    def claim_submission(self, nonce: str) -> bool: ...

    def release_submission(self, nonce: str) -> None: ...

    def record_silence(self, new: NewSilence) -> int: ...

    def record_expired(self, row_id: int, message_id: int, user_id: str) -> bool: ...


def _mention(user_id: str) -> str:
    return f"<@{user_id}>" if user_id else "someone"


class SilenceDesk:
    def __init__(
        self,
        store: SilenceStore,
        notifier: Notifier,
        alertmanagers: Callable[[], Alertmanagers],
        ruleset: Callable[[], Ruleset],
        metrics: Metrics,
        clock: Clock,
        secret: str | None,
        directory: SlackDirectory | None = None,
    ) -> None:
        self.directory = directory
        """Slack's names for people (users.info, cached): a silence's author."""
        self.store = store
        self.notifier = notifier
        self.alertmanagers = alertmanagers
        self.ruleset = ruleset
        self.metrics = metrics
        self.clock = clock
        self.secret = secret
        """The Slack signing secret: the modal's metadata is signed with a key from it."""
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    # -- who ----------------------------------------------------------------------

    def refusal(self, user_id: str) -> str | None:
        """Why this user may not silence (None: they may)."""
        allow = self.ruleset().config.data.silence
        if allow.allow is None or user_id in allow.users:
            return None
        for group in sorted(allow.groups):
            members = self._members(group)
            if members is not None and user_id in members:
                return None
        return ALLOW_TEXT

    def _members(self, group: str) -> frozenset[str] | None:
        """A user group's members, asked of Slack at most once a minute."""
        now = self.clock.now()
        with self._lock:
            cached = self._groups.get(group)
        if cached is not None and now - cached[0] < GROUP_CACHE:
            return cached[1]
        members = self.notifier.group_members(group)
        if members is None:
            log.warning("slack: the members of user group %s could not be read", group)
            return cached[1] if cached else None
        with self._lock:
            self._groups[group] = (now, members)
        return members

    # -- the click ----------------------------------------------------------------

    def open(
        self,
        view: MessageView,
        user_id: str,
        user_name: str,
        trigger_id: str,
        extends: SilenceView | None = None,
    ) -> None:
        """Open the modal for this message (or a modal saying why not)."""
        api = self.alertmanagers().for_message(view)
        silence = self.ruleset().config.data.silence
        why = None
        if api is None:
            why = "This alert's Alertmanager is not configured in the router (`ALERTMANAGER_URL`)."
        elif not view.firing:
            why = "Nothing to silence: every alert of this message has resolved."
        elif self.secret is None or view.slack_channel is None or view.slack_ts is None:
            why = "This alert message is not in Slack (any more)."
        else:
            why = self.refusal(user_id)
        if why is not None or api is None or self.secret is None:
            self._open(trigger_id, modal.notice(why or "Not possible here."))
            return
        # Looked up now (a bounded wait); by the time the form is sent, Slack has answered.
        author = self._name(user_id) or user_name or user_id
        metadata = modal.ModalMetadata.new(
            message=view.id,
            channel=view.slack_channel or "",
            ts=view.slack_ts or "",
            user=user_id,
            author=author[:200],
            alertmanager=api.name,
            issued=self.clock.now(),
            extends=extends.id if extends else None,
        )
        lines = extends.matchers if extends else matcher_lines(view)
        body = modal.modal(
            modal.sign(metadata, self.secret),
            api.name,
            lines,
            modal.durations(silence.max_duration),
            extends=extends,
        )
        self._open(trigger_id, body)

    def _name(self, user_id: str) -> str | None:
        if self.directory is None:
            return None
        return self.directory.names([f"slack:{user_id}"]).get(f"slack:{user_id}")

    def _open(self, trigger_id: str, view: dict[str, Any]) -> None:
        try:
            self.notifier.open_view(trigger_id, view)
        except DeliveryError as exc:  # expired_trigger_id: Slack waited too long
            log.warning("slack: the silence modal did not open: %s", exc.detail)

    # -- the submission -----------------------------------------------------------

    def submit(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """The answer to a ``view_submission`` of the silence modal (None: not ours)."""
        view = payload.get("view")
        if not isinstance(view, dict) or view.get("callback_id") != modal.CALLBACK_ID:
            return None
        user = payload.get("user")
        user_id = user.get("id") if isinstance(user, dict) else None
        now = self.clock.now()
        if self.secret is None:
            return _refused("The router has no SLACK_SIGNING_SECRET to check this form with.")
        try:
            metadata = modal.verify(view.get("private_metadata"), self.secret, now)
        except modal.MetadataError as exc:
            log.warning("slack: a silence form was refused: its metadata is %s", exc)
            return _refused(
                "This form could not be checked; open a new one from the alert message."
            )
        if user_id != metadata.user:
            return _refused("This form was opened by someone else.")
        message = self.store.load_message(metadata.message)
        if (
            message is None
            or message.slack_channel != metadata.channel
            or message.slack_ts != metadata.ts
        ):
            return _refused("This form names an alert message the router does not have.")
        if (why := self.refusal(metadata.user)) is not None:
            return _refused(why)
        settings = self.ruleset().config.data.silence
        state = view.get("state") if isinstance(view.get("state"), dict) else {}
        read = modal.read((state or {}).get("values"), settings.max_duration)
        if isinstance(read, modal.Refused):
            return read.answer()
        api = self.alertmanagers().get(metadata.alertmanager)
        if api is None:
            return _refused(f"Alertmanager {metadata.alertmanager} is no longer configured.")
        matched = [m for m in message.firing if all(x.matches(m.labels) for x in read.matchers)]
        if not matched:
            firing = len(message.firing)
            return _refused(
                f"These matchers select none of this message's {firing} firing alert(s)."
                if firing
                else "Nothing to silence: every alert of this message has resolved."
            )
        extends = self.store.silence(metadata.extends) if metadata.extends is not None else None
        author = self._name(metadata.user) or metadata.author
        if not self.store.claim_submission(metadata.nonce):
            return _refused("This form was submitted already; open a new one from the message.")
        # Alertmanager extends in place (same ID) only with the same start and matchers.
        same = extends is not None and sorted(map(str, read.matchers)) == sorted(extends.matchers)
        starts = extends.starts_at if same and extends and extends.starts_at else now
        try:
            silence_id = api.create_silence(
                read.matchers,
                min(starts, now),
                now + read.seconds,
                author,
                read.comment,
                replaces=extends.silence_id if extends else None,
            )
        except DeliveryError as exc:
            self.store.release_submission(metadata.nonce)
            self.metrics.silence_failures.labels(api.name, exc.reason.value).inc()
            log.warning("alertmanager %s: silence not made: %s", api.name, exc.detail)
            if exc.retryable:
                return _refused(
                    f"Alertmanager {api.name} did not answer: nothing was silenced. Try again "
                    "in a moment, or silence in Alertmanager itself."
                )
            return _refused(f"Alertmanager {api.name} refused the silence: {exc.detail}")
        facts = SilenceFacts(
            silence_id,
            [str(m) for m in read.matchers],
            author,
            read.comment,
            min(starts, now),
            now + read.seconds,
        )
        self.store.record_silence(
            NewSilence(
                message.id,
                api.name,
                facts,
                metadata.user,
                [m.alert_id for m in matched],
                replaces=extends.id if extends else None,
            )
        )
        self.metrics.silences.labels(api.name, "extended" if extends else "created").inc()
        log.info(
            "silence %s made in alertmanager %s from message %s",
            silence_id,
            api.name,
            message.id,
            extra={"alertmanager": api.name, "message_id": message.id},
        )
        return {"response_action": "clear"}

    # -- queued work ----------------------------------------------------------------

    def expire(self, action: ExpireSilence) -> None:
        silence = self.store.silence(action.silence)
        tell = self._teller(action.response_url)
        if silence is None or not silence.active(self.clock.now()):
            tell("That silence has ended already.")
            return
        if (why := self.refusal(action.user_id)) is not None:
            tell(why)
            return
        api = self.alertmanagers().get(silence.alertmanager)
        if api is None:
            tell(f"Alertmanager {silence.alertmanager} is no longer configured in the router.")
            return
        try:
            api.expire_silence(silence.silence_id)
        except DeliveryError as exc:
            self.metrics.silence_failures.labels(api.name, exc.reason.value).inc()
            detail = "did not answer" if exc.retryable else f"refused: {exc.detail}"
            tell(
                f"Alertmanager {api.name} {detail}, so the silence stays until "
                f"{slack_date(silence.ends_at)}. Try again, or expire it in Alertmanager."
            )
            return
        if self.store.record_expired(silence.id, action.message_id, action.user_id):
            self.metrics.silences.labels(api.name, "expired").inc()

    def notice(self, action: SilenceNotice) -> None:
        """The reply in the message's thread."""
        view = self.store.load_message(action.message_id, with_members=True)
        silence = self.store.silence(action.silence)
        if view is None or silence is None or view.slack_channel is None or view.slack_ts is None:
            return
        who = _mention(action.user_id)
        matchers = " ".join(f"`{safe(m, 200)}`" for m in silence.matchers[:12])
        until = slack_date(silence.ends_at)
        blocks: list[Any] = []
        if action.what == "created":
            text = (
                f"🔕 {who} silenced this in Alertmanager *{safe(silence.alertmanager, 64)}* "
                f"until {until}: {safe(silence.comment, 500)}\nMatchers: {matchers} · "
                f"silence `{safe(silence.silence_id, 64)}`"
            )
        elif action.what == "extended":
            text = f"🔕 {who} extended the silence until {until}: {safe(silence.comment, 500)}"
        elif action.what == "expired":
            text = (
                f"🔔 {who} expired silence `{safe(silence.silence_id, 64)}`: Alertmanager "
                "notifies these alerts again."
            )
        else:
            firing = sum(1 for m in view.firing if silence.silence_id in m.silenced_by)
            author = (
                _mention(silence.slack_user)
                if silence.slack_user
                else safe(silence.created_by or "someone", 100)
            )
            text = (
                f"⏳ The silence by {author} ends {until}, and {firing or 'its'} alert(s) "
                "still fire. Extend it, or let Alertmanager notify again."
            )
            extend = ButtonElement(
                text=PlainTextObject(text="Extend silence"),
                action_id=Button.EXTEND_SILENCE,
                value=f"{view.id}:{silence.id}",
            )
            blocks.append(ActionsBlock(elements=[extend]).to_dict())
        blocks.insert(0, section(text).to_dict())
        self.notifier.reply(view.slack_channel, view.slack_ts, Rendered(text, blocks))

    def _teller(self, response_url: str | None) -> Callable[[str], None]:
        def tell(text: str) -> None:
            if response_url:
                self.notifier.respond(response_url, Reply(text))

        return tell


def _refused(text: str) -> dict[str, Any]:
    """Told in the modal, on the matchers (the modal stays open, nothing changed)."""
    return {"response_action": "errors", "errors": {modal.MATCHERS: text[:1900]}}
