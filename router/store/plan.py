"""Slack messages and their members, planned in memory within one transaction.

An alert is a member of one open message per (source, group, channel, runbook);
``Plan`` reads the open messages and this request's memberships once, records
the changes, and writes them with one statement per kind (executemany).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from router.alert import Alert
from router.decide import Decision
from router.records import NO_RUNBOOK
from router.store.outbox import entries
from router.store.schema import OPEN, chunks, members, messages, pk, ts

_OPEN_MESSAGES = sa.select(messages.c.id, messages.c.key).where(
    messages.c.key.in_(sa.bindparam("keys", expanding=True)), OPEN
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
UPDATE_MEMBER = members.update().where(
    members.c.message_id == sa.bindparam("b_message"),
    members.c.alert_id == sa.bindparam("b_alert"),
)
"""One alert's row in one message; run with many parameter sets."""


_NEW_MESSAGE = {"version": 0, "closed": False, "resolve_notified": False}
"""A new open message: version 0, so the first change makes it 1."""


def message_row(alert: Alert, decision: Decision) -> dict[str, Any]:
    """What a group's message is about: its source, group, channel, runbook and level."""
    link = decision.runbook
    ref = link.ref if link else NO_RUNBOOK  # as MessageView.runbook reads it back
    return {
        "source": alert.source,
        "group_key": alert.group_key,
        "channel": decision.channel,
        "route": decision.route,
        "runbook_key": link.key if link else "-",
        "runbook_id": ref.id,
        "runbook_url": ref.url,
        "runbook_title": ref.title,
        "runbook_reason": ref.reason,
        "level": decision.severity.level,
    }


def message_key(alert: Alert, decision: Decision) -> str:
    runbook = decision.runbook.key if decision.runbook else "-"
    return json.dumps([alert.source, alert.group_key, decision.channel, runbook])


@dataclass(frozen=True)
class OpenMessage:
    id: int
    key: str


@dataclass(frozen=True)
class Membership:
    status: str
    level: str
    reason: str
    ack_by: str | None


class Plan:
    """The messages one transaction touches, and the member rows it will write."""

    def __init__(
        self, conn: Connection, now: float, first_look: Mapping[str, float] | None = None
    ) -> None:
        self.conn = conn
        self.now = now
        self.first_look = first_look or {}
        """Levels with response times: their messages get a response-time clock, first
        due this many seconds after a new message fires (``IngestPolicy.first_look``)."""
        self.changed: set[int] = set()
        """Messages that changed: flush() moves them to their next version."""
        self.open_messages: dict[str, OpenMessage] = {}
        self.membership: dict[tuple[int, int], Membership] = {}
        self.known_alerts: list[int] = []
        """This request's alerts that were stored before (the others are in no message)."""
        self.touched: dict[int, set[int]] = {}
        """Alert id -> the messages it changed (to tell each request what it did)."""
        self.raised: dict[int, str] = {}
        """Message id -> the most severe level this plan set firing in it, where no change
        could have made it less severe: its level is found without counting its members."""
        self.recount: set[int] = set()
        """Messages a change may have made less severe (a resolve, a level lowered)."""
        self.created: set[int] = set()
        """Messages this plan inserted: every member they have is one of its changes."""
        self._inserts: list[dict[str, Any]] = []
        self._updates: list[dict[str, Any]] = []

    def load_open_messages(self, keys: set[str]) -> None:
        for chunk in chunks(sorted(keys)):
            for row in self.conn.execute(_OPEN_MESSAGES, {"keys": list(chunk)}):
                self.open_messages[row.key] = OpenMessage(row.id, row.key)
        self.load_membership()

    def load_membership(self) -> None:
        ids = [m.id for m in self.open_messages.values()]
        if not ids or not self.known_alerts:
            return  # alerts new in this request are in no message yet
        for chunk in chunks(ids):
            params = {"ids": list(chunk), "alerts": self.known_alerts}
            for row in self.conn.execute(_MEMBERSHIP, params):
                self.membership[(row.message_id, row.alert_id)] = Membership(
                    row.status, row.level, row.reason, row.ack_by
                )

    def open_message(self, alert: Alert, decision: Decision) -> OpenMessage:
        key = message_key(alert, decision)
        message = self.open_messages.get(key)
        if message is not None:
            return message
        return self.insert_message(key, **message_row(alert, decision))

    def create_messages(self, wanted: Iterable[tuple[Alert, Decision]]) -> None:
        """The open messages these alerts will join, those not there yet in one statement."""
        rows: dict[str, dict[str, Any]] = {}
        for alert, decision in wanted:
            key = message_key(alert, decision)
            if key not in self.open_messages and key not in rows:
                rows[key] = {"key": key, **_NEW_MESSAGE, **message_row(alert, decision)}
        if not rows:
            return
        stamped = [row | {"created_at": self.now, "updated_at": self.now} for row in rows.values()]
        # Not RETURNING: SQLite would run it a row at a time to keep the order.
        self.conn.execute(messages.insert(), stamped)
        for chunk in chunks(list(rows)):
            for row in self.conn.execute(_OPEN_MESSAGES, {"keys": list(chunk)}):
                self.open_messages[row.key] = OpenMessage(row.id, row.key)
                self.created.add(row.id)

    def insert_message(self, key: str, **values: Any) -> OpenMessage:
        """A new open message (version 0: the first change makes it 1)."""
        row = {"key": key, **_NEW_MESSAGE}
        result = self.conn.execute(
            messages.insert(), row | {"created_at": self.now, "updated_at": self.now} | values
        )
        message = OpenMessage(pk(result), key)
        self.open_messages[key] = message
        self.created.add(message.id)
        return message

    def join(
        self, alert: Alert, alert_id: int, decision: Decision, message: OpenMessage | None = None
    ) -> None:
        """Make the alert a firing member of its message; a change moves the message on."""
        message = message or self.open_message(alert, decision)
        current = self.membership.get((message.id, alert_id))
        ack_by = None
        if alert.acknowledged:
            known = current.ack_by if current and current.ack_by is not None else ""
            ack_by = alert.acknowledged_by if alert.acknowledged_by is not None else known
        elif current is not None and current.status == "firing" and alert.source != "pagerduty":
            ack_by = current.ack_by  # a repeat keeps an acknowledgement made in Slack
        wanted = Membership("firing", decision.severity.level, decision.severity.reason, ack_by)
        if current == wanted:
            return
        row: dict[str, Any] = {
            "status": wanted.status,
            "level": wanted.level,
            "reason": wanted.reason,
            "ack_by": wanted.ack_by,
        }
        if current is None:
            self.add_member(message.id, alert_id, row | {"starts_at": ts(alert.starts_at)})
        else:
            if current.status != "firing":
                row |= {"starts_at": ts(alert.starts_at), "ends_at": None}
            self._updates.append(row | {"b_message": message.id, "b_alert": alert_id})
        if current is None or current.status != "firing" or wanted.level <= current.level:
            self.fired(message.id, wanted.level)
        else:  # a firing member less severe than it was: the message may be, too
            self.recount.add(message.id)
        self.membership[(message.id, alert_id)] = wanted
        self.changed.add(message.id)
        self.touched.setdefault(alert_id, set()).add(message.id)

    def fired(self, message_id: int, level: str) -> None:
        """A member of the message fires at ``level`` now (it did not, or less severely)."""
        known = self.raised.get(message_id)
        self.raised[message_id] = level if known is None else min(known, level)

    def add_member(self, message_id: int, alert_id: int, row: dict[str, Any]) -> None:
        """A new member row (status, level, reason, ack_by, starts_at), written at flush()."""
        fields = {"message_id": message_id, "alert_id": alert_id, "added_at": self.now}
        self._inserts.append({"ends_at": None} | row | fields)

    def resolve_members(self, resolved: dict[int, float | None]) -> None:
        """Mark each resolved alert resolved in the open messages that list it as firing."""
        for chunk in chunks(list(resolved)):
            for message_id, alert_id in self.conn.execute(
                sa.select(members.c.message_id, members.c.alert_id)
                .join(messages, messages.c.id == members.c.message_id)
                .where(
                    members.c.alert_id.in_(chunk),
                    members.c.status == "firing",
                    OPEN,
                )
            ):
                ends_at = resolved[alert_id] or self.now
                self._updates.append(
                    {
                        "b_message": message_id,
                        "b_alert": alert_id,
                        "status": "resolved",
                        "ends_at": ends_at,
                    }
                )
                self.changed.add(message_id)
                self.recount.add(message_id)
                self.touched.setdefault(alert_id, set()).add(message_id)

    def write_members(self) -> None:
        """Write the member rows planned so far."""
        if self._inserts:
            self.conn.execute(members.insert(), self._inserts)
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in self._updates:  # one executemany per set of columns
            shapes.setdefault(tuple(sorted(row)), []).append(row)
        for rows in shapes.values():
            self.conn.execute(UPDATE_MEMBER, rows)
        self._inserts, self._updates = [], []

    def flush(self) -> None:
        """Write what is planned, and move every changed message on."""
        self.write_members()
        raised = {i: level for i, level in self.raised.items() if i not in self.recount}
        entries.move_messages(
            self.conn, self.now, self.changed, self.first_look, raised, self.created
        )
