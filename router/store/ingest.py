"""One webhook request's writes, in the caller's transaction.

Reads what exists in a few queries, plans the changes in memory, then writes
with statements built once and run with many parameter sets (executemany), so
a batch of a thousand alerts costs a handful of round trips. ``Ingest.run``'s steps,
in order:

1. delivery id: a sender's retry of a delivery already stored changes nothing
2. read: the alerts stored before, the open messages they may join, their memberships
3. stale check: late firing copies of alerts resolved since are counted, not written
   (``placement.is_stale``)
4. write alerts
5. place and join: storms counted, then each alert into its own messages, a storm's and
   its pointers, or held (the rules are ``placement.place``, pure; plan.py, storms.py
   and holds.py write what they say)
6. heartbeats: an arrival on a ``heartbeat:`` route re-arms its timer, resolves its alarm
7. resolve members, and move every changed message on (outbox/entries.py)
8. paging: PagerDuty notes and Events API entries

What the ruleset asks of them (storm policy, response clocks, notes) is one
``IngestPolicy`` (policy.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from router import storable
from router.alert import Alert
from router.decide import Decision
from router.store import heartbeats, holds
from router.store.outbox import entries
from router.store.placement import Kept, Seen, is_stale, place
from router.store.plan import OpenMessage, message_key
from router.store.policy import PLAIN, IngestPolicy
from router.store.schema import (
    PAGERDUTY_EVENT,
    PAGERDUTY_NOTE,
    alerts,
    chunks,
    deliveries,
    ts,
)
from router.store.storms import StormPlan

Batch = Sequence[tuple[Alert, list[Decision]]]
MAX_DELIVERY_ID = 200  # the deliveries.delivery_id column


@dataclass(frozen=True)
class IngestResult:
    alerts: int
    changed_messages: int
    ignored: int
    """Stale redeliveries: a firing copy of an alert that has since resolved."""
    duplicate: bool = False
    """The sender's delivery id was seen before: nothing was done."""


# Statements built once; each call only binds values (building them is the cost).
_EXISTING_ALERTS = sa.select(
    alerts.c.id,
    alerts.c.fingerprint,
    alerts.c.status,
    alerts.c.starts_at,
    alerts.c.resolved_seen_at,
    alerts.c.fired_at,
).where(
    alerts.c.source == sa.bindparam("source"),
    alerts.c.fingerprint.in_(sa.bindparam("fingerprints", expanding=True)),
)
_UPDATE_ALERTS = (
    alerts.update()
    .where(alerts.c.id == sa.bindparam("b_id"))
    .values(repeats=alerts.c.repeats + sa.bindparam("b_inc"))
)


def first_delivery(conn: Connection, now: float, source: str, delivery_id: str) -> bool:
    """Record a sender's delivery id; False if it was seen before (a replay or retry).

    The id is the sender's text: made storable, and hashed if too long for its column."""
    delivery_id = storable.identity(delivery_id, MAX_DELIVERY_ID)
    seen = conn.execute(
        sa.select(deliveries.c.delivery_id).where(
            deliveries.c.source == source, deliveries.c.delivery_id == delivery_id
        )
    ).first()
    if seen is not None:
        return False
    conn.execute(
        deliveries.insert().values(source=source, delivery_id=delivery_id, received_at=now)
    )
    return True


class Ingest(StormPlan):
    """One request's writes: read what exists, plan, then write in bulk."""

    def __init__(
        self,
        conn: Connection,
        now: float,
        policy: IngestPolicy = PLAIN,
    ) -> None:
        super().__init__(conn, now, policy)
        self.pagerduty_notes = policy.pagerduty_notes
        self.ids: dict[tuple[str, str], int] = {}
        """(source, fingerprint) -> the stored alert's id, for the alerts written."""
        self.ignored: set[tuple[str, str]] = set()

    def run(self, batch: Batch, delivery: tuple[str, str] | None = None) -> IngestResult:
        """The steps in the module's docstring, in its order."""
        if delivery is not None and not first_delivery(self.conn, self.now, *delivery):
            return IngestResult(len(batch), 0, 0, duplicate=True)
        latest = {(a.source, a.fingerprint): (a, ds) for a, ds in batch}  # the last copy wins
        existing = self._existing_alerts([a for a, _ in latest.values()])
        self.known_alerts = sorted(seen.id for seen in existing.values())
        self.load_open_messages({message_key(a, d) for a, ds in latest.values() for d in ds})
        kept, ignored = self._drop_stale(latest.values(), existing)
        kept = self._write_alerts(kept)
        self.ids = {(k.alert.source, k.alert.fingerprint): k.id for k in kept}
        resolved: dict[int, float | None] = {}
        self._join_all(kept, resolved)
        resolved |= self._heartbeats(kept)
        self.write_members()
        self.resolve_members(resolved)
        self.flush()
        self._enqueue_pagerduty(kept)
        return IngestResult(len(batch), len(self.changed), ignored)

    def outcome(self, batch: Batch) -> IngestResult:
        """What this run did for one request's part of it (when requests share a run)."""
        keys = {(a.source, a.fingerprint) for a, _ in batch}
        changed: set[int] = set()
        for key in keys:
            if key in self.ids:
                changed |= self.touched.get(self.ids[key], set())
        return IngestResult(len(batch), len(changed), len(keys & self.ignored))

    def _drop_stale(
        self, latest: Iterable[tuple[Alert, list[Decision]]], existing: dict[tuple[str, str], Seen]
    ) -> tuple[list[Kept], int]:
        """Set aside stale redeliveries (counted as repeats); the rest is written."""
        ignored: list[int] = []
        kept: list[Kept] = []
        for alert, decisions in latest:
            previous = existing.get((alert.source, alert.fingerprint))
            if previous is not None and is_stale(alert, previous, self.now):
                ignored.append(previous.id)
                self.ignored.add((alert.source, alert.fingerprint))
            else:
                kept.append(Kept(alert, decisions, previous))
        if ignored:
            self.conn.execute(_UPDATE_ALERTS, [{"b_id": i, "b_inc": 1} for i in ignored])
        return kept, len(ignored)

    def _join_all(self, kept: list[Kept], resolved: dict[int, float | None]) -> None:
        """Each alert into its messages: its own, or a storm's and its channels' pointers
        (the rules are ``place``'s; here, what they read and what they say, executed)."""
        arriving = [k for k in kept if k.arrives]
        storms = self.storms({k.alert.source for k in arriving}, {k.id for k in arriving})
        placed = place(kept, storms, self.storm_members([k.id for k in kept]), self.storm)
        resolved |= placed.resolved
        joins: list[tuple[Alert, int, Decision, OpenMessage | None]] = []  # None: its own
        for j in placed.joins:
            target = j.storm
            if target is not None and j.pointer:
                target = self.pointer(target, j.kept.alert, j.decision)
            joins.append((j.kept.alert, j.kept.id, j.decision, target))
        self.create_messages((alert, d) for alert, _, d, target in joins if target is None)
        for alert, alert_id, decision, target in joins:
            self.join(alert, alert_id, decision, target)
        self._hold(placed.held)

    def _hold(self, held: list[tuple[Kept, Decision]]) -> None:
        """Held decisions join no message yet, unless the alert is posted there already."""
        wanted = []
        for k, decision in held:
            key = message_key(k.alert, decision)
            message = self.open_messages.get(key)
            member = self.membership.get((message.id, k.id)) if message else None
            if member is None or member.status != "firing":
                wanted.append(holds.Held(k.id, key, decision.held_until or self.now))
        holds.hold(self.conn, self.now, wanted)

    def release(self, batch: Sequence[tuple[int, Alert, list[Decision]]]) -> None:
        """Held alerts that still fire, decided again now (router/store/holds.py): those
        their route lets through join their messages, posted like any arrival (and paged);
        those still held are held anew."""
        self.known_alerts = sorted(alert_id for alert_id, _, _ in batch)
        self.load_open_messages({message_key(a, d) for _, a, ds in batch for d in ds})
        kept = [
            Kept(alert, decisions, Seen(alert_id, "firing", ts(alert.starts_at)), alert_id)
            for alert_id, alert, decisions in batch
        ]
        if kept:
            self.conn.execute(
                _UPDATE_ALERTS,
                [
                    {
                        "b_id": k.id,
                        "b_inc": 0,
                        "decisions": [d.record().model_dump() for d in k.decisions],
                        "updated_at": self.now,
                    }
                    for k in kept
                ],
            )
        self._join_all(kept, {})
        self.flush()
        paged = [k.id for k in kept if any(d.page for d in k.live)]
        if paged:
            entries.arm(self.conn, self.now, PAGERDUTY_EVENT, dict.fromkeys(paged))

    def _existing_alerts(self, batch: Iterable[Alert]) -> dict[tuple[str, str], Seen]:
        by_source: dict[str, list[str]] = {}
        for a in batch:
            by_source.setdefault(a.source, []).append(a.fingerprint)
        found: dict[tuple[str, str], Seen] = {}
        for source, fingerprints in by_source.items():
            for chunk in chunks(fingerprints):
                for row in self.conn.execute(
                    _EXISTING_ALERTS, {"source": source, "fingerprints": list(chunk)}
                ):
                    found[(source, row.fingerprint)] = Seen(
                        row.id, row.status, row.starts_at, row.resolved_seen_at, row.fired_at
                    )
        return found

    def _row(self, k: Kept) -> dict[str, Any]:
        """The alert's columns as this request leaves them."""
        alert, previous = k.alert, k.previous
        row = {
            "name": alert.name,
            "status": alert.status,
            "group_key": alert.group_key,
            "labels": alert.labels,
            "annotations": alert.annotations,
            "summary": alert.summary,
            "url": alert.url,
            "links": alert.links or None,
            "value": alert.value or None,
            "source_severity": alert.source_severity,
            "starts_at": ts(alert.starts_at),
            "ends_at": ts(alert.ends_at),
            "updated_at": self.now,
            "decisions": [d.record().model_dump() for d in k.decisions],
            "raw": alert.raw,
            "resolved_seen_at": None,
            "pagerduty_incident": alert.pagerduty_incident,
            "fired_at": previous.fired_at if previous else None,
        }
        if alert.status == "resolved" or k.arrives:
            # What muted it before is over; reconciling says what mutes it now.
            row |= {"silenced_by": None, "inhibited_by": None}
        if alert.status == "resolved":
            keep = previous is not None and previous.status == "resolved"
            row["resolved_seen_at"] = previous.resolved_seen_at if keep and previous else self.now
        elif k.arrives:
            counted = self.storm is None or self.storm.counts(k.live)
            row["fired_at"] = self.now if counted else None  # a storm counts it
        return row

    def _write_alerts(self, kept: list[Kept]) -> list[Kept]:
        """Insert the new alerts and update the known ones; each with its id."""
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for k in kept:
            row, previous = self._row(k), k.previous
            if previous is None:
                new = {"source": k.alert.source, "fingerprint": k.alert.fingerprint}
                inserts.append(row | new | {"received_at": self.now, "repeats": 0})
                continue
            if row["starts_at"] is None:  # a resolve that does not repeat the start
                row["starts_at"] = previous.starts_at
            repeat = previous.status == k.alert.status and previous.starts_at == row["starts_at"]
            updates.append(row | {"b_id": previous.id, "b_inc": int(repeat)})
        stored: dict[tuple[str, str], Seen] = {}
        if inserts:  # not RETURNING: SQLite would run it a row at a time to keep the order
            self.conn.execute(alerts.insert(), inserts)
            stored = self._existing_alerts([k.alert for k in kept if k.previous is None])
        # One executemany per set of columns: a repeat leaves what mutes it alone, while
        # an arrival or a resolve clears it, and every row of one executemany sets the same.
        by_columns: dict[frozenset[str], list[dict[str, Any]]] = {}
        for update in updates:
            by_columns.setdefault(frozenset(update), []).append(update)
        for same in by_columns.values():
            self.conn.execute(_UPDATE_ALERTS, same)
        return [
            Kept(
                k.alert,
                k.decisions,
                k.previous,
                k.previous.id if k.previous else stored[(k.alert.source, k.alert.fingerprint)].id,
            )
            for k in kept
        ]

    def _heartbeats(self, kept: list[Kept]) -> dict[int, float | None]:
        """Arrivals on ``heartbeat:`` routes re-arm their timers and end open alarms.

        Returns the alarms' alert ids, to resolve like any other alert.
        """
        ended: dict[int, float | None] = {}
        for k in kept:
            if k.alert.status != "firing":
                continue
            for decision in k.decisions:
                if decision.heartbeat and decision.route:
                    alarm = heartbeats.seen(
                        self.conn, self.now, decision.route, decision.heartbeat, k.alert.name
                    )
                    if alarm is not None:
                        ended[alarm] = self.now
        if ended:
            self.conn.execute(
                alerts.update()
                .where(alerts.c.id.in_(list(ended)))
                .values(
                    status="resolved",
                    ends_at=self.now,
                    resolved_seen_at=self.now,
                    updated_at=self.now,
                )
            )
        return ended

    def _enqueue_pagerduty(self, kept: list[Kept]) -> None:
        """A runbook note for each newly routed PagerDuty incident; Events for ``page:``."""
        notes: list[int] = []
        events: list[int] = []
        for k in kept:
            alert, decisions, previous = k.alert, k.decisions, k.previous
            if (
                self.pagerduty_notes
                and alert.pagerduty_incident
                and alert.status == "firing"
                and any(d.runbook for d in decisions)
            ):
                notes.append(k.id)
            changed = previous is None or previous.status != alert.status
            if changed and any(d.page for d in k.live):  # a held page goes when released
                events.append(k.id)
        if notes:
            # Once per incident: a reopened incident already has its note.
            entries.arm(self.conn, self.now, PAGERDUTY_NOTE, dict.fromkeys(notes, 1), only_new=True)
        if events:
            entries.arm(self.conn, self.now, PAGERDUTY_EVENT, dict.fromkeys(events))
