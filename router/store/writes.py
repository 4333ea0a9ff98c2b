"""Writes beside a webhook's (router/store/group.py): delivery ids, heartbeats, storms, holds."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from router.alert import Alert
from router.decide import Decision
from router.store import heartbeats, holds, storms
from router.store.database import Database
from router.store.ingest import Ingest, first_delivery
from router.store.policy import PLAIN, IngestPolicy
from router.store.schema import alerts


class AlertWrites(Database):
    def first_delivery(self, source: str, delivery_id: str) -> bool:
        """Record a sender's delivery id; False if it was seen before (a replay or retry),
        also by another replica at the same moment (the key's uniqueness decides)."""
        try:
            with self._tx() as conn:
                return first_delivery(conn, self.clock.now(), source, delivery_id)
        except IntegrityError:
            return False

    def end_storms(self) -> int:
        """Storms with no new alert for their window are over; their messages say so."""
        with self._tx() as conn:
            return storms.end_storms(conn, self.clock.now())

    def sync_heartbeats(self, wanted: dict[str, float]) -> None:
        """Every ``heartbeat:`` route has its timer (at start and on reload)."""
        self.ensure_schema()
        with self._tx() as conn:
            heartbeats.sync(conn, self.clock.now(), wanted)

    def heartbeat(self, heartbeat_id: int) -> heartbeats.Heartbeat | None:
        with self._read() as conn:
            return heartbeats.load(conn, heartbeat_id)

    def raise_heartbeat_alarm(
        self, heartbeat_id: int, alert: Alert, decisions: list[Decision]
    ) -> bool:
        """Store the "pipeline silent" alert if the heartbeat is still overdue; True if so.

        Checked again inside the transaction: an arrival since the timer came due
        wins, and an alarm is raised once.
        """
        with self._tx() as conn:
            now = self.clock.now()
            beat = heartbeats.load(conn, heartbeat_id)
            if beat is None or beat.alarm_alert_id is not None or beat.due_at > now:
                return False
            Ingest(conn, now).run([(alert, decisions)])
            alert_id = conn.execute(
                sa.select(alerts.c.id).where(
                    alerts.c.source == alert.source, alerts.c.fingerprint == alert.fingerprint
                )
            ).scalar_one()
            heartbeats.mark_alarm(conn, heartbeat_id, int(alert_id), now)
            return True

    def release_hold(
        self,
        hold_id: int,
        decide: Callable[[Alert], list[Decision]],
        policy: IngestPolicy = PLAIN,
    ) -> int:
        """A hold's time has come: its alerts still firing are decided again (``decide``,
        at the time now) and join their messages, or are held anew; the hold is gone.
        Returns how many alerts it had still firing."""
        with self._tx() as conn:
            taken = holds.take(conn, hold_id)
            if taken is None:
                return 0
            batch = [(alert_id, alert, decide(alert)) for alert_id, alert in taken]
            Ingest(conn, self.clock.now(), policy).release(batch)
            return len(batch)
