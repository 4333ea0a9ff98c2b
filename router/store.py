"""Durable state: alerts, Slack messages and the outbox, with SQLAlchemy Core.

One webhook request is one transaction: the alerts, their membership in Slack
messages and the outbox entries are written together before the 2xx. The
outbox has one row per Slack message; its ``version`` moves on with every
change to the message and the dispatcher marks a row done only for the version
it delivered, so changes made while Slack is away collapse into one edit.

Times are float seconds since the epoch, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from router.alert import Alert
from router.clock import Clock, SystemClock
from router.config import LEVEL_NAMES
from router.decide import Decision
from router.errors import StoreUnavailable

metadata = sa.MetaData()

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("fingerprint", sa.String(255), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("group_key", sa.Text, nullable=False),
    sa.Column("labels", sa.JSON, nullable=False),
    sa.Column("annotations", sa.JSON, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("url", sa.Text),
    sa.Column("source_severity", sa.Text),
    sa.Column("starts_at", sa.Float),
    sa.Column("ends_at", sa.Float),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("resolved_seen_at", sa.Float),
    sa.Column("repeats", sa.Integer, nullable=False, default=0),
    sa.Column("decisions", sa.JSON, nullable=False),
    sa.Column("raw", sa.JSON, nullable=False),
    sa.UniqueConstraint("source", "fingerprint", name="uq_alerts_identity"),
)
sa.Index("ix_alerts_updated", alerts.c.updated_at)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("group_key", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("route", sa.Text),
    sa.Column("runbook_key", sa.Text, nullable=False),
    sa.Column("runbook_id", sa.String(32)),
    sa.Column("runbook_url", sa.Text),
    sa.Column("runbook_title", sa.Text),
    sa.Column("runbook_reason", sa.Text),
    sa.Column("level", sa.String(8), nullable=False),
    sa.Column("slack_channel", sa.Text),
    sa.Column("slack_ts", sa.Text),
    sa.Column("version", sa.Integer, nullable=False, default=1),
    sa.Column("closed", sa.Boolean, nullable=False, default=False),
    sa.Column("resolved_at", sa.Float),
    sa.Column("resolve_notified", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)
# At most one open message per (group, channel, runbook).
sa.Index(
    "uq_messages_open_key",
    messages.c.key,
    unique=True,
    sqlite_where=sa.text("closed = 0"),
    postgresql_where=sa.text("closed = false"),
)

members = sa.Table(
    "message_alerts",
    metadata,
    sa.Column("message_id", sa.ForeignKey("messages.id"), primary_key=True),
    sa.Column("alert_id", sa.ForeignKey("alerts.id"), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("level", sa.String(8), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("starts_at", sa.Float),
    sa.Column("ends_at", sa.Float),
    sa.Column("added_at", sa.Float, nullable=False),
)
sa.Index("ix_message_alerts_alert", members.c.alert_id)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("ref", sa.Integer, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("done_version", sa.Integer, nullable=False, default=0),
    sa.Column("state", sa.String(16), nullable=False),  # pending | done | dead
    sa.Column("due_at", sa.Float, nullable=False),
    sa.Column("enqueued_at", sa.Float, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("reason", sa.String(32)),
    sa.Column("last_error", sa.Text),
    sa.Column("lease_owner", sa.String(64)),
    sa.Column("lease_until", sa.Float),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.UniqueConstraint("kind", "ref", name="uq_outbox_target"),
)
sa.Index("ix_outbox_due", outbox.c.state, outbox.c.due_at)

SLACK_MESSAGE = "slack_message"

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

    @property
    def firing(self) -> list[Member]:
        return [m for m in self.members if m.status == "firing"]


def _ts(value: Any) -> float | None:
    return value.timestamp() if value is not None else None


def message_key(alert: Alert, decision: Decision) -> str:
    runbook = decision.runbook.key if decision.runbook else "-"
    return json.dumps([alert.source, alert.group_key, decision.channel, runbook])


def _chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Store:
    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        self.engine = engine
        self.clock = clock or SystemClock()

    @classmethod
    def from_url(cls, url: str, clock: Clock | None = None) -> Store:
        return cls(make_engine(url), clock)

    @property
    def single_process(self) -> bool:
        """SQLite is one process's database: its leases can be dropped at start."""
        return self.engine.dialect.name == "sqlite"

    def create_schema(self) -> None:
        metadata.create_all(self.engine)

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise StoreUnavailable(f"database refused the write: {exc.orig}") from None

    def ping(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except OperationalError as exc:
            raise StoreUnavailable(f"database unreachable: {exc.orig}") from None

    # -- ingest -----------------------------------------------------------------

    def ingest(self, batch: Sequence[tuple[Alert, list[Decision]]]) -> IngestResult:
        """Store the alerts, their messages and outbox entries in one transaction."""
        for attempt in range(3):
            try:
                with self._tx() as conn:
                    return _Ingest(conn, self.clock.now()).run(batch)
            except IntegrityError:
                # Another replica opened the same message first; its row is there now.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    # -- dispatcher side --------------------------------------------------------

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
        with self.engine.connect() as conn:
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

    def load_message(self, message_id: int) -> MessageView | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(messages).where(messages.c.id == message_id)).first()
            if row is None:
                return None
            member_rows = conn.execute(
                sa.select(
                    members.c.status,
                    members.c.level,
                    members.c.reason,
                    members.c.starts_at,
                    members.c.ends_at,
                    alerts.c.fingerprint,
                    alerts.c.name,
                    alerts.c.labels,
                    alerts.c.annotations,
                    alerts.c.summary,
                    alerts.c.url,
                )
                .join(alerts, alerts.c.id == members.c.alert_id)
                .where(members.c.message_id == message_id)
                .order_by(members.c.added_at, alerts.c.id)
            ).all()
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
                    starts_at=m.starts_at,
                    ends_at=m.ends_at,
                )
                for m in member_rows
            ],
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

    def outbox_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(outbox.c.state, sa.func.count()).group_by(outbox.c.state)
            ).all()
        return dict(rows)

    def recent_alerts(self, limit: int = 100) -> list[dict[str, Any]]:
        """Recent alerts with their decisions and the delivery state of their messages."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(alerts)
                .order_by(alerts.c.updated_at.desc(), alerts.c.id.desc())
                .limit(limit)
            ).all()
            ids = [r.id for r in rows]
            deliveries: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
            for chunk in _chunks(ids):
                for d in conn.execute(
                    sa.select(
                        members.c.alert_id,
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
                        }
                    )
        return [
            {
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


_UPDATE_MEMBER = members.update().where(
    members.c.message_id == sa.bindparam("b_message"),
    members.c.alert_id == sa.bindparam("b_alert"),
)
"""One alert's row in one message; run with many parameter sets."""


class _Ingest:
    """One request's writes: read what exists in a few queries, plan, then write in bulk.

    Statements are built once and run with many parameter sets (executemany), so a
    batch of a thousand alerts costs a handful of round trips, not thousands.
    """

    def __init__(self, conn: Connection, now: float) -> None:
        self.conn = conn
        self.now = now
        self.changed: set[int] = set()
        self.open_messages: dict[str, _Open] = {}
        self.membership: dict[tuple[int, int], str] = {}
        self.level_changes: dict[int, str] = {}

    def run(self, batch: Sequence[tuple[Alert, list[Decision]]]) -> IngestResult:
        # The last copy of an alert in one request wins.
        latest = {(a.source, a.fingerprint): (a, ds) for a, ds in batch}
        existing = self._existing_alerts([a for a, _ in latest.values()])
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
        member_inserts: list[dict[str, Any]] = []
        member_updates: list[dict[str, Any]] = []
        resolved_ids: dict[int, Alert] = {}
        for (alert, decisions, _previous), alert_id in zip(kept, ids, strict=True):
            if alert.status == "resolved":
                resolved_ids[alert_id] = alert
                continue
            for decision in decisions:
                self._join(alert, alert_id, decision, member_inserts, member_updates)
        if member_inserts:
            self.conn.execute(members.insert(), member_inserts)
        if member_updates:
            self.conn.execute(_UPDATE_MEMBER, member_updates)
        if self.level_changes:
            self.conn.execute(
                messages.update().where(messages.c.id == sa.bindparam("b_id")),
                [{"b_id": i, "level": lv} for i, lv in self.level_changes.items()],
            )
        self._resolve(resolved_ids)
        self._enqueue()
        return IngestResult(len(batch), len(self.changed), len(ignored))

    def _stale(self, alert: Alert, previous: _Seen) -> bool:
        return (
            alert.status == "firing"
            and previous.status == "resolved"
            and previous.starts_at == _ts(alert.starts_at)
            and previous.resolved_seen_at is not None
            and self.now - previous.resolved_seen_at < STALE_REDELIVERY_WINDOW
        )

    def _existing_alerts(self, batch: Iterable[Alert]) -> dict[tuple[str, str], _Seen]:
        by_source: dict[str, list[str]] = {}
        for a in batch:
            by_source.setdefault(a.source, []).append(a.fingerprint)
        found: dict[tuple[str, str], _Seen] = {}
        for source, fingerprints in by_source.items():
            for chunk in _chunks(fingerprints):
                for row in self.conn.execute(
                    sa.select(
                        alerts.c.id,
                        alerts.c.fingerprint,
                        alerts.c.status,
                        alerts.c.starts_at,
                        alerts.c.resolved_seen_at,
                    ).where(alerts.c.source == source, alerts.c.fingerprint.in_(chunk))
                ):
                    found[(source, row.fingerprint)] = _Seen(
                        row.id, row.status, row.starts_at, row.resolved_seen_at
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
                "source_severity": alert.source_severity,
                "starts_at": _ts(alert.starts_at),
                "ends_at": _ts(alert.ends_at),
                "updated_at": self.now,
                "decisions": [d.as_dict() for d in decisions],
                "raw": alert.raw,
                "resolved_seen_at": None,
            }
            if alert.status == "resolved":
                keep = previous is not None and previous.status == "resolved"
                row["resolved_seen_at"] = (
                    previous.resolved_seen_at if keep and previous else self.now
                )
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
                repeat = previous.status == alert.status and previous.starts_at == row["starts_at"]
                updates.append(row | {"b_id": previous.id, "b_inc": int(repeat)})
        new_ids = iter(
            self.conn.execute(
                alerts.insert().returning(alerts.c.id, sort_by_parameter_order=True), inserts
            )
            .scalars()
            .all()
            if inserts
            else []
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
        for chunk in _chunks(sorted(keys)):
            for row in self.conn.execute(
                sa.select(messages.c.id, messages.c.key, messages.c.level).where(
                    messages.c.key.in_(chunk), messages.c.closed.is_(False)
                )
            ):
                self.open_messages[row.key] = _Open(row.id, row.key, row.level)
        ids = [m.id for m in self.open_messages.values()]
        for chunk in _chunks(ids):
            for row in self.conn.execute(
                sa.select(members.c.message_id, members.c.alert_id, members.c.status).where(
                    members.c.message_id.in_(chunk)
                )
            ):
                self.membership[(row.message_id, row.alert_id)] = row.status

    def _open_message(self, alert: Alert, decision: Decision) -> _Open:
        key = message_key(alert, decision)
        message = self.open_messages.get(key)
        if message is not None:
            return message
        link = decision.runbook
        result = self.conn.execute(
            messages.insert().values(
                key=key,
                source=alert.source,
                group_key=alert.group_key,
                channel=decision.channel,
                route=decision.route,
                runbook_key=link.key if link else "-",
                runbook_id=link.runbook.id if link and link.runbook else None,
                runbook_url=link.url if link else None,
                runbook_title=link.title if link else None,
                runbook_reason=link.reason if link else None,
                level=decision.severity.level,
                version=0,
                closed=False,
                resolve_notified=False,
                created_at=self.now,
                updated_at=self.now,
            )
        )
        message = _Open(_pk(result), key, decision.severity.level)
        self.open_messages[key] = message
        return message

    def _join(
        self,
        alert: Alert,
        alert_id: int,
        decision: Decision,
        inserts: list[dict[str, Any]],
        updates: list[dict[str, Any]],
    ) -> None:
        message = self._open_message(alert, decision)
        state = self.membership.get((message.id, alert_id))
        if state == "firing":
            return
        row = {
            "status": "firing",
            "level": decision.severity.level,
            "reason": decision.severity.reason,
            "starts_at": _ts(alert.starts_at),
            "ends_at": None,
        }
        if state is None:
            inserts.append(
                row | {"message_id": message.id, "alert_id": alert_id, "added_at": self.now}
            )
        else:
            updates.append(row | {"b_message": message.id, "b_alert": alert_id})
        self.membership[(message.id, alert_id)] = "firing"
        level = decision.severity.level
        if LEVEL_NAMES.index(level) < LEVEL_NAMES.index(message.level):
            self.open_messages[message.key] = _Open(message.id, message.key, level)
            self.level_changes[message.id] = level
        self.changed.add(message.id)

    def _resolve(self, resolved: dict[int, Alert]) -> None:
        """Mark each resolved alert resolved in the open messages that list it as firing."""
        updates: list[dict[str, Any]] = []
        for chunk in _chunks(list(resolved)):
            for message_id, alert_id in self.conn.execute(
                sa.select(members.c.message_id, members.c.alert_id)
                .join(messages, messages.c.id == members.c.message_id)
                .where(
                    members.c.alert_id.in_(chunk),
                    members.c.status == "firing",
                    messages.c.closed.is_(False),
                )
            ):
                ends_at = _ts(resolved[alert_id].ends_at) or self.now
                updates.append(
                    {
                        "b_message": message_id,
                        "b_alert": alert_id,
                        "status": "resolved",
                        "ends_at": ends_at,
                    }
                )
                self.membership[(message_id, alert_id)] = "resolved"
                self.changed.add(message_id)
        if updates:
            self.conn.execute(_UPDATE_MEMBER, updates)

    def _enqueue(self) -> None:
        """Move every changed message to its next version and (re)arm its outbox entry."""
        if not self.changed:
            return
        ids = sorted(self.changed)
        still_firing = {
            row.message_id
            for chunk in _chunks(ids)
            for row in self.conn.execute(
                sa.select(members.c.message_id)
                .where(members.c.message_id.in_(chunk), members.c.status == "firing")
                .distinct()
            )
        }
        self.conn.execute(
            messages.update()
            .where(messages.c.id == sa.bindparam("b_id"))
            .values(version=messages.c.version + 1),
            [
                {
                    "b_id": i,
                    "updated_at": self.now,
                    "closed": i not in still_firing,
                    "resolved_at": None if i in still_firing else self.now,
                }
                for i in ids
            ],
        )
        versions: dict[int, int] = {}
        queued: dict[int, str] = {}
        for chunk in _chunks(ids):
            versions.update(
                self.conn.execute(
                    sa.select(messages.c.id, messages.c.version).where(messages.c.id.in_(chunk))
                ).all()
            )
            queued.update(
                self.conn.execute(
                    sa.select(outbox.c.ref, outbox.c.state).where(
                        outbox.c.kind == SLACK_MESSAGE, outbox.c.ref.in_(chunk)
                    )
                ).all()
            )
        inserts = [
            {
                "kind": SLACK_MESSAGE,
                "ref": i,
                "version": versions[i],
                "done_version": 0,
                "state": "pending",
                "due_at": self.now,
                "enqueued_at": self.now,
                "attempts": 0,
                "created_at": self.now,
                "updated_at": self.now,
            }
            for i in ids
            if i not in queued
        ]
        if inserts:
            self.conn.execute(outbox.insert(), inserts)
        # Delivered entries are armed again now. So are dead letters: a permanent
        # error such as not_in_channel is often fixed while the incident goes on,
        # and if it is not, the entry is dead again after one call. A pending entry
        # keeps its backoff and takes the new version.
        rearm = [
            {"b_ref": i, "version": versions[i]} for i in ids if queued.get(i) in ("done", "dead")
        ]
        bump = [{"b_ref": i, "version": versions[i]} for i in ids if queued.get(i) == "pending"]
        target = sa.and_(outbox.c.kind == SLACK_MESSAGE, outbox.c.ref == sa.bindparam("b_ref"))
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


@dataclass(frozen=True)
class _Seen:
    id: int
    status: str
    starts_at: float | None
    resolved_seen_at: float | None = None


@dataclass(frozen=True)
class _Open:
    id: int
    key: str
    level: str


def _pk(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None, "INSERT returned no primary key"
    return int(key[0])


def make_engine(url: str) -> Engine:
    """An engine for ``sqlite:///path`` or ``postgresql://...`` (psycopg 3)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's "begin" below decide
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # a 2xx survives a power cut, too
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Take the write lock up front: no deadlock upgrading a read to a write.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
