"""Durable state: alerts, Slack messages and the outbox, with SQLAlchemy Core.

One webhook request is one transaction: the alerts, their membership in Slack
messages and the outbox entries are written together before the 2xx. The
outbox has one row per Slack message; its ``version`` moves on with every
change to the message and the dispatcher marks a row done only for the version
it delivered, so changes made while Slack is away collapse into one edit.

Times are float seconds since the epoch, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from router import storable
from router.alert import Alert
from router.clock import Clock, SystemClock
from router.decide import Decision
from router.errors import StoreUnavailable
from router.store import heartbeats, migrate
from router.store.ingest import (
    STALE_REDELIVERY_WINDOW,
    Ingest,
    IngestResult,
    message_key,
)
from router.store.schema import (
    HEARTBEAT,
    PAGERDUTY_EVENT,
    PAGERDUTY_NOTE,
    READ_ONLY,
    SLACK_ACTION,
    SLACK_MESSAGE,
    actions,
    alerts,
    chunks,
    deliveries,
    make_engine,
    members,
    messages,
    outbox,
    pk,
)
from router.storm import StormPolicy

INGEST_ATTEMPTS = 8  # replicas racing on the same alerts retry; losing 8 times is unheard of

__all__ = [
    "HEARTBEAT",
    "PAGERDUTY_EVENT",
    "PAGERDUTY_NOTE",
    "SLACK_ACTION",
    "SLACK_MESSAGE",
    "STALE_REDELIVERY_WINDOW",
    "IngestResult",
    "Member",
    "MessageView",
    "OutboxItem",
    "Store",
    "make_engine",
    "message_key",
]


@dataclass(frozen=True)
class OutboxItem:
    id: int
    kind: str
    ref: int
    version: int
    attempts: int
    enqueued_at: float


@dataclass(frozen=True)
class Member:
    fingerprint: str
    name: str
    status: str
    level: str
    reason: str
    labels: dict[str, str]
    annotations: dict[str, str]
    summary: str
    url: str | None
    starts_at: float | None
    ends_at: float | None
    links: dict[str, str] = field(default_factory=dict)
    value: str = ""
    ack_by: str | None = None
    ack_at: float | None = None
    pagerduty_incident: str | None = None
    runbook_id: str | None = None
    runbook_url: str | None = None
    runbook_title: str | None = None
    """The alert's own runbook (its first routing decision): storms count by it."""
    """None: not acknowledged; "": acknowledged by someone unknown."""


@dataclass(frozen=True)
class MessageView:
    """Everything the renderer needs about one Slack message."""

    id: int
    source: str
    group_key: str
    channel: str
    route: str | None
    runbook_id: str | None
    runbook_url: str | None
    runbook_title: str | None
    runbook_reason: str | None
    level: str
    version: int
    closed: bool
    created_at: float
    resolved_at: float | None
    resolve_notified: bool
    slack_channel: str | None
    slack_ts: str | None
    members: list[Member] = field(default_factory=list)
    kind: str = "group"
    """group: alerts of one group, channel and runbook; storm: one source's storm;
    pointer: a channel's alerts that joined a storm, pointing at its message."""
    storm_within: float | None = None
    storm_ended_at: float | None = None
    parent: MessageView | None = None
    """A pointer's storm message (without its members)."""

    @property
    def firing(self) -> list[Member]:
        return [m for m in self.members if m.status == "firing"]


class Store:
    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        self.engine = engine
        self.clock = clock or SystemClock()
        self._schema_ready = False
        # SQLite has one writer at a time; waiting here is a queue, while SQLite's own
        # busy handler waits by sleeping in growing steps (tens of ms under load).
        self._write_lock: AbstractContextManager[Any] = (
            threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
        )

    @classmethod
    def from_url(cls, url: str, clock: Clock | None = None) -> Store:
        return cls(make_engine(url), clock)

    @property
    def single_process(self) -> bool:
        """SQLite is one process's database: its leases can be dropped at start."""
        return self.engine.dialect.name == "sqlite"

    def ensure_schema(self) -> None:
        """Create the schema once; until that succeeds, every caller tries again."""
        if not self._schema_ready:
            self.create_schema()
            self._schema_ready = True

    def create_schema(self) -> None:
        """Migrate the schema to the newest revision (``migrate``; at start too).

        A database migrated by a newer router is refused (``SchemaTooNew``).
        """
        with self._tx() as conn:
            migrate.upgrade(conn)

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """A write transaction; a database that is down or refuses is StoreUnavailable."""
        try:
            with self._write_lock, self.engine.begin() as conn:
                yield conn
        except (OperationalError, InterfaceError) as exc:
            raise StoreUnavailable(f"database refused the write: {exc.orig}") from None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A read: on SQLite a deferred transaction, which never waits for the writer."""
        try:
            with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
                yield conn
        except (OperationalError, InterfaceError) as exc:
            raise StoreUnavailable(f"database unreachable: {exc.orig}") from None

    def first_delivery(self, source: str, delivery_id: str) -> bool:
        """Record a sender's delivery id; False if it was seen before (a replay or retry)."""
        with self._tx() as conn:
            return Ingest(conn, self.clock.now())._first_delivery(source, delivery_id[:200])

    def ping(self) -> None:
        self.ensure_schema()
        with self._read() as conn:
            conn.execute(sa.text("SELECT 1"))

    # -- ingest -----------------------------------------------------------------

    def ingest(
        self,
        batch: Sequence[tuple[Alert, list[Decision]]],
        *,
        delivery: tuple[str, str] | None = None,
        pagerduty_notes: bool = False,
        storm: StormPolicy | None = None,
    ) -> IngestResult:
        """Store the alerts, their messages and outbox entries in one transaction.

        ``delivery`` is (source, the sender's delivery id): a retry of a delivery
        already stored changes nothing. ``pagerduty_notes`` queues a runbook note
        for each PagerDuty incident routed to a runbook.
        """
        self.ensure_schema()
        for attempt in range(INGEST_ATTEMPTS):
            try:
                with self._tx() as conn:
                    ingest = Ingest(
                        conn, self.clock.now(), pagerduty_notes=pagerduty_notes, storm=storm
                    )
                    return ingest.run(batch, delivery)
            except IntegrityError:
                # Another replica stored the same alert or message first; its row is
                # there now, so the next attempt updates it instead.
                if attempt == INGEST_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))  # noqa: S311
        raise AssertionError("unreachable")

    # -- heartbeats ----------------------------------------------------------------

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

    # -- dispatcher side --------------------------------------------------------

    def end_storms(self) -> int:
        """Storms with no new alert for their window are over; their messages say so."""
        now = self.clock.now()
        with self._tx() as conn:
            ended = list(
                conn.execute(
                    sa.select(messages.c.id).where(
                        messages.c.kind == "storm",
                        messages.c.storm_ended_at.is_(None),
                        messages.c.storm_last_arrival + messages.c.storm_within < now,
                    )
                ).scalars()
            )
            if ended:
                conn.execute(
                    messages.update().where(messages.c.id.in_(ended)).values(storm_ended_at=now)
                )
                Ingest(conn, now).touch(ended)
        return len(ended)

    def release_leases(self) -> None:
        with self._tx() as conn:
            conn.execute(
                outbox.update()
                .where(outbox.c.lease_owner.is_not(None))
                .values(lease_owner=None, lease_until=None)
            )

    def claim(self, owner: str, lease_seconds: float, limit: int = 20) -> list[OutboxItem]:
        now = self.clock.now()
        with self._tx() as conn:
            rows = conn.execute(
                sa.select(outbox)
                .where(
                    outbox.c.state == "pending",
                    outbox.c.due_at <= now,
                    sa.or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now),
                )
                .order_by(outbox.c.due_at, outbox.c.id)
                .limit(limit)
                # Replicas skip each other's rows instead of queueing on them (PostgreSQL).
                .with_for_update(skip_locked=True)
            ).all()
            claimed = []
            for row in rows:
                taken = conn.execute(
                    outbox.update()
                    .where(
                        outbox.c.id == row.id,
                        sa.or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now),
                    )
                    .values(lease_owner=owner, lease_until=now + lease_seconds)
                ).rowcount
                if taken:
                    claimed.append(
                        OutboxItem(
                            row.id, row.kind, row.ref, row.version, row.attempts, row.enqueued_at
                        )
                    )
            return claimed

    def next_due(self) -> float | None:
        with self._read() as conn:
            value = conn.execute(
                sa.select(sa.func.min(outbox.c.due_at)).where(outbox.c.state == "pending")
            ).scalar()
        return float(value) if value is not None else None

    def complete(self, item: OutboxItem, delivered_version: int) -> None:
        """Done for the version delivered; pending again if a newer change came in."""
        now = self.clock.now()
        with self._tx() as conn:
            conn.execute(
                outbox.update()
                .where(outbox.c.id == item.id)
                .values(
                    done_version=delivered_version,
                    state=sa.case((outbox.c.version > delivered_version, "pending"), else_="done"),
                    enqueued_at=sa.case(
                        (outbox.c.version > delivered_version, now), else_=outbox.c.enqueued_at
                    ),
                    attempts=0,
                    reason=None,
                    last_error=None,
                    lease_owner=None,
                    lease_until=None,
                    updated_at=now,
                )
            )

    def retry_later(self, item: OutboxItem, due_at: float, reason: str, error: str) -> None:
        self._fail(item, "pending", due_at, reason, error)

    def defer(self, item: OutboxItem, due_at: float) -> None:
        """Not now (the channel's pace): back to pending, no attempt counted, no error."""
        with self._tx() as conn:
            conn.execute(
                outbox.update()
                .where(outbox.c.id == item.id)
                .values(
                    due_at=due_at, lease_owner=None, lease_until=None, updated_at=self.clock.now()
                )
            )

    def dead(self, item: OutboxItem, reason: str, error: str) -> None:
        self._fail(item, "dead", self.clock.now(), reason, error)

    def _fail(self, item: OutboxItem, state: str, due_at: float, reason: str, error: str) -> None:
        with self._tx() as conn:
            conn.execute(
                outbox.update()
                .where(outbox.c.id == item.id)
                .values(
                    state=state,
                    due_at=due_at,
                    attempts=outbox.c.attempts + 1,
                    reason=reason,
                    last_error=error[:1000],
                    lease_owner=None,
                    lease_until=None,
                    updated_at=self.clock.now(),
                )
            )

    def load_message(self, message_id: int, *, with_members: bool = True) -> MessageView | None:
        with self._read() as conn:
            row = conn.execute(sa.select(messages).where(messages.c.id == message_id)).first()
            if row is None:
                return None
            if not with_members:
                return self._view(row, [], None)
            member_rows = conn.execute(
                sa.select(
                    members.c.status,
                    members.c.level,
                    members.c.reason,
                    members.c.starts_at,
                    members.c.ends_at,
                    members.c.ack_by,
                    members.c.ack_at,
                    alerts.c.fingerprint,
                    alerts.c.name,
                    alerts.c.labels,
                    alerts.c.annotations,
                    alerts.c.summary,
                    alerts.c.url,
                    alerts.c.links,
                    alerts.c.value,
                    alerts.c.pagerduty_incident,
                    alerts.c.decisions,
                )
                .join(alerts, alerts.c.id == members.c.alert_id)
                .where(members.c.message_id == message_id)
                .order_by(members.c.added_at, alerts.c.id)
            ).all()
        # After the read above is over: one connection at a time (SQLite's lock).
        parent = None
        if row.parent_id is not None:
            parent = self.load_message(row.parent_id, with_members=False)
        return self._view(row, member_rows, parent)

    @staticmethod
    def _view(row: Any, member_rows: Sequence[Any], parent: MessageView | None) -> MessageView:
        return MessageView(
            id=row.id,
            source=row.source,
            group_key=row.group_key,
            channel=row.channel,
            route=row.route,
            runbook_id=row.runbook_id,
            runbook_url=row.runbook_url,
            runbook_title=row.runbook_title,
            runbook_reason=row.runbook_reason,
            level=row.level,
            version=row.version,
            closed=row.closed,
            created_at=row.created_at,
            resolved_at=row.resolved_at,
            resolve_notified=row.resolve_notified,
            slack_channel=row.slack_channel,
            slack_ts=row.slack_ts,
            kind=row.kind,
            storm_within=row.storm_within,
            storm_ended_at=row.storm_ended_at,
            parent=parent,
            members=[
                Member(
                    fingerprint=m.fingerprint,
                    name=m.name,
                    status=m.status,
                    level=m.level,
                    reason=m.reason,
                    labels=m.labels,
                    annotations=m.annotations,
                    summary=m.summary,
                    url=m.url,
                    links=m.links or {},
                    value=m.value or "",
                    starts_at=m.starts_at,
                    ends_at=m.ends_at,
                    ack_by=m.ack_by,
                    ack_at=m.ack_at,
                    pagerduty_incident=m.pagerduty_incident,
                    runbook_id=(m.decisions or [{}])[0].get("runbook"),
                    runbook_url=(m.decisions or [{}])[0].get("runbook_url"),
                    runbook_title=(m.decisions or [{}])[0].get("runbook_title"),
                )
                for m in member_rows
            ],
        )

    def find_message(self, slack_channel: str, slack_ts: str) -> MessageView | None:
        """The message Slack knows by channel ID and ts (from a signed interaction)."""
        with self._read() as conn:
            message_id = conn.execute(
                sa.select(messages.c.id).where(
                    messages.c.slack_channel == slack_channel, messages.c.slack_ts == slack_ts
                )
            ).scalar()
        return self.load_message(int(message_id)) if message_id is not None else None

    def enqueue_action(self, kind: str, data: dict[str, Any]) -> int:
        """Store a button's work and its outbox entry in one transaction."""
        with self._tx() as conn:
            action_id = pk(
                conn.execute(
                    actions.insert().values(kind=kind, data=data, created_at=self.clock.now())
                )
            )
            Ingest(conn, self.clock.now()).arm(SLACK_ACTION, [action_id])
        return action_id

    def load_action(self, action_id: int) -> dict[str, Any] | None:
        with self._read() as conn:
            row = conn.execute(sa.select(actions).where(actions.c.id == action_id)).first()
        return {"kind": row.kind, **row.data} if row is not None else None

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
                .values(ack_by=by)
            )
            Ingest(conn, self.clock.now()).touch([message_id])

    def acknowledge_in_slack(self, slack_channel: str, slack_ts: str, user_id: str) -> bool:
        """A Slack user acknowledged one of our messages (a reaction): its firing alerts.

        True if anything changed; acknowledging twice, or someone else's message, is a no-op.
        """
        with self._tx() as conn:
            message_id = conn.execute(
                sa.select(messages.c.id).where(
                    messages.c.slack_channel == slack_channel,
                    messages.c.slack_ts == slack_ts,
                    messages.c.closed.is_(False),
                )
            ).scalar()
            return message_id is not None and self._ack(conn, int(message_id), user_id)

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
            Ingest(conn, now).touch([message_id])
        return bool(changed)

    def load_alert(self, alert_id: int) -> dict[str, Any] | None:
        """One stored alert with its decisions, for the PagerDuty outbox entries."""
        with self._read() as conn:
            row = conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).first()
        return dict(row._mapping) if row is not None else None

    def prune_deliveries(self, older_than: float) -> int:
        """Forget delivery ids older than this (senders stop retrying long before)."""
        with self._tx() as conn:
            return int(
                conn.execute(
                    deliveries.delete().where(deliveries.c.received_at < older_than)
                ).rowcount
            )

    def record_posted(self, message_id: int, channel_id: str, ts: str) -> None:
        with self._tx() as conn:
            conn.execute(
                messages.update()
                .where(messages.c.id == message_id)
                .values(slack_channel=channel_id, slack_ts=ts)
            )

    def record_resolve_notified(self, message_id: int) -> None:
        with self._tx() as conn:
            conn.execute(
                messages.update().where(messages.c.id == message_id).values(resolve_notified=True)
            )

    # -- reading ------------------------------------------------------------------

    def alert_detail(self, alert_id: int) -> dict[str, Any] | None:
        """One alert as stored (raw payload included), with its messages' delivery state."""
        row = self.load_alert(alert_id)
        if row is None:
            return None
        deliveries: list[dict[str, Any]] = next(
            (a["deliveries"] for a in self.recent_alerts(only=[alert_id])), []
        )
        # Whatever was stored (also by a release before values were made storable)
        # renders: NaN or a lone surrogate in an old row becomes text here.
        cleaned: dict[str, Any] = storable.clean({**row, "deliveries": deliveries})
        return cleaned

    def outbox_counts(self) -> dict[str, int]:
        with self._read() as conn:
            rows = conn.execute(
                sa.select(outbox.c.state, sa.func.count()).group_by(outbox.c.state)
            ).all()
        return dict(rows)

    def recent_alerts(
        self, limit: int = 100, only: Sequence[int] | None = None
    ) -> list[dict[str, Any]]:
        """Recent alerts with their decisions and the delivery state of their messages."""
        query = sa.select(alerts).order_by(alerts.c.updated_at.desc(), alerts.c.id.desc())
        if only is not None:
            query = query.where(alerts.c.id.in_(only))
        with self._read() as conn:
            rows = conn.execute(query.limit(limit)).all()
            ids = [r.id for r in rows]
            deliveries: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
            for chunk in chunks(ids):
                for d in conn.execute(
                    sa.select(
                        members.c.alert_id,
                        members.c.ack_by,
                        members.c.ack_at,
                        messages.c.id,
                        messages.c.channel,
                        messages.c.slack_ts,
                        outbox.c.state,
                        outbox.c.reason,
                        outbox.c.attempts,
                        outbox.c.last_error,
                    )
                    .join(messages, messages.c.id == members.c.message_id)
                    .outerjoin(
                        outbox,
                        sa.and_(outbox.c.ref == messages.c.id, outbox.c.kind == SLACK_MESSAGE),
                    )
                    .where(members.c.alert_id.in_(chunk))
                ).all():
                    deliveries[d.alert_id].append(
                        {
                            "message": d.id,
                            "channel": d.channel,
                            "slack_ts": d.slack_ts,
                            "state": d.state,
                            "reason": d.reason,
                            "attempts": d.attempts,
                            "last_error": d.last_error,
                            "acknowledged_by": d.ack_by,
                            "acknowledged_at": d.ack_at,
                        }
                    )
        return [
            {
                "id": r.id,
                "source": r.source,
                "fingerprint": r.fingerprint,
                "name": r.name,
                "status": r.status,
                "labels": r.labels,
                "summary": r.summary,
                "received_at": r.received_at,
                "updated_at": r.updated_at,
                "repeats": r.repeats,
                "decisions": r.decisions,
                "deliveries": deliveries[r.id],
            }
            for r in rows
        ]
