"""Held alerts: routed while their route's time intervals hold it, stored and not posted.

An alert whose decision has ``held_until`` (its route muted by one of its
``mute_time_intervals``, or outside its ``active_time_intervals``) joins no
message as it arrives. It is kept in a hold, one per message it would join and
opening time, whose timer is an outbox entry of kind ``hold`` due then. When it
comes due (router/deliveries/hold.py) the hold's alerts that still fire are
decided again and join their messages like any arrival: a group held overnight
is one message in the morning that lists them, and an alert that resolved
meanwhile posts nothing. The timer is a row in the database, so it survives
restarts and one replica takes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from router.alert import Alert
from router.store.outbox import entries
from router.store.schema import HOLD, alerts, chunks, held_alerts, holds


@dataclass(frozen=True)
class Held:
    """One alert kept from one message until its route opens."""

    alert_id: int
    key: str
    """The message key (router/store/plan.py) the alert would join."""
    until: float


def _hold_ids(conn: Connection, slots: set[tuple[str, float]]) -> dict[tuple[str, float], int]:
    keys = sorted({key for key, _ in slots})
    found: dict[tuple[str, float], int] = {}
    for chunk in chunks(keys):
        rows = conn.execute(
            sa.select(holds.c.id, holds.c.key, holds.c.release_at).where(holds.c.key.in_(chunk))
        )
        found.update({(r.key, r.release_at): r.id for r in rows if (r.key, r.release_at) in slots})
    return found


def hold(conn: Connection, now: float, wanted: Iterable[Held]) -> None:
    """Keep these alerts in their holds: a new hold gets its timer, due when it opens."""
    wanted = list(wanted)
    if not wanted:
        return
    slots = {(h.key, h.until) for h in wanted}
    ids = _hold_ids(conn, slots)
    new = sorted(slots - ids.keys())
    if new:
        conn.execute(
            holds.insert(), [{"key": k, "release_at": u, "created_at": now} for k, u in new]
        )
        ids = _hold_ids(conn, slots)
        for slot in new:
            entries.schedule(conn, now, HOLD, ids[slot], slot[1])
    pairs = {(ids[(h.key, h.until)], h.alert_id) for h in wanted}
    rows = conn.execute(
        sa.select(held_alerts.c.hold_id, held_alerts.c.alert_id).where(
            held_alerts.c.hold_id.in_(sorted({p[0] for p in pairs})),
            held_alerts.c.alert_id.in_(sorted({p[1] for p in pairs})),
        )
    )
    kept = {(int(h), int(a)) for h, a in rows}
    new_rows = [{"hold_id": h, "alert_id": a, "added_at": now} for h, a in sorted(pairs - kept)]
    if new_rows:
        conn.execute(held_alerts.insert(), new_rows)


def _as_alert(row: Any) -> Alert:
    """A stored alert as its source sent it (the columns ingest wrote)."""

    def when(value: float | None) -> datetime | None:
        return datetime.fromtimestamp(value, UTC) if value is not None else None

    return Alert(
        source=row.source,
        status=row.status,
        name=row.name,
        fingerprint=row.fingerprint,
        group_key=row.group_key,
        labels=row.labels,
        annotations=row.annotations,
        starts_at=when(row.starts_at),
        ends_at=when(row.ends_at),
        source_severity=row.source_severity,
        summary=row.summary,
        url=row.url,
        links=row.links or {},
        value=row.value or "",
        pagerduty_incident=row.pagerduty_incident,
        raw=row.raw if isinstance(row.raw, dict) else {},
    )


def take(conn: Connection, hold_id: int) -> list[tuple[int, Alert]] | None:
    """The hold, emptied and gone: its alerts still firing (None if it was gone already)."""
    if conn.execute(sa.select(holds.c.id).where(holds.c.id == hold_id)).first() is None:
        return None  # released already (by another replica, or a retry)
    rows = conn.execute(
        sa.select(alerts)
        .join(held_alerts, held_alerts.c.alert_id == alerts.c.id)
        .where(held_alerts.c.hold_id == hold_id, alerts.c.status == "firing")
        .order_by(alerts.c.id)
    ).all()
    conn.execute(held_alerts.delete().where(held_alerts.c.hold_id == hold_id))
    conn.execute(holds.delete().where(holds.c.id == hold_id))
    return [(int(row.id), _as_alert(row)) for row in rows]
