"""Typed records for what crosses a layer or is stored, validated when read back.

A stored row is JSON written by some earlier release: every record ignores keys
it does not know and gives keys added later a default, so rows that predate a
change still load (tests/test_records.py keeps one of each).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


@dataclass(frozen=True, slots=True)
class RunbookRef:
    """A runbook as a message, an alert's decision or a member names it: the one shape,
    stored as the message's ``runbook_*`` columns and the decision's ``runbook*`` keys."""

    id: str | None = None
    """The RUN- id, when the runbook is one of ours (also when its entry is missing)."""
    url: str | None = None
    """None: no runbook."""
    title: str | None = None
    reason: str | None = None
    """Why this runbook (the route's, the alert's annotation, a claim), or why none."""


NO_RUNBOOK = RunbookRef()


class StoredDecision(Record):
    """One routing decision as stored with its alert (``alerts.decisions``) and explained."""

    route: str | None = None
    channel: str
    level: str
    respond: str = ""
    reason: str = ""
    runbook: str | None = None
    """The RUN- id, when the runbook is one of ours."""
    runbook_title: str | None = None
    runbook_url: str | None = None
    runbook_reason: str = "no runbook: unmatched"
    page: str | None = None
    notify: bool = True
    heartbeat: float | None = None
    held_until: float | None = None
    """Held by the route's time intervals until then (seconds since the epoch)."""
    held: str | None = None
    """Why and until when, in words."""


class StoredAlert(Record):
    """One alert as stored: the latest copy the source sent, and what the router decided."""

    id: int
    source: str
    fingerprint: str
    name: str
    status: str
    group_key: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    summary: str = ""
    url: str | None = None
    links: dict[str, str] | None = None
    value: str | None = None
    source_severity: str | None = None
    starts_at: float | None = None
    ends_at: float | None = None
    received_at: float
    updated_at: float
    repeats: int = 0
    pagerduty_incident: str | None = None
    decisions: list[StoredDecision] = Field(default_factory=list)
    raw: Any = None

    @property
    def first_decision(self) -> StoredDecision | None:
        return self.decisions[0] if self.decisions else None


class Delivery(Record):
    """The Slack message an alert is on, and where its delivery stands."""

    message: int
    channel: str
    slack_channel: str | None = None
    """The channel ID Slack answered with (permalinks need it)."""
    slack_ts: str | None = None
    level: str | None = None
    """The message's level (the most severe of its alerts)."""
    state: str | None = None
    reason: str | None = None
    attempts: int | None = None
    last_error: str | None = None
    acknowledged_by: str | None = None
    acknowledged_at: float | None = None
    escalations: int = 0
    """Escalations the response-time clock posted (not acknowledged, not resolved in time)."""
    slack_url: str | None = None
    """The message in Slack (its permalink), once the page knows the workspace."""
    acknowledged_by_name: str | None = None
    """Who acknowledged, as people know them (Slack's name for the user), for pages."""


AlertState = Literal["firing", "resolved", "all"]


class AlertFilter(Record):
    """Which alerts /alerts asks the store for: each field that is set narrows the list."""

    state: AlertState = "all"
    channel: str | None = None
    """As routes.yaml writes it (``#db-oncall``); without the ``#`` it matches too."""
    level: str | None = None
    route: str | None = None
    """A route's name; ``default`` also matches the alerts no route matched."""
    source: str | None = None
    words: tuple[str, ...] = ()
    """Each word is in the name, the summary or a label value (any case)."""
    limit: int = 100


class AlertSummary(Record):
    """One line of /alerts."""

    id: int
    source: str
    fingerprint: str
    name: str
    status: str
    labels: dict[str, str]
    summary: str
    received_at: float
    updated_at: float
    repeats: int
    decisions: list[StoredDecision]
    deliveries: list[Delivery]
    starts_at: float | None = None
    ends_at: float | None = None


class AlertRow(AlertSummary):
    """One line of /alerts as the page shows it: what tells it apart, since when, links."""

    identity: dict[str, str] = Field(default_factory=dict)
    """The identifying labels it has (``defaults.identity_labels``), then those that tell
    it apart from the other alerts of its name on the page."""
    since: float | None = None
    """Firing since (the source's start), or resolved since."""
    postmortem_url: str | None = None
    """Its postmortem draft, where its level asks for one."""


class TimelineEntry(Record):
    at: float
    what: str
    who: str | None = None
    """As stored: ``slack:U…`` for a Slack user, else a name."""
    by: str | None = None
    """Who, as the page shows it: Slack's name for the user, else the stored id in words."""


class AlertDetail(StoredAlert):
    """/alerts/{id}: the alert as stored, raw payload included, with its deliveries and
    its message's timeline (acknowledged, reminders, escalations, resolved)."""

    deliveries: list[Delivery] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)


class ExplainedAlert(Record):
    """What /api/route and ``runbook-router route`` say about one alert."""

    name: str
    status: str
    fingerprint: str
    group_key: str
    labels: dict[str, str]
    decisions: list[StoredDecision]


# -- button work, queued from a click and run by the dispatcher ---------------------


class _Click(Record):
    user_id: str
    user_name: str = ""
    response_url: str | None = None


class ThreadSteps(_Click):
    """Post the runbook's full procedure in the alert message's thread."""

    kind: Literal["thread_steps"] = "thread_steps"
    message_id: int


class ShareRunbook(_Click):
    """Post a /runbook answer in the channel for everyone."""

    kind: Literal["share"] = "share"
    runbook: str


class AcknowledgeMessage(_Click):
    """Acknowledge the message's firing alerts (in PagerDuty for its incidents)."""

    kind: Literal["pagerduty_ack"] = "pagerduty_ack"
    message_id: int


class StatusDraft(_Click):
    """A status update draft (and the executive brief for SEV0): to the clicking user
    alone, with a button to post it; ``post``: that button, in the alert's thread."""

    kind: Literal["status_draft"] = "status_draft"
    message_id: int
    post: bool = False


class DeclareIncident(_Click):
    """Open an incident channel for the message, with the clicking user as commander."""

    kind: Literal["declare_incident"] = "declare_incident"
    message_id: int


class ExpireSilence(_Click):
    """Expire a silence in Alertmanager (the message's *Expire*)."""

    kind: Literal["expire_silence"] = "expire_silence"
    message_id: int
    silence: int
    """``silences.id``: checked to be this message's when the click arrived."""


SilenceEvent = Literal["created", "extended", "expired", "ending"]


class SilenceNotice(_Click):
    """A line in the message's thread: a silence made, extended, expired or ending soon
    (``user_id`` is empty when nobody clicked: a reminder)."""

    kind: Literal["silence_notice"] = "silence_notice"
    message_id: int
    silence: int
    what: SilenceEvent


class StepReasonForm(_Click):
    """*Didn't work* on a checklist step: the form asking what happened. The tick is
    recorded already; the form only adds its reason (Slack's ``trigger_id`` opens it, for
    a few seconds after the click)."""

    kind: Literal["step_reason_form"] = "step_reason_form"
    trigger_id: str
    event_id: int


class StepWrongForm(_Click):
    """*A step was wrong* on "Did RUN-001 help?": the form asking which step and what
    happened."""

    kind: Literal["step_wrong_form"] = "step_wrong_form"
    trigger_id: str
    post_id: int


Action = Annotated[
    ThreadSteps
    | ShareRunbook
    | AcknowledgeMessage
    | StatusDraft
    | DeclareIncident
    | ExpireSilence
    | SilenceNotice
    | StepReasonForm
    | StepWrongForm,
    Field(discriminator="kind"),
]
ACTION: TypeAdapter[Action] = TypeAdapter(Action)


# -- the runbook pages' JSON ----------------------------------------------------------


class RunbookSummary(Record):
    """One entry in /runbooks."""

    id: str
    title: str
    category: str
    owner: str
    last_tested: str | None
    stale: bool
    trigger: str
    url: str


class RunbookHit(RunbookSummary):
    """A /runbooks?q= result."""

    score: float


class FilledFor(Record):
    """The alert a /runbooks/{id}?alert= page is filled for."""

    id: int
    name: str
    url: str


class LoadProblem(Record):
    """An entry left out, or a route naming one, as /runbooks lists it."""

    file: str
    line: int | None
    key: str
    message: str
    text: str
