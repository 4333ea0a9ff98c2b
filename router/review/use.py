"""A runbook's use, worked out from what the store holds: pure, so tables of facts test it.

An incident is one alert message (the alerts of one group, channel and runbook);
its alerts count each time they fire. Time to acknowledge runs from the first
alert's start to the first acknowledgement, time to resolve to the last alert's
end, as the messages themselves say them.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence

from pydantic import Field

from router.records import Record
from router.store import Said, UsedMessage
from router.store.events import DID_NOT_HELP, HELPED, STEP_FAILED, STEP_WRONG

DAY = 86400.0
WINDOWS = (30, 90)
"""The runbook page's windows, in days."""


class Window(Record):
    days: int
    alerts: int
    """Alerts fired with the runbook (an alert that fires again counts again)."""
    incidents: int
    """Alert messages posted with it."""


class StepNote(Record):
    """A step marked *didn't work* on the checklist, or reported wrong after the resolve."""

    step: int
    title: str
    note: str | None = None
    """Why, in the words of who said it (None: the form was not filled in)."""
    who: str | None = None
    at: float
    alert: int | None = None
    """The first alert of the message, for a link to its page."""


class Feedback(Record):
    helped: int = 0
    """👍: people whose latest answer it was."""
    did_not_help: int = 0
    steps_wrong: int = 0

    @property
    def negative(self) -> int:
        """👎 and steps reported wrong: what /runbooks?sort=negative orders by."""
        return self.did_not_help + self.steps_wrong


class AlertFeedback(Record):
    """Per alert name: how often it came with the runbook and what people said of it."""

    name: str
    alerts: int
    feedback: Feedback


class Use(Record):
    runbook: str
    windows: list[Window] = Field(default_factory=list)
    last_used: float | None = None
    acknowledged: int = 0
    resolved: int = 0
    median_ack: float | None = None
    """Seconds from the first alert's start to the first acknowledgement (median)."""
    median_resolve: float | None = None
    checklists: int = 0
    """Incidents whose checklist was ticked at least once."""
    feedback: Feedback = Field(default_factory=Feedback)
    failed_steps: list[StepNote] = Field(default_factory=list)
    steps_wrong: list[StepNote] = Field(default_factory=list)
    by_alert: list[AlertFeedback] = Field(default_factory=list)

    @property
    def used(self) -> bool:
        return any(w.incidents for w in self.windows)


def _median(values: Iterable[float]) -> float | None:
    listed = list(values)
    return statistics.median(listed) if listed else None


def _feedback(said: Sequence[Said]) -> Feedback:
    votes: dict[tuple[int, str], str] = {}  # (message, who) -> latest vote
    for s in said:
        if s.event.kind in (HELPED, DID_NOT_HELP) and s.event.who:
            votes[(s.message_id, s.event.who)] = s.event.kind
    return Feedback(
        helped=sum(1 for v in votes.values() if v == HELPED),
        did_not_help=sum(1 for v in votes.values() if v == DID_NOT_HELP),
        steps_wrong=sum(1 for s in said if s.event.kind == STEP_WRONG),
    )


def use_of(
    runbook_id: str,
    messages: Sequence[UsedMessage],
    said: Sequence[Said],
    now: float,
    *,
    last_used: float | None = None,
    windows: Sequence[int] = WINDOWS,
) -> Use:
    """The runbook's use from the messages and events given (those of every runbook may
    be given: only its own count)."""
    mine = [m for m in messages if m.runbook_id == runbook_id]
    own_said = [s for s in said if s.runbook_id == runbook_id]
    first_alert = {m.id: m.first_alert for m in mine}
    acked = [m.acknowledged_at - m.fired_at for m in mine if m.acknowledged_at is not None]
    ended = [m.ended_at - m.fired_at for m in mine if m.ended_at is not None]

    def note(s: Said) -> StepNote:
        return StepNote(
            step=s.event.step or 0,
            title=s.event.detail or "",
            note=s.event.note,
            who=s.event.who,
            at=s.event.at,
            alert=first_alert.get(s.message_id),
        )

    names: dict[str, list[int]] = {}
    for m in mine:
        for name in m.names:
            names.setdefault(name, []).append(m.id)
    by_alert = [
        AlertFeedback(
            name=name,
            alerts=sum(m.alerts for m in mine if m.id in ids),
            feedback=_feedback([s for s in own_said if s.message_id in ids]),
        )
        for name, ids in sorted(names.items())
    ]
    return Use(
        runbook=runbook_id,
        windows=[
            Window(
                days=days,
                alerts=sum(m.alerts for m in mine if m.created_at >= now - days * DAY),
                incidents=sum(1 for m in mine if m.created_at >= now - days * DAY),
            )
            for days in windows
        ],
        last_used=last_used
        if last_used is not None
        else max((m.created_at for m in mine), default=None),
        acknowledged=len(acked),
        resolved=len(ended),
        median_ack=_median(max(0.0, a) for a in acked),
        median_resolve=_median(max(0.0, e) for e in ended),
        checklists=len(
            {
                s.message_id
                for s in own_said
                if s.event.step is not None and s.event.kind != STEP_WRONG
            }
        ),
        feedback=_feedback(own_said),
        failed_steps=[note(s) for s in own_said if s.event.kind == STEP_FAILED],
        steps_wrong=[note(s) for s in own_said if s.event.kind == STEP_WRONG],
        by_alert=by_alert,
    )
