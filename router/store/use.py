"""What the runbooks were used for, as stored: their messages, and what people said.

Reads for the runbook pages and ``runbook-router review``; the numbers are
worked out from these facts in router/review/use.py. A message is one use of its
runbook (the alerts of one group, channel and runbook: one incident with its
own timeline); storms and the router's own heartbeat alarms are not counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from router.store.database import Database
from router.store.events import LEARNED, MessageEvent, event_of
from router.store.heartbeats import GROUP_PREFIX as HEARTBEAT_GROUP
from router.store.schema import alerts, members, message_events, messages


@dataclass(frozen=True)
class UsedMessage:
    """One message of a runbook, with its alerts' times."""

    id: int
    runbook_id: str | None
    created_at: float
    fired_at: float
    """When its first alert began (the source's clock), else when it arrived."""
    acknowledged_at: float | None
    ended_at: float | None
    """When its last alert ended, once it is resolved."""
    alerts: int
    names: tuple[str, ...]
    first_alert: int | None


@dataclass(frozen=True)
class Said:
    """An event of LEARNED (a tick, a vote, a step report) on a runbook's message."""

    runbook_id: str
    message_id: int
    event: MessageEvent


@dataclass(frozen=True)
class UseFacts:
    messages: list[UsedMessage]
    said: list[Said]
    alerts: int
    """Alerts active in the period, whatever their runbook: none means nothing to say."""


@dataclass(frozen=True)
class Unrouted:
    """An alert name that fired with no runbook at all."""

    name: str
    alerts: int
    """Times it fired (an alert that fires again counts again)."""
    incidents: int


def _own_messages(since: float, runbook_id: str | None) -> list[ColumnElement[bool]]:
    where = [
        messages.c.kind == "group",
        messages.c.created_at >= since,
        sa.not_(messages.c.group_key.startswith(HEARTBEAT_GROUP, autoescape=True)),
    ]
    if runbook_id is not None:
        where.append(messages.c.runbook_id == runbook_id)
    return where


class RunbookUse(Database):
    def use_facts(self, since: float, runbook_id: str | None = None) -> UseFacts:
        """Messages created since ``since`` (of one runbook, or of all), and what was said."""
        where = _own_messages(since, runbook_id)
        per_message = (
            sa.select(
                messages.c.id,
                messages.c.runbook_id,
                messages.c.created_at,
                messages.c.closed,
                messages.c.resolved_at,
                sa.func.count(members.c.alert_id).label("alerts"),
                sa.func.min(members.c.starts_at).label("starts_at"),
                sa.func.max(members.c.ends_at).label("ends_at"),
                sa.func.min(members.c.ack_at).label("ack_at"),
                sa.func.min(members.c.alert_id).label("first_alert"),
            )
            .outerjoin(members, members.c.message_id == messages.c.id)
            .where(*where)
            .group_by(
                messages.c.id,
                messages.c.runbook_id,
                messages.c.created_at,
                messages.c.closed,
                messages.c.resolved_at,
            )
            .order_by(messages.c.created_at, messages.c.id)
        )
        names = (
            sa.select(members.c.message_id, alerts.c.name)
            .join(alerts, alerts.c.id == members.c.alert_id)
            .join(messages, messages.c.id == members.c.message_id)
            .where(*where)
            .distinct()
        )
        said = (
            sa.select(message_events, messages.c.runbook_id)
            .join(messages, messages.c.id == message_events.c.message_id)
            .where(*where, message_events.c.kind.in_(LEARNED), messages.c.runbook_id.is_not(None))
            .order_by(message_events.c.at, message_events.c.id)
        )
        active = sa.select(sa.func.count()).select_from(alerts).where(alerts.c.updated_at >= since)
        with self._read() as conn:
            rows = conn.execute(per_message).all()
            named: dict[int, list[str]] = {}
            for row in conn.execute(names):
                named.setdefault(row.message_id, []).append(row.name)
            events = [Said(r.runbook_id, r.message_id, event_of(r)) for r in conn.execute(said)]
            count = int(conn.execute(active).scalar_one())
        used = [
            UsedMessage(
                id=r.id,
                runbook_id=r.runbook_id,
                created_at=r.created_at,
                fired_at=r.starts_at or r.created_at,
                acknowledged_at=r.ack_at,
                ended_at=(r.ends_at or r.resolved_at or r.created_at) if r.closed else None,
                alerts=int(r.alerts),
                names=tuple(sorted(named.get(r.id, []))),
                first_alert=r.first_alert,
            )
            for r in rows
        ]
        return UseFacts(used, events, count)

    def last_used(self, runbook_ids: Sequence[str] | None = None) -> dict[str, float]:
        """When each runbook last had a message, whenever that was."""
        query = (
            sa.select(messages.c.runbook_id, sa.func.max(messages.c.created_at))
            .where(messages.c.runbook_id.is_not(None), messages.c.kind == "group")
            .group_by(messages.c.runbook_id)
        )
        if runbook_ids is not None:
            query = query.where(messages.c.runbook_id.in_(list(runbook_ids)))
        with self._read() as conn:
            return {str(rid): float(at) for rid, at in conn.execute(query)}

    def unrouted(self, since: float, limit: int = 10) -> list[Unrouted]:
        """The alert names that fired most since ``since`` with no runbook, ours or outside."""
        fired = sa.func.count().label("fired")
        query = (
            sa.select(
                alerts.c.name, fired, sa.func.count(sa.distinct(members.c.message_id)).label("n")
            )
            .join(members, members.c.alert_id == alerts.c.id)
            .join(messages, messages.c.id == members.c.message_id)
            .where(
                *_own_messages(since, None),
                messages.c.runbook_id.is_(None),
                messages.c.runbook_url.is_(None),
            )
            .group_by(alerts.c.name)
            .order_by(fired.desc(), alerts.c.name)
            .limit(limit)
        )
        with self._read() as conn:
            return [Unrouted(r.name, int(r.fired), int(r.n)) for r in conn.execute(query)]
