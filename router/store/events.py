"""An incident's timeline beyond its alerts: what people and the response-time clock did."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from router.store.database import Database
from router.store.schema import message_events

ACKNOWLEDGED = "acknowledged"
ACK_REMINDER = "ack_reminder"
RESOLVE_ESCALATION = "resolve_escalation"
UPDATE_REMINDER = "update_reminder"
RESOLVED = "resolved"


@dataclass(frozen=True)
class MessageEvent:
    kind: str
    at: float
    who: str | None = None
    detail: str | None = None


class MessageEvents(Database):
    def record_event(
        self, message_id: int, kind: str, at: float, who: str | None = None, detail: str = ""
    ) -> None:
        with self._tx() as conn:
            conn.execute(
                message_events.insert().values(
                    message_id=message_id, kind=kind, at=at, who=who, detail=detail or None
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
        return [MessageEvent(r.kind, r.at, r.who, r.detail) for r in rows]
