"""An incident's timeline beyond its alerts: what people and the response-time clock did."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from router import storable
from router.store.database import Database
from router.store.kinds import EventKind
from router.store.schema import message_events

# Event kinds (router/store/kinds.py), by their short names.
ACKNOWLEDGED = EventKind.ACKNOWLEDGED
ACK_REMINDER = EventKind.ACK_REMINDER
RESOLVE_ESCALATION = EventKind.RESOLVE_ESCALATION
UPDATE_REMINDER = EventKind.UPDATE_REMINDER
RESOLVED = EventKind.RESOLVED
STATUS_DRAFT = EventKind.STATUS_DRAFT
ACK_PAGE = EventKind.ACK_PAGE
ACK_PAGE_RESOLVED = EventKind.ACK_PAGE_RESOLVED
INCIDENT = EventKind.INCIDENT
INCIDENT_ANNOUNCED = EventKind.INCIDENT_ANNOUNCED
SILENCED = EventKind.SILENCED
SILENCE_EXPIRED = EventKind.SILENCE_EXPIRED
SILENCE_ENDING = EventKind.SILENCE_ENDING
NO_LONGER_ACTIVE = EventKind.NO_LONGER_ACTIVE
CHECKLIST = EventKind.CHECKLIST
STEP_DONE = EventKind.STEP_DONE
STEP_SKIPPED = EventKind.STEP_SKIPPED
STEP_FAILED = EventKind.STEP_FAILED
TICKS = (STEP_DONE, STEP_SKIPPED, STEP_FAILED)
HELPED = EventKind.HELPED
DID_NOT_HELP = EventKind.DID_NOT_HELP
STEP_WRONG = EventKind.STEP_WRONG
VOTES = (HELPED, DID_NOT_HELP)
LEARNED = (*TICKS, *VOTES, STEP_WRONG)
"""What people told about the runbook: its use on the runbook page and in the review."""


@dataclass(frozen=True)
class MessageEvent:
    kind: str
    at: float
    who: str | None = None
    detail: str | None = None
    step: int | None = None
    note: str | None = None
    id: int = 0


def event_of(row: Any) -> MessageEvent:
    return MessageEvent(row.kind, row.at, row.who, row.detail, row.step, row.note, row.id)


class MessageEvents(Database):
    def record_event(
        self, message_id: int, kind: str, at: float, who: str | None = None, detail: str = ""
    ) -> None:
        with self._tx() as conn:
            conn.execute(
                message_events.insert().values(
                    message_id=message_id,
                    kind=kind,
                    at=at,
                    who=storable.text(who) if who is not None else None,
                    detail=storable.text(detail) or None,
                )
            )

    def claim_incident(self, message_id: int, holder: str, at: float) -> MessageEvent:
        """The message's incident claim: taken now by ``holder``, or whoever has it.

        One per message (a unique index): two clicks, or two replicas, get one channel.
        """
        try:
            with self._tx() as conn:
                conn.execute(
                    message_events.insert().values(
                        message_id=message_id, kind=INCIDENT, at=at, who=holder
                    )
                )
        except IntegrityError:
            pass  # someone has it: read it below
        with self._read() as conn:
            row = conn.execute(
                sa.select(message_events).where(
                    message_events.c.message_id == message_id, message_events.c.kind == INCIDENT
                )
            ).one()
        return event_of(row)

    def set_incident_channel(self, message_id: int, channel_id: str) -> None:
        with self._tx() as conn:
            conn.execute(
                message_events.update()
                .where(message_events.c.message_id == message_id, message_events.c.kind == INCIDENT)
                .values(detail=channel_id)
            )

    def drop_incident_claim(self, message_id: int, holder: str) -> None:
        """Give the claim back (the channel could not be made): a later click tries again."""
        with self._tx() as conn:
            conn.execute(
                message_events.delete().where(
                    message_events.c.message_id == message_id,
                    message_events.c.kind == INCIDENT,
                    message_events.c.who == holder,
                    message_events.c.detail.is_(None),
                )
            )

    def message_events(self, message_id: int) -> list[MessageEvent]:
        """The message's events, oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                sa.select(message_events)
                .where(message_events.c.message_id == message_id)
                .order_by(message_events.c.at, message_events.c.id)
            ).all()
        return [event_of(r) for r in rows]
