"""Storms in the store: counting arrivals, the storm message, pointers, and the end.

The policy is router/storm.py. When ``alerts`` alerts from one source begin
firing within ``within`` seconds, the ones less severe than the storm are listed
in one storm message instead of each group's; each channel they would have
gone to gets one pointer message. A storm with no new alert for ``within`` ends.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from router.alert import Alert
from router.decide import Decision
from router.severity import Severity
from router.store.outbox import entries
from router.store.plan import Membership, OpenMessage, Plan
from router.store.policy import PLAIN, IngestPolicy
from router.store.schema import OPEN, STORM, alerts, chunks, members, messages
from router.storm import StormPolicy


def end_storms(conn: Connection, now: float) -> int:
    """Storms with no new alert for their window are over; their messages say so."""
    ended = list(
        conn.execute(
            sa.select(messages.c.id).where(
                STORM,
                messages.c.storm_ended_at.is_(None),
                messages.c.storm_last_arrival + messages.c.storm_within < now,
            )
        ).scalars()
    )
    if ended:
        conn.execute(messages.update().where(messages.c.id.in_(ended)).values(storm_ended_at=now))
        entries.move_messages(conn, now, ended)
    return len(ended)


class StormPlan(Plan):
    """A Plan that knows the storm policy: which arrivals fold into a storm message."""

    def __init__(
        self,
        conn: Connection,
        now: float,
        policy: IngestPolicy = PLAIN,
    ) -> None:
        super().__init__(conn, now, policy.first_look)
        self.storm = policy.storm

    def _recent(self, source: str, policy: StormPolicy) -> sa.Select[tuple[int, float | None]]:
        """Alerts from ``source`` that began firing within the storm window (and still fire)."""
        return sa.select(alerts.c.id, alerts.c.starts_at).where(
            alerts.c.source == source,
            alerts.c.status == "firing",
            alerts.c.fired_at >= self.now - policy.within,
        )

    def storms(
        self, sources: set[str], arrivals: set[int]
    ) -> dict[str, tuple[OpenMessage, Decision]]:
        """The open storm message of each source whose arrivals make a storm now.

        A storm that begins now lists every alert it counted, also those that
        arrived before it began (they keep their own messages too), so its count
        is the storm's size.
        """
        policy = self.storm
        if policy is None:
            return {}
        found = {}
        for source in sorted(sources):
            recent = self._recent(source, policy).subquery()
            count = self.conn.execute(sa.select(sa.func.count()).select_from(recent)).scalar_one()
            if count < policy.alerts:
                continue
            severity = Severity(policy.level, "", policy.reason(count, source))
            decision = Decision("storm", policy.channel, severity, None)
            message, new = self._storm_message(source, policy)
            if new:
                self._fold_earlier(message, source, policy, severity, arrivals)
            found[source] = (message, decision)
        return found

    def _fold_earlier(
        self,
        message: OpenMessage,
        source: str,
        policy: StormPolicy,
        severity: Severity,
        skip: set[int],
    ) -> None:
        """List the alerts counted before the storm began in its message."""
        for row in self.conn.execute(self._recent(source, policy)).all():
            if row.id in skip:
                continue
            self.add_member(
                message.id,
                row.id,
                {
                    "status": "firing",
                    "level": severity.level,
                    "reason": severity.reason,
                    "ack_by": None,
                    "starts_at": row.starts_at,
                },
            )
            self.membership[(message.id, row.id)] = Membership(
                "firing", severity.level, severity.reason, None
            )
            self.fired(message.id, severity.level)
            self.changed.add(message.id)

    def pointer(self, storm: OpenMessage, alert: Alert, decision: Decision) -> OpenMessage:
        """The one message in a channel that says its alerts joined the storm."""
        key = json.dumps(["pointer", storm.id, decision.channel])
        if (message := self.open_messages.get(key)) is not None:
            return message
        row = self.conn.execute(sa.select(messages.c.id).where(messages.c.key == key, OPEN)).first()
        if row is not None:
            self.open_messages[key] = OpenMessage(row.id, key)
            self.load_membership()
            return self.open_messages[key]
        return self.insert_message(
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

    def _storm_message(self, source: str, policy: StormPolicy) -> tuple[OpenMessage, bool]:
        row = self.conn.execute(
            sa.select(messages.c.id, messages.c.key).where(
                STORM,
                messages.c.source == source,
                OPEN,
                messages.c.storm_ended_at.is_(None),
            )
        ).first()
        if row is not None:
            self.conn.execute(
                messages.update().where(messages.c.id == row.id).values(storm_last_arrival=self.now)
            )
            return OpenMessage(row.id, row.key), False
        message = self.insert_message(
            json.dumps(["storm", source, self.now]),
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
        self.load_membership()
        return message, True

    def storm_members(self, ids: list[int]) -> set[int]:
        """Which of these alerts an open storm message lists as firing."""
        if self.storm is None:
            return set()
        found: set[int] = set()
        for chunk in chunks(ids):
            found |= set(
                self.conn.execute(
                    sa.select(members.c.alert_id)
                    .join(messages, messages.c.id == members.c.message_id)
                    .where(
                        members.c.alert_id.in_(chunk),
                        members.c.status == "firing",
                        STORM,
                        OPEN,
                    )
                ).scalars()
            )
        return found
