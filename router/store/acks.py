"""Acknowledgements and button work: what people do to a message in Slack."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from router import storable
from router.records import ACTION, Action
from router.store.database import Database
from router.store.ingest import first_delivery
from router.store.outbox import entries
from router.store.schema import OPEN, SLACK_ACTION, actions, alerts, members, messages, pk

SLACK_EVENT = "slack-event"
"""The deliveries' source for Slack's Events API event ids."""


def queue_action(conn: Connection, now: float, action: Action) -> int:
    """A button's work and its outbox entry, in the caller's transaction."""
    data = storable.clean(action.model_dump(mode="json", exclude={"kind"}))
    action_id = pk(
        conn.execute(actions.insert().values(kind=action.kind, data=data, created_at=now))
    )
    entries.arm(conn, now, SLACK_ACTION, {action_id: None})
    return action_id


class Acknowledgements(Database):
    def enqueue_action(self, action: Action) -> int:
        """Store a button's work and its outbox entry in one transaction."""
        with self._tx() as conn:
            return queue_action(conn, self.clock.now(), action)

    def load_action(self, action_id: int) -> Action | None:
        with self._read() as conn:
            row = conn.execute(sa.select(actions).where(actions.c.id == action_id)).first()
        return ACTION.validate_python({**row.data, "kind": row.kind}) if row is not None else None

    def acknowledge(self, message_id: int, by: str) -> None:
        """Mark the message's firing PagerDuty alerts acknowledged and re-render it."""
        with self._tx() as conn:
            alert_ids = sa.select(alerts.c.id).where(alerts.c.pagerduty_incident.is_not(None))
            conn.execute(
                members.update()
                .where(
                    members.c.message_id == message_id,
                    members.c.status == "firing",
                    members.c.alert_id.in_(alert_ids),
                )
                .values(ack_by=storable.text(by))
            )
            entries.move_messages(conn, self.clock.now(), [message_id])
            entries.wake_clock(conn, self.clock.now(), [message_id])

    def acknowledge_in_slack(
        self, slack_channel: str, slack_ts: str, user_id: str, event_id: str | None = None
    ) -> bool | None:
        """A Slack user acknowledged one of our messages (a reaction): its firing alerts.

        True if anything changed; acknowledging twice, or someone else's message, is a no-op.
        ``event_id``, Slack's, is recorded in the same transaction: an event seen before
        changes nothing (None), and one that could not be stored is not taken for seen.
        Another replica taking the same event at the same moment takes it alone.
        """
        try:
            with self._tx() as conn:
                if event_id is not None and not first_delivery(
                    conn, self.clock.now(), SLACK_EVENT, event_id
                ):
                    return None
                message_id = conn.execute(
                    sa.select(messages.c.id).where(
                        messages.c.slack_channel == slack_channel,
                        messages.c.slack_ts == slack_ts,
                        OPEN,
                    )
                ).scalar()
                return message_id is not None and self._ack(conn, int(message_id), user_id)
        except IntegrityError:  # the event id, stored by the other replica first
            return None

    def acknowledge_message(self, message_id: int, user_id: str) -> bool:
        """The Acknowledge button, for alerts with no PagerDuty incident behind them."""
        with self._tx() as conn:
            return self._ack(conn, message_id, user_id)

    def _ack(self, conn: Connection, message_id: int, user_id: str) -> bool:
        now = self.clock.now()
        changed = conn.execute(
            members.update()
            .where(
                members.c.message_id == message_id,
                members.c.status == "firing",
                members.c.ack_by.is_(None),
            )
            .values(ack_by=f"slack:{user_id}", ack_at=now)
        ).rowcount
        if changed:
            entries.move_messages(conn, now, [message_id])
            entries.wake_clock(conn, now, [message_id])
        return bool(changed)
