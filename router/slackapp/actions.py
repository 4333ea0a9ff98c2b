"""The work behind message buttons, run by the dispatcher from the outbox.

Every action was checked when the click arrived; what it acts on is read from
the store again here, never taken from the button's value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from router.clock import Clock, SystemClock
from router.decide import Ruleset
from router.errors import DeliveryError, Reason
from router.notifiers import Notifier
from router.notifiers.directory import permalink
from router.notifiers.pagerduty import PagerDuty
from router.records import (
    AcknowledgeMessage,
    Action,
    DeclareIncident,
    ExpireSilence,
    ShareRunbook,
    SilenceNotice,
    StatusDraft,
    StepReasonForm,
    StepWrongForm,
    ThreadSteps,
)
from router.render import Reply
from router.render.mrkdwn import MAX_BLOCKS, escape, link
from router.render.runbook_entry import runbook_blocks
from router.slackapp import checklist, feedback
from router.slackapp.incident import IncidentDesk, IncidentStore
from router.slackapp.silence import SilenceDesk
from router.store import MessageEvent, MessageView, PostedStep, RunbookPost

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")


def mention(user_id: str) -> str:
    """``<@U…>`` only for a well-formed ID (it comes from a signed request)."""
    return f"<@{user_id}>" if SLACK_USER_ID.match(user_id) else "someone"


class ActionStore(IncidentStore, Protocol):
    """What the queued button work reads and writes, the incident desk's part with it
    (the store implements it)."""

    def first_alert_id(self, message_id: int) -> int | None: ...

    def open_checklist(
        self, message_id: int, runbook_id: str, steps: Sequence[PostedStep], holder: str
    ) -> tuple[RunbookPost, bool]: ...

    def checklist_posted(self, post: RunbookPost, ts: str, who: str) -> None: ...

    def drop_post(self, post: RunbookPost) -> None: ...

    def load_post(self, post_id: int) -> RunbookPost | None: ...

    def step_event(self, event_id: int) -> tuple[MessageEvent, str] | None: ...

    def acknowledge(self, message_id: int, by: str) -> None: ...

    def acknowledge_message(self, message_id: int, user_id: str) -> bool: ...


class ActionRunner:
    def __init__(
        self,
        store: ActionStore,
        notifier: Notifier,
        ruleset: Callable[[], Ruleset],
        pagerduty: PagerDuty | None,
        clock: Clock | None = None,
        silences: SilenceDesk | None = None,
    ) -> None:
        self.silences = silences
        self.store = store
        self.notifier = notifier
        self.ruleset = ruleset
        self.pagerduty = pagerduty
        self.incidents = IncidentDesk(
            store, notifier, ruleset, clock or SystemClock(), self._answer
        )

    def run(self, action: Action, action_id: int = 0) -> str:
        """Do it; return what was done, for the delivered metric."""
        match action:
            case ThreadSteps():
                self._thread_steps(action, holder=f"action:{action_id}")
            case StepReasonForm():
                self._reason_form(action)
            case StepWrongForm():
                self._step_wrong_form(action)
            case ShareRunbook():
                self._share(action)
            case AcknowledgeMessage():
                self._acknowledge(action)
            case StatusDraft():
                self.incidents.status_draft(action)
            case DeclareIncident():
                self.incidents.declare(action, holder=f"action:{action_id}")
            case ExpireSilence() | SilenceNotice():
                self._silence(action)
        return action.kind

    def _silence(self, action: ExpireSilence | SilenceNotice) -> None:
        if self.silences is None:
            self._tell(action, "Silences are not configured in this router.")
        elif isinstance(action, ExpireSilence):
            self.silences.expire(action)
        else:
            self.silences.notice(action)

    def _answer(self, response_url: str | None, text: str) -> None:
        if response_url:
            self.notifier.respond(response_url, Reply(text))

    def _tell(self, action: Action, text: str) -> None:
        """An answer only the clicking user sees."""
        if url := action.response_url:
            self.notifier.respond(url, Reply(text))

    def _thread_steps(self, action: ThreadSteps, holder: str) -> None:
        """The procedure as a checklist in the thread, once per message: a later click
        is told where it is."""
        view = self.store.load_message(action.message_id)
        if view is None or view.slack_channel is None or view.slack_ts is None:
            raise DeliveryError(Reason.NOT_FOUND, "message not posted", retryable=False)
        ruleset = self.ruleset()
        runbook = ruleset.catalog.get(view.runbook.id or "")
        if runbook is None:
            self._tell(
                action, "This alert's runbook is not a RUN- entry here; open its link instead."
            )
            return
        # Filled for the alerts still firing (all of them once none is), in the message's order.
        label_sets = [m.labels for m in view.firing or view.members]
        steps = checklist.posted_steps(runbook, label_sets)
        post, mine = self.store.open_checklist(view.id, runbook.id, steps, holder)
        if not mine:
            where = permalink(self.notifier.workspace_url(), view.slack_channel, post.slack_ts)
            text = f"The checklist of {runbook.id} is already in this thread"
            self._tell(action, f"{text}: {link(where, 'open it', 200)}." if where else f"{text}.")
            return
        asked_by = f"slack:{action.user_id}"
        rendered = checklist.render_for(
            post, view, [], ruleset, asked_by=asked_by, more_url=self._alert_page(view)
        )
        try:
            posted = self.notifier.reply(view.slack_channel, view.slack_ts, rendered)
        except DeliveryError as exc:
            if not exc.retryable:
                self.store.drop_post(post)
            raise
        self.store.checklist_posted(post, posted.ts, asked_by)

    def _reason_form(self, action: StepReasonForm) -> None:
        """After *Didn't work*: the form for what happened (the tick stands without it)."""
        found = self.store.step_event(action.event_id)
        if found is None:
            return
        event, runbook_id = found
        form = checklist.reason_form(event.id, runbook_id, event.step or 0, event.detail or "")
        self._open(action, form, "say what happened in the thread")

    def _step_wrong_form(self, action: StepWrongForm) -> None:
        post = self.store.load_post(action.post_id)
        if post is None:
            return
        runbook = self.ruleset().catalog.get(post.runbook_id)
        form = feedback.step_wrong_form(post, runbook.title if runbook else None)
        self._open(action, form, "say in the thread which step was wrong and why")

    def _open(
        self, action: StepReasonForm | StepWrongForm, form: dict[str, Any], else_: str
    ) -> None:
        """A form within Slack's few seconds, or a word to the clicker that it could not."""
        try:
            self.notifier.open_view(action.trigger_id, form)
        except DeliveryError as exc:
            self._tell(action, f"Slack would not open the form ({exc.detail}): {else_}, please.")

    def _alert_page(self, view: MessageView) -> str | None:
        """The page of the message's first alert, when the router's pages have an address."""
        base = self.ruleset().pages_url
        alert_id = self.store.first_alert_id(view.id) if base else None
        return f"{base}/alerts/{alert_id}" if alert_id is not None else None

    def _share(self, action: ShareRunbook) -> None:
        ruleset = self.ruleset()
        runbook = ruleset.catalog.get(action.runbook)
        if runbook is None or action.response_url is None:
            self._tell(action, f"{escape(action.runbook)} is gone (the runbooks were reloaded).")
            return
        blocks = runbook_blocks(runbook, ruleset.runbook_url(runbook), share=False)
        shared = {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"Shared by {mention(action.user_id)}"}],
        }
        text = f"{runbook.id}: {escape(runbook.title)}"
        reply = Reply(text, [*blocks[: MAX_BLOCKS - 1], shared], in_channel=True)
        self.notifier.respond(action.response_url, reply)

    def _acknowledge(self, action: AcknowledgeMessage) -> None:
        """Acknowledge the message as the user who clicked: in PagerDuty for its incidents,
        in the router for alerts from elsewhere."""
        view = self.store.load_message(action.message_id)
        incidents = (
            sorted({m.pagerduty_incident for m in view.firing if m.pagerduty_incident})
            if view
            else []
        )
        if view is not None and view.tally.firing and not incidents:
            if not self.store.acknowledge_message(view.id, action.user_id):
                self._tell(action, "Already acknowledged.")
            return
        if view is None or not incidents:
            self._tell(action, "Nothing to acknowledge: nothing on this message is firing.")
            return
        if self.pagerduty is None or self.pagerduty.rest is None:
            self._tell(action, "The router has no PagerDuty API token; acknowledge in PagerDuty.")
            return
        email = self.notifier.user_email(action.user_id)
        if not email:
            self._tell(
                action,
                "I could not read your email from Slack, so I cannot act as you in PagerDuty. "
                "Acknowledge in PagerDuty, or ask an admin to grant the app users:read.email.",
            )
            return
        for incident in incidents:
            try:
                self.pagerduty.acknowledge(incident, email)
            except DeliveryError as exc:
                if exc.retryable:
                    raise
                self._tell(
                    action,
                    f"PagerDuty refused to acknowledge {incident} as {escape(email)} "
                    f"({exc.detail}). "
                    "Is that address a PagerDuty user with access to the service?",
                )
                return
        self.store.acknowledge(view.id, action.user_name or email)
