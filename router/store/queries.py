"""Reads for the pages and the dispatcher: stored alerts, with where their messages stand.

/alerts filters in SQL. State and source are columns (``ix_alerts_status_updated``
serves "firing now", newest first); channel, level and route are in the alert's
stored decisions and the search words in its labels, JSON that SQLite and
PostgreSQL each open with their own functions (``_Json``). The walk follows the
index and stops at the limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from router import storable
from router.records import AlertDetail, AlertFilter, AlertSummary, Delivery, StoredAlert
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
        messages.c.slack_channel,
        messages.c.slack_ts,
        messages.c.level,
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
                    slack_channel=d.slack_channel,
                    slack_ts=d.slack_ts,
                    level=d.level,
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


_LISTED = [c for c in alerts.c if c.name not in ("raw", "annotations")]
"""A list needs neither the payload as received nor the annotations."""


class _Json:
    """A JSON column's items as rows, in the dialect's own words."""

    def __init__(self, dialect: str) -> None:
        self.postgresql = dialect == "postgresql"

    def elements(self, column: Any) -> Any:
        """An array's elements, one row each (column ``value``)."""
        fn = sa.func.json_array_elements if self.postgresql else sa.func.json_each
        return fn(column).table_valued("value")

    def field(self, element: Any, key: str) -> ColumnElement[Any]:
        """A text field of an object element."""
        if self.postgresql:
            return element.op("->>")(sa.literal(key, sa.Text))  # type: ignore[no-any-return]
        return sa.func.json_extract(element, f"$.{key}")

    def values(self, column: Any) -> Any:
        """An object's values as text, one row each (column ``value``)."""
        fn = sa.func.json_each_text if self.postgresql else sa.func.json_each
        return fn(column).table_valued("key", "value")


def _where(json: _Json, f: AlertFilter) -> list[ColumnElement[bool]]:
    """The filter as SQL conditions on ``alerts``."""
    conditions: list[ColumnElement[bool]] = []
    if f.state != "all":
        conditions.append(alerts.c.status == f.state)
    if f.source is not None:
        conditions.append(alerts.c.source == f.source)
    decided: list[ColumnElement[bool]] = []  # all of them true of one decision
    decision = json.elements(alerts.c.decisions).alias("decision")
    if f.channel is not None:
        names = {f.channel} | ({f"#{f.channel}"} if not f.channel.startswith("#") else set())
        decided.append(json.field(decision.c.value, "channel").in_(sorted(names)))
    if f.level is not None:
        decided.append(json.field(decision.c.value, "level") == f.level)
    if f.route is not None:
        route = json.field(decision.c.value, "route")
        decided.append(
            sa.or_(route == f.route, route.is_(None)) if f.route == "default" else route == f.route
        )
    if decided:
        conditions.append(sa.exists(sa.select(1).select_from(decision).where(*decided)))
    for word in f.words:
        label = json.values(alerts.c.labels).alias("label")
        in_labels = sa.exists(
            sa.select(1).select_from(label).where(label.c.value.icontains(word, autoescape=True))
        )
        conditions.append(
            sa.or_(
                alerts.c.name.icontains(word, autoescape=True),
                alerts.c.summary.icontains(word, autoescape=True),
                in_labels,
            )
        )
    return conditions


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

    def recent_alerts(self, where: AlertFilter | None = None) -> list[AlertSummary]:
        """Recent alerts (newest first), as the filter narrows them, with their decisions
        and the delivery state of their messages."""
        where = where or AlertFilter()
        query = (
            sa.select(*_LISTED)
            .where(*_where(_Json(self.engine.dialect.name), where))
            .order_by(alerts.c.updated_at.desc(), alerts.c.id.desc())
            .limit(where.limit)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
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
                starts_at=r.starts_at,
                ends_at=r.ends_at,
            )
            for r in rows
        ]
