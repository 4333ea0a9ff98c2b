"""The store's closed vocabularies, stored as their values (``StrEnum``: a member is its text).

Every kind of outbox entry, its states, the kinds of Slack message and of timeline
event. A new one is a member here; nothing else spells these strings.
"""

from __future__ import annotations

from enum import StrEnum


class OutboxKind(StrEnum):
    """A delivery the dispatcher makes, and what the entry's ``ref`` points at."""

    SLACK_MESSAGE = "slack_message"  # messages.id
    PAGERDUTY_NOTE = "pagerduty_note"  # alerts.id: the runbook note on a PagerDuty incident
    PAGERDUTY_EVENT = "pagerduty_event"  # alerts.id: Events API trigger or resolve
    SLACK_ACTION = "slack_action"  # actions.id: a button's work
    HEARTBEAT = "heartbeat"  # heartbeats.id: due when the heartbeat's interval has passed
    RESPONSE_CLOCK = "response_clock"  # messages.id: ack_within, resolve_within, update_every
    RECONCILE = "reconcile"  # 0: the one reconciler, due every ROUTER_RECONCILE_INTERVAL
    RUNBOOK_POST = "runbook_post"  # runbook_posts.id: the checklist, the question
    HOLD = "hold"  # holds.id: due when the held alerts' route opens


TIMERS = frozenset(
    {OutboxKind.HEARTBEAT, OutboxKind.RESPONSE_CLOCK, OutboxKind.RECONCILE, OutboxKind.HOLD}
)
"""The kinds that are timers: pending until they come due, not deliveries waiting (the
outbox's counts leave them out). A new kind that is one is named here, beside its member."""


class OutboxState(StrEnum):
    PENDING = "pending"
    """Due at ``due_at`` (or leased, while ``lease_until`` is ahead)."""
    DONE = "done"
    """Delivered up to ``done_version``; a new version makes it pending again."""
    DEAD = "dead"
    """Given up (dead-lettered): ``last_error`` says why."""


class MessageKind(StrEnum):
    GROUP = "group"
    """A group's message in one channel for one runbook."""
    STORM = "storm"
    """The one message listing a storm's alerts."""
    POINTER = "pointer"
    """The message in a channel that says its alerts joined the storm."""


class EventKind(StrEnum):
    """What happened to a message beyond its alerts: the incident's timeline."""

    ACKNOWLEDGED = "acknowledged"
    ACK_REMINDER = "ack_reminder"
    RESOLVE_ESCALATION = "resolve_escalation"
    UPDATE_REMINDER = "update_reminder"
    RESOLVED = "resolved"
    STATUS_DRAFT = "status_draft"
    ACK_PAGE = "ack_page"
    """The route's ``page:`` paged because nobody acknowledged (resolved with the message)."""
    ACK_PAGE_RESOLVED = "ack_page_resolved"
    INCIDENT = "incident"
    """The declared incident: ``who`` the action that holds the claim, ``detail`` its channel."""
    INCIDENT_ANNOUNCED = "incident_announced"
    SILENCED = "silenced"
    """A silence made or extended from Slack: ``who`` the user, ``detail`` the silence."""
    SILENCE_EXPIRED = "silence_expired"
    SILENCE_ENDING = "silence_ending"
    """The "silence ends soon" reply was posted (``detail``: which silence and end)."""
    NO_LONGER_ACTIVE = "no_longer_active"
    """Reconciling resolved alerts Alertmanager no longer lists (``detail``: how many)."""
    CHECKLIST = "checklist"
    """Show all steps posted the runbook's checklist in the thread (``who`` asked)."""
    STEP_DONE = "step_done"
    STEP_SKIPPED = "step_skipped"
    STEP_FAILED = "step_failed"
    """A tick on the checklist: ``step`` its number, ``detail`` its title, ``note`` why it
    did not work (from the form that follows the click)."""
    HELPED = "feedback_up"
    DID_NOT_HELP = "feedback_down"
    """An answer to "Did RUN-001 help?": the latest of a person's counts."""
    STEP_WRONG = "step_wrong"
    """A step was wrong, said after the resolve: ``step``, ``detail`` its title, ``note``
    what happened."""
