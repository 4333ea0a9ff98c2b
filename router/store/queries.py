"""Reads for the pages and the dispatcher: stored alerts, with where their messages stand."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from router import storable
from router.records import AlertDetail, AlertSummary, Delivery, StoredAlert
from router.store.database import Database
from router.store.schema import (
    SLACK_MESSAGE,
    alerts,
    chunks,
    members,
    message_events,
    messages,
    outbox,
)

_ESCALATIONS = (
    sa.select(sa.func.count())
    .where(
        message_events.c.message_id == messages.c.id,
        message_events.c.kind.in_(("ack_reminder", "resolve_escalation")),
    )
    .scalar_subquery()
)
_DELIVERIES = (
    sa.select(
        members.c.alert_id,
        members.c.ack_by,
        members.c.ack_at,
        messages.c.id,
        messages.c.channel,
        messages.c.slack_ts,
        outbox.c.state,
        outbox.c.reason,
        outbox.c.attempts,
        outbox.c.last_error,
        _ESCALATIONS.label("escalations"),
    )
    .join(messages, messages.c.id == members.c.message_id)
    .outerjoin(outbox, sa.and_(outbox.c.ref == messages.c.id, outbox.c.kind == SLACK_MESSAGE))
)


def _deliveries(conn: Connection, ids: Sequence[int]) -> dict[int, list[Delivery]]:
    found: dict[int, list[Delivery]] = {i: [] for i in ids}
    for chunk in chunks(list(ids)):
        for d in conn.execute(_DELIVERIES.where(members.c.alert_id.in_(chunk))).all():
            found[d.alert_id].append(
                Delivery(
                    message=d.id,
                    channel=d.channel,
                    slack_ts=d.slack_ts,
                    state=d.state,
                    reason=d.reason,
                    attempts=d.attempts,
                    last_error=d.last_error,
                    acknowledged_by=d.ack_by,
                    acknowledged_at=d.ack_at,
                    escalations=d.escalations,
                )
            )
    return found


class Queries(Database):
    def load_alert(self, alert_id: int) -> StoredAlert | None:
        """One stored alert with its decisions (the PagerDuty outbox entries read it)."""
        with self._read() as conn:
            row = conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).first()
        return StoredAlert.model_validate(dict(row._mapping)) if row is not None else None

    def alert_detail(self, alert_id: int) -> AlertDetail | None:
        """One alert as stored (raw payload included), with its messages' delivery state."""
        with self._read() as conn:
            row = conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).first()
            if row is None:
                return None
            deliveries = _deliveries(conn, [alert_id])[alert_id]
        # Whatever was stored (also by a release before values were made storable)
        # renders: NaN or a lone surrogate in an old row becomes text here.
        cleaned = storable.clean(dict(row._mapping))
        return AlertDetail.model_validate(cleaned | {"deliveries": deliveries})

    def recent_alerts(self, limit: int = 100) -> list[AlertSummary]:
        """Recent alerts with their decisions and the delivery state of their messages."""
        query = sa.select(alerts).order_by(alerts.c.updated_at.desc(), alerts.c.id.desc())
        with self._read() as conn:
            rows = conn.execute(query.limit(limit)).all()
            deliveries = _deliveries(conn, [r.id for r in rows])
        return [
            AlertSummary(
                id=r.id,
                source=r.source,
                fingerprint=r.fingerprint,
                name=r.name,
                status=r.status,
                labels=r.labels,
                summary=r.summary,
                received_at=r.received_at,
                updated_at=r.updated_at,
                repeats=r.repeats,
                decisions=r.decisions,
                deliveries=deliveries[r.id],
            )
            for r in rows
        ]
