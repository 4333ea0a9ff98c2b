"""Heartbeats: the dead man's switch for an always-firing alert such as Watchdog.

Each arrival of the alert on a route with ``heartbeat:`` records when it was
seen and moves the route's timer (an outbox entry of kind ``heartbeat``) to
now + interval. When the timer comes due with no arrival since, the dispatcher
raises an alarm (router.deliveries.heartbeat); the next arrival resolves it. Timers live in
the database, so they survive restarts and fire once across replicas.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from router.store.outbox import entries
from router.store.schema import HEARTBEAT, heartbeats

GROUP_PREFIX = "heartbeat:"
"""The group key of a heartbeat's own alarm: ``heartbeat:<route>``."""


@dataclass(frozen=True)
class Heartbeat:
    id: int
    route: str
    interval: float
    alertname: str | None
    last_seen: float
    alarm_alert_id: int | None

    @property
    def due_at(self) -> float:
        return self.last_seen + self.interval


def load(conn: Connection, heartbeat_id: int) -> Heartbeat | None:
    row = conn.execute(sa.select(heartbeats).where(heartbeats.c.id == heartbeat_id)).first()
    if row is None:
        return None
    return Heartbeat(
        row.id, row.route, row.interval, row.alertname, row.last_seen, row.alarm_alert_id
    )


def set_timer(conn: Connection, heartbeat_id: int, due_at: float, now: float) -> None:
    """The route's timer, pending and due at ``due_at`` (a newer version each time)."""
    entries.schedule(conn, now, HEARTBEAT, heartbeat_id, due_at)


def _insert(
    conn: Connection, now: float, route: str, interval: float, alertname: str | None = None
) -> int:
    """A new heartbeat, last seen now (a route never seen starts counting now)."""
    values = {"route": route, "interval": interval, "alertname": alertname}
    statement = heartbeats.insert().values(**values, last_seen=now, updated_at=now)
    return int(conn.execute(statement.returning(heartbeats.c.id)).scalar_one())


def seen(conn: Connection, now: float, route: str, interval: float, alertname: str) -> int | None:
    """An arrival: record it and re-arm the timer; the open alarm's alert id, if any."""
    row = conn.execute(sa.select(heartbeats).where(heartbeats.c.route == route)).first()
    if row is None:
        heartbeat_id, alarm = _insert(conn, now, route, interval, alertname), None
    else:
        heartbeat_id, alarm = row.id, row.alarm_alert_id
        conn.execute(
            heartbeats.update()
            .where(heartbeats.c.id == row.id)
            .values(
                interval=interval,
                alertname=alertname,
                last_seen=now,
                alarm_alert_id=None,
                updated_at=now,
            )
        )
    set_timer(conn, heartbeat_id, now + interval, now)
    return alarm


def sync(conn: Connection, now: float, wanted: dict[str, float]) -> None:
    """Every heartbeat route has a row and a timer; a new one starts counting now."""
    known = {row.route: row for row in conn.execute(sa.select(heartbeats))}
    for route, interval in wanted.items():
        row = known.get(route)
        if row is None:
            set_timer(conn, _insert(conn, now, route, interval), now + interval, now)
        elif row.interval != interval:
            conn.execute(
                heartbeats.update()
                .where(heartbeats.c.id == row.id)
                .values(interval=interval, updated_at=now)
            )
            if row.alarm_alert_id is None:
                set_timer(conn, row.id, row.last_seen + interval, now)


def mark_alarm(conn: Connection, heartbeat_id: int, alert_id: int, now: float) -> None:
    conn.execute(
        heartbeats.update()
        .where(heartbeats.c.id == heartbeat_id)
        .values(alarm_alert_id=alert_id, updated_at=now)
    )
