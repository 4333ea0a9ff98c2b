"""One webhook request's writes, in the caller's transaction.

Reads what exists in a few queries, plans the changes in memory, then writes
with statements built once and run with many parameter sets (executemany), so
a batch of a thousand alerts costs a handful of round trips.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from router.alert import Alert
from router.decide import Decision
from router.severity import Severity
from router.store import heartbeats
from router.store.schema import (
    PAGERDUTY_EVENT,
    PAGERDUTY_NOTE,
    SLACK_MESSAGE,
    alerts,
    chunks,
    deliveries,
    members,
    messages,
    outbox,
    pk,
    ts,
)
from router.storm import StormPolicy

STALE_REDELIVERY_WINDOW = 30.0
"""Seconds after a resolve in which a firing copy with the same startsAt is stale.

Alertmanager HA peers can deliver a group's firing notification late, after
another peer's resolve. Later than this, a firing alert with the same startsAt
is taken as firing again (Prometheus keeps activeAt across its own restarts, so a
re-fire after an outage looks just like that): better a message too many than a
firing alert dropped.
"""


@dataclass(frozen=True)
class IngestResult:
    alerts: int
    changed_messages: int
    ignored: int
    """Stale redeliveries: a firing copy of an alert that has since resolved."""
    duplicate: bool = False
    """The sender's delivery id was seen before: nothing was done."""


def message_key(alert: Alert, decision: Decision) -> str:
    runbook = decision.runbook.key if decision.runbook else "-"
    return json.dumps([alert.source, alert.group_key, decision.channel, runbook])


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
_OPEN_MESSAGES = sa.select(messages.c.id, messages.c.key).where(
    messages.c.key.in_(sa.bindparam("keys", expanding=True)), messages.c.closed.is_(False)
)
_MEMBERSHIP = sa.select(
    members.c.message_id,
    members.c.alert_id,
    members.c.status,
    members.c.level,
    members.c.reason,
    members.c.ack_by,
).where(
    members.c.message_id.in_(sa.bindparam("ids", expanding=True)),
    members.c.alert_id.in_(sa.bindparam("alerts", expanding=True)),
)
"""Only this request's alerts: a storm message has thousands of other members."""
# Per message, in the database (a storm message lists thousands): the most severe level
# still firing (None: none is) and of all. "SEV0" < ... < "SEV4" as text, too.
_MEMBER_LEVELS = (
    sa.select(
        members.c.message_id,
        sa.func.min(sa.case((members.c.status == "firing", members.c.level))).label("firing"),
        sa.func.min(members.c.level).label("every"),
    )
    .where(members.c.message_id.in_(sa.bindparam("ids", expanding=True)))
    .group_by(members.c.message_id)
)
_MESSAGE_VERSIONS = sa.select(messages.c.id, messages.c.version).where(
    messages.c.id.in_(sa.bindparam("ids", expanding=True))
)
_QUEUED = sa.select(outbox.c.ref, outbox.c.state, outbox.c.version).where(
    outbox.c.kind == sa.bindparam("kind"), outbox.c.ref.in_(sa.bindparam("refs", expanding=True))
)
_INSERT_ALERTS = alerts.insert().returning(alerts.c.id, sort_by_parameter_order=True)

_UPDATE_MEMBER = members.update().where(
    members.c.message_id == sa.bindparam("b_message"),
    members.c.alert_id == sa.bindparam("b_alert"),
)
"""One alert's row in one message; run with many parameter sets."""


@dataclass(frozen=True)
class _Seen:
    id: int
    status: str
    starts_at: float | None
    resolved_seen_at: float | None = None
    fired_at: float | None = None


@dataclass(frozen=True)
class _Open:
    id: int
    key: str


@dataclass(frozen=True)
class _Membership:
    status: str
    level: str
    reason: str
    ack_by: str | None


class Ingest:
    """One request's writes: read what exists, plan, then write in bulk."""

    def __init__(
        self,
        conn: Connection,
        now: float,
        *,
        pagerduty_notes: bool = False,
        storm: StormPolicy | None = None,
    ) -> None:
        self.conn = conn
        self.now = now
        self.pagerduty_notes = pagerduty_notes
        self.storm = storm
        self.changed: set[int] = set()
        self.open_messages: dict[str, _Open] = {}
        self.membership: dict[tuple[int, int], _Membership] = {}
        self.known_alerts: list[int] = []

    def run(
        self, batch: Sequence[tuple[Alert, list[Decision]]], delivery: tuple[str, str] | None = None
    ) -> IngestResult:
        if delivery is not None and not self._first_delivery(*delivery):
            return IngestResult(len(batch), 0, 0, duplicate=True)
        # The last copy of an alert in one request wins.
        latest = {(a.source, a.fingerprint): (a, ds) for a, ds in batch}
        existing = self._existing_alerts([a for a, _ in latest.values()])
        self.known_alerts = sorted(seen.id for seen in existing.values())
        self._load_open_messages({message_key(a, d) for a, ds in latest.values() for d in ds})

        ignored: list[int] = []
        kept: list[tuple[Alert, list[Decision], _Seen | None]] = []
        for alert, decisions in latest.values():
            previous = existing.get((alert.source, alert.fingerprint))
            if previous is not None and self._stale(alert, previous):
                ignored.append(previous.id)
            else:
                kept.append((alert, decisions, previous))
        if ignored:
            self.conn.execute(
                alerts.update()
                .where(alerts.c.id == sa.bindparam("b_id"))
                .values(repeats=alerts.c.repeats + 1),
                [{"b_id": i} for i in ignored],
            )

        ids = self._write_alerts(kept)
        arrivals = {
            alert_id
            for (alert, _, previous), alert_id in zip(kept, ids, strict=True)
            if alert.status == "firing" and (previous is None or previous.status != "firing")
        }
        storms = self._storms(
            {a.source for (a, _, _), i in zip(kept, ids, strict=True) if i in arrivals}, arrivals
        )
        in_storm = self._storm_members(ids) if self.storm else set()
        member_inserts: list[dict[str, Any]] = []
        member_updates: list[dict[str, Any]] = []
        resolved_ids = self._heartbeats(kept, ids)
        for (alert, decisions, _previous), alert_id in zip(kept, ids, strict=True):
            if alert.status == "resolved":
                resolved_ids[alert_id] = ts(alert.ends_at)
                continue
            storm = storms.get(alert.source) if alert_id in arrivals else None
            if storm and self.storm and self.storm.folds(decisions):
                message, decision = storm
                self._join(alert, alert_id, decision, member_inserts, member_updates, message)
                for own in decisions:
                    if own.notify and own.channel != decision.channel:
                        pointer = self._pointer(message, alert, own)
                        self._join(alert, alert_id, own, member_inserts, member_updates, pointer)
                continue
            if alert_id in in_storm:
                continue  # a repeat of an alert the storm message already lists
            for decision in decisions:
                if decision.notify:
                    self._join(alert, alert_id, decision, member_inserts, member_updates)
        if member_inserts:
            self.conn.execute(members.insert(), member_inserts)
        if member_updates:
            self.conn.execute(_UPDATE_MEMBER, member_updates)
        self._resolve(resolved_ids)
        self._enqueue_messages()
        self._enqueue_pagerduty(kept, ids)
        return IngestResult(len(batch), len(self.changed), len(ignored))

    def touch(self, message_ids: Iterable[int]) -> None:
        """These messages changed outside a webhook (a button): move them on."""
        self.changed |= set(message_ids)
        self._enqueue_messages()

    def arm(self, kind: str, refs: Iterable[int]) -> None:
        """Outbox entries of ``kind`` for these refs, due now."""
        self._arm(kind, dict.fromkeys(refs))

    def _first_delivery(self, source: str, delivery_id: str) -> bool:
        seen = self.conn.execute(
            sa.select(deliveries.c.delivery_id).where(
                deliveries.c.source == source, deliveries.c.delivery_id == delivery_id
            )
        ).first()
        if seen is not None:
            return False
        self.conn.execute(
            deliveries.insert().values(source=source, delivery_id=delivery_id, received_at=self.now)
        )
        return True

    def _stale(self, alert: Alert, previous: _Seen) -> bool:
        return (
            alert.status == "firing"
            and previous.status == "resolved"
            and previous.starts_at == ts(alert.starts_at)
            and previous.resolved_seen_at is not None
            and self.now - previous.resolved_seen_at < STALE_REDELIVERY_WINDOW
        )

    def _existing_alerts(self, batch: Iterable[Alert]) -> dict[tuple[str, str], _Seen]:
        by_source: dict[str, list[str]] = {}
        for a in batch:
            by_source.setdefault(a.source, []).append(a.fingerprint)
        found: dict[tuple[str, str], _Seen] = {}
        for source, fingerprints in by_source.items():
            for chunk in chunks(fingerprints):
                for row in self.conn.execute(
                    _EXISTING_ALERTS, {"source": source, "fingerprints": list(chunk)}
                ):
                    found[(source, row.fingerprint)] = _Seen(
                        row.id, row.status, row.starts_at, row.resolved_seen_at, row.fired_at
                    )
        return found

    def _write_alerts(self, kept: list[tuple[Alert, list[Decision], _Seen | None]]) -> list[int]:
        """Insert the new alerts and update the known ones; their ids, in order."""
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for alert, decisions, previous in kept:
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
                "decisions": [d.as_dict() for d in decisions],
                "raw": alert.raw,
                "resolved_seen_at": None,
                "pagerduty_incident": alert.pagerduty_incident,
                "fired_at": previous.fired_at if previous else None,
            }
            if alert.status == "resolved":
                keep = previous is not None and previous.status == "resolved"
                row["resolved_seen_at"] = (
                    previous.resolved_seen_at if keep and previous else self.now
                )
            elif previous is None or previous.status != "firing":
                counted = self.storm is None or self.storm.counts(decisions)
                row["fired_at"] = self.now if counted else None  # a storm counts it
            if previous is None:
                inserts.append(
                    row
                    | {
                        "source": alert.source,
                        "fingerprint": alert.fingerprint,
                        "received_at": self.now,
                        "repeats": 0,
                    }
                )
            else:
                if row["starts_at"] is None:  # a resolve that does not repeat the start
                    row["starts_at"] = previous.starts_at
                repeat = previous.status == alert.status and previous.starts_at == row["starts_at"]
                updates.append(row | {"b_id": previous.id, "b_inc": int(repeat)})
        new_ids = iter(
            self.conn.execute(_INSERT_ALERTS, inserts).scalars().all() if inserts else []
        )
        if updates:
            self.conn.execute(
                alerts.update()
                .where(alerts.c.id == sa.bindparam("b_id"))
                .values(repeats=alerts.c.repeats + sa.bindparam("b_inc")),
                updates,
            )
        return [previous.id if previous else int(next(new_ids)) for _, _, previous in kept]

    def _load_open_messages(self, keys: set[str]) -> None:
        for chunk in chunks(sorted(keys)):
            for row in self.conn.execute(_OPEN_MESSAGES, {"keys": list(chunk)}):
                self.open_messages[row.key] = _Open(row.id, row.key)
        self._load_membership()

    def _load_membership(self) -> None:
        ids = [m.id for m in self.open_messages.values()]
        if not ids or not self.known_alerts:
            return  # alerts new in this request are in no message yet
        for chunk in chunks(ids):
            params = {"ids": list(chunk), "alerts": self.known_alerts}
            for row in self.conn.execute(_MEMBERSHIP, params):
                self.membership[(row.message_id, row.alert_id)] = _Membership(
                    row.status, row.level, row.reason, row.ack_by
                )

    def _open_message(self, alert: Alert, decision: Decision) -> _Open:
        key = message_key(alert, decision)
        message = self.open_messages.get(key)
        if message is not None:
            return message
        link = decision.runbook
        return self._insert_message(
            key,
            source=alert.source,
            group_key=alert.group_key,
            channel=decision.channel,
            route=decision.route,
            runbook_key=link.key if link else "-",
            runbook_id=link.runbook_id if link else None,
            runbook_url=link.url if link else None,
            runbook_title=link.title if link else None,
            runbook_reason=link.reason if link else None,
            level=decision.severity.level,
        )

    def _insert_message(self, key: str, **values: Any) -> _Open:
        """A new open message (version 0: the first change makes it 1)."""
        row = {"key": key, "version": 0, "closed": False, "resolve_notified": False}
        result = self.conn.execute(
            messages.insert(), row | {"created_at": self.now, "updated_at": self.now} | values
        )
        message = _Open(pk(result), key)
        self.open_messages[key] = message
        return message

    def _storms(self, sources: set[str], arrivals: set[int]) -> dict[str, tuple[_Open, Decision]]:
        """The open storm message of each source whose arrivals make a storm now.

        A storm that begins now lists every alert it counted, also those that
        arrived before it began (they keep their own messages too), so its count
        is the storm's size.
        """
        policy = self.storm
        if policy is None:
            return {}
        storms = {}
        for source in sorted(sources):
            count = self.conn.execute(
                sa.select(sa.func.count()).where(
                    alerts.c.source == source,
                    alerts.c.status == "firing",
                    alerts.c.fired_at >= self.now - policy.within,
                )
            ).scalar_one()
            if count < policy.alerts:
                continue
            severity = Severity(policy.level, "", policy.reason(count, source))
            decision = Decision("storm", policy.channel, severity, None)
            message, new = self._storm_message(source, policy)
            if new:
                self._fold_earlier(message, source, policy, severity, arrivals)
            storms[source] = (message, decision)
        return storms

    def _fold_earlier(
        self, message: _Open, source: str, policy: StormPolicy, severity: Severity, skip: set[int]
    ) -> None:
        """List the alerts counted before the storm began in its message."""
        rows = self.conn.execute(
            sa.select(alerts.c.id, alerts.c.starts_at).where(
                alerts.c.source == source,
                alerts.c.status == "firing",
                alerts.c.fired_at >= self.now - policy.within,
            )
        ).all()
        inserts = [
            {
                "message_id": message.id,
                "alert_id": row.id,
                "status": "firing",
                "level": severity.level,
                "reason": severity.reason,
                "ack_by": None,
                "added_at": self.now,
                "starts_at": row.starts_at,
                "ends_at": None,
            }
            for row in rows
            if row.id not in skip
        ]
        if inserts:
            self.conn.execute(members.insert(), inserts)
            for row in inserts:
                self.membership[(message.id, row["alert_id"])] = _Membership(
                    "firing", severity.level, severity.reason, None
                )
            self.changed.add(message.id)

    def _pointer(self, storm: _Open, alert: Alert, decision: Decision) -> _Open:
        """The one message in a channel that says its alerts joined the storm."""
        key = json.dumps(["pointer", storm.id, decision.channel])
        if (message := self.open_messages.get(key)) is not None:
            return message
        row = self.conn.execute(
            sa.select(messages.c.id).where(messages.c.key == key, messages.c.closed.is_(False))
        ).first()
        if row is not None:
            self.open_messages[key] = _Open(row.id, key)
            self._load_membership()
            return self.open_messages[key]
        return self._insert_message(
            key,
            source=alert.source,
            group_key=f"storm:{alert.source}",
            channel=decision.channel,
            route=decision.route,
            runbook_key="-",
            level=decision.severity.level,
            kind="pointer",
            parent_id=storm.id,
        )

    def _storm_message(self, source: str, policy: StormPolicy) -> tuple[_Open, bool]:
        row = self.conn.execute(
            sa.select(messages.c.id, messages.c.key).where(
                messages.c.kind == "storm",
                messages.c.source == source,
                messages.c.closed.is_(False),
                messages.c.storm_ended_at.is_(None),
            )
        ).first()
        if row is not None:
            self.conn.execute(
                messages.update().where(messages.c.id == row.id).values(storm_last_arrival=self.now)
            )
            return _Open(row.id, row.key), False
        key = json.dumps(["storm", source, self.now])
        message = self._insert_message(
            key,
            source=source,
            group_key=f"storm:{source}",
            channel=policy.channel,
            route="storm",
            runbook_key="-",
            level=policy.level,
            kind="storm",
            storm_within=policy.within,
            storm_last_arrival=self.now,
        )
        self._load_membership()
        return message, True

    def _storm_members(self, ids: list[int]) -> set[int]:
        found: set[int] = set()
        for chunk in chunks(ids):
            found |= set(
                self.conn.execute(
                    sa.select(members.c.alert_id)
                    .join(messages, messages.c.id == members.c.message_id)
                    .where(
                        members.c.alert_id.in_(chunk),
                        members.c.status == "firing",
                        messages.c.kind == "storm",
                        messages.c.closed.is_(False),
                    )
                ).scalars()
            )
        return found

    def _join(
        self,
        alert: Alert,
        alert_id: int,
        decision: Decision,
        inserts: list[dict[str, Any]],
        updates: list[dict[str, Any]],
        message: _Open | None = None,
    ) -> None:
        """Make the alert a firing member of its message; a change moves the message on."""
        message = message or self._open_message(alert, decision)
        current = self.membership.get((message.id, alert_id))
        ack_by = None
        if alert.acknowledged:
            known = current.ack_by if current and current.ack_by is not None else ""
            ack_by = alert.acknowledged_by if alert.acknowledged_by is not None else known
        elif current is not None and current.status == "firing" and alert.source != "pagerduty":
            ack_by = current.ack_by  # a repeat keeps an acknowledgement made in Slack
        wanted = _Membership("firing", decision.severity.level, decision.severity.reason, ack_by)
        if current == wanted:
            return
        row: dict[str, Any] = {
            "status": wanted.status,
            "level": wanted.level,
            "reason": wanted.reason,
            "ack_by": wanted.ack_by,
        }
        if current is None:
            inserts.append(
                row
                | {
                    "message_id": message.id,
                    "alert_id": alert_id,
                    "added_at": self.now,
                    "starts_at": ts(alert.starts_at),
                    "ends_at": None,
                }
            )
        else:
            if current.status != "firing":
                row |= {"starts_at": ts(alert.starts_at), "ends_at": None}
            updates.append(row | {"b_message": message.id, "b_alert": alert_id})
        self.membership[(message.id, alert_id)] = wanted
        self.changed.add(message.id)

    def _heartbeats(
        self, kept: list[tuple[Alert, list[Decision], _Seen | None]], ids: list[int]
    ) -> dict[int, float | None]:
        """Arrivals on ``heartbeat:`` routes re-arm their timers and end open alarms.

        Returns the alarms' alert ids, to resolve like any other alert.
        """
        ended: dict[int, float | None] = {}
        for (alert, decisions, _), _alert_id in zip(kept, ids, strict=True):
            if alert.status != "firing":
                continue
            for decision in decisions:
                if decision.heartbeat and decision.route:
                    alarm = heartbeats.seen(
                        self.conn, self.now, decision.route, decision.heartbeat, alert.name
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

    def _resolve(self, resolved: dict[int, float | None]) -> None:
        """Mark each resolved alert resolved in the open messages that list it as firing."""
        updates: list[dict[str, Any]] = []
        for chunk in chunks(list(resolved)):
            for message_id, alert_id in self.conn.execute(
                sa.select(members.c.message_id, members.c.alert_id)
                .join(messages, messages.c.id == members.c.message_id)
                .where(
                    members.c.alert_id.in_(chunk),
                    members.c.status == "firing",
                    messages.c.closed.is_(False),
                )
            ):
                ends_at = resolved[alert_id] or self.now
                updates.append(
                    {
                        "b_message": message_id,
                        "b_alert": alert_id,
                        "status": "resolved",
                        "ends_at": ends_at,
                    }
                )
                self.changed.add(message_id)
        if updates:
            self.conn.execute(_UPDATE_MEMBER, updates)

    def _enqueue_messages(self) -> None:
        """Move every changed message to its next version, level and state; arm its entry."""
        if not self.changed:
            return
        ids = sorted(self.changed)
        firing: dict[int, str | None] = dict.fromkeys(ids)
        every: dict[int, str] = {}
        for chunk in chunks(ids):
            for row in self.conn.execute(_MEMBER_LEVELS, {"ids": list(chunk)}):
                firing[row.message_id] = row.firing
                every[row.message_id] = row.every
        self.conn.execute(
            messages.update()
            .where(messages.c.id == sa.bindparam("b_id"))
            .values(version=messages.c.version + 1),
            [
                {
                    "b_id": i,
                    "updated_at": self.now,
                    # The level is that of the most severe alert still firing.
                    "level": firing[i] or every[i],
                    "closed": not firing[i],
                    "resolved_at": None if firing[i] else self.now,
                }
                for i in ids
            ],
        )
        versions: dict[int, int] = {}
        for chunk in chunks(ids):
            versions.update(self.conn.execute(_MESSAGE_VERSIONS, {"ids": list(chunk)}).all())
        self._arm(SLACK_MESSAGE, versions)

    def _enqueue_pagerduty(
        self, kept: list[tuple[Alert, list[Decision], _Seen | None]], ids: list[int]
    ) -> None:
        """A runbook note for each newly routed PagerDuty incident; Events for ``page:``."""
        notes: list[int] = []
        events: list[int] = []
        for (alert, decisions, previous), alert_id in zip(kept, ids, strict=True):
            if (
                self.pagerduty_notes
                and alert.pagerduty_incident
                and alert.status == "firing"
                and any(d.runbook for d in decisions)
            ):
                notes.append(alert_id)
            changed = previous is None or previous.status != alert.status
            if changed and any(d.page for d in decisions):
                events.append(alert_id)
        if notes:
            # Once per incident: a reopened incident already has its note.
            self._arm(PAGERDUTY_NOTE, dict.fromkeys(notes, 1), only_new=True)
        if events:
            self._arm(PAGERDUTY_EVENT, dict.fromkeys(events))

    def _arm(
        self, kind: str, versions: Mapping[int, int | None], *, only_new: bool = False
    ) -> None:
        """Create or re-arm the outbox entries of ``kind`` for these refs.

        A version of None means "one more than now". Delivered entries are armed
        again at once; so are dead letters (a permanent error such as
        not_in_channel is often fixed while an incident goes on, and if it is not,
        the entry is dead again after one call). A pending entry keeps its
        backoff and takes the new version.
        """
        refs = sorted(versions)
        queued: dict[int, tuple[str, int]] = {}
        for chunk in chunks(refs):
            for row in self.conn.execute(_QUEUED, {"kind": kind, "refs": list(chunk)}):
                queued[row.ref] = (row.state, row.version)
        inserts = [
            {
                "kind": kind,
                "ref": ref,
                "version": versions[ref] or 1,
                "done_version": 0,
                "state": "pending",
                "due_at": self.now,
                "enqueued_at": self.now,
                "attempts": 0,
                "created_at": self.now,
                "updated_at": self.now,
            }
            for ref in refs
            if ref not in queued
        ]
        if inserts:
            self.conn.execute(outbox.insert(), inserts)
        if only_new:
            return
        rearm: list[dict[str, Any]] = []
        bump: list[dict[str, Any]] = []
        for ref, (state, version) in queued.items():
            entry = {"b_ref": ref, "version": versions[ref] or version + 1}
            (bump if state == "pending" else rearm).append(entry)
        target = sa.and_(outbox.c.kind == kind, outbox.c.ref == sa.bindparam("b_ref"))
        if rearm:
            self.conn.execute(
                outbox.update()
                .where(target)
                .values(
                    state="pending", due_at=self.now, enqueued_at=self.now, updated_at=self.now
                ),
                rearm,
            )
        if bump:
            self.conn.execute(outbox.update().where(target).values(updated_at=self.now), bump)
