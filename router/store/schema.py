"""The tables, and the engine for SQLite or PostgreSQL.

Times are float seconds since the epoch, the same on SQLite and PostgreSQL.
A change here needs its Alembic revision in router/store/migrations/versions
(tests/store/test_migrate.py fails until the revisions build exactly these tables).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from router.store.kinds import OutboxKind

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
    sa.Column("links", sa.JSON),  # kind -> URL: dashboard, panel, silence, monitor, ...
    sa.Column("value", sa.Text),  # the measured value(s), as the source words them
    sa.Column("source_severity", sa.Text),
    sa.Column("starts_at", sa.Float),
    sa.Column("ends_at", sa.Float),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("resolved_seen_at", sa.Float),
    sa.Column("pagerduty_incident", sa.String(64)),
    sa.Column("fired_at", sa.Float),  # when it last began firing: storms count these
    sa.Column("repeats", sa.Integer, nullable=False, default=0),
    sa.Column("decisions", sa.JSON, nullable=False),
    sa.Column("raw", sa.JSON, nullable=False),
    # As Alertmanager last said (reconciling, or a silence made from Slack): the
    # silences muting it, the alerts inhibiting it (by name), when it last listed it.
    sa.Column("silenced_by", sa.JSON),
    sa.Column("inhibited_by", sa.JSON),
    sa.Column("mirrored_at", sa.Float),
    sa.UniqueConstraint("source", "fingerprint", name="uq_alerts_identity"),
)
sa.Index("ix_alerts_updated", alerts.c.updated_at)
sa.Index("ix_alerts_status_updated", alerts.c.status, alerts.c.updated_at)  # /alerts: firing now
# A source's arrivals in the storm window, counted from the index alone (status included).
sa.Index("ix_alerts_fired", alerts.c.source, alerts.c.fired_at, alerts.c.status)

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
    sa.Column("kind", sa.String(16), nullable=False, default="group"),  # group | storm | pointer
    sa.Column("parent_id", sa.Integer),  # a pointer's storm message (messages.id)
    sa.Column("storm_within", sa.Float),
    sa.Column("storm_last_arrival", sa.Float),
    sa.Column("storm_ended_at", sa.Float),
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

sa.Index("ix_messages_runbook", messages.c.runbook_id, messages.c.created_at)  # its use
STORM = messages.c.kind == sa.literal_column("'storm'")
"""A storm message, written as ``ix_messages_storm``'s predicate is (a bound parameter
would not let SQLite's planner use a partial index)."""
sa.Index(
    "ix_messages_storm",
    messages.c.source,
    sqlite_where=sa.text("kind = 'storm'"),
    postgresql_where=sa.text("kind = 'storm'"),
)

OPEN = messages.c.closed == sa.false()
"""A message still open, written as ``uq_messages_open_key``'s predicate is (``closed = 0``)
so that SQLite's planner uses that index; ``closed IS 0`` would scan every message."""

sa.Index("ix_messages_resolved", messages.c.resolved_at)  # retention: closed longest ago first
sa.Index(  # a storm's pointers (retention keeps a storm while one is left)
    "ix_messages_parent",
    messages.c.parent_id,
    sqlite_where=sa.text("parent_id IS NOT NULL"),
    postgresql_where=sa.text("parent_id IS NOT NULL"),
)

members = sa.Table(
    "message_alerts",
    metadata,
    sa.Column("message_id", sa.ForeignKey("messages.id"), primary_key=True),
    sa.Column("alert_id", sa.ForeignKey("alerts.id"), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("level", sa.String(8), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("ack_by", sa.Text),  # None: not acknowledged; "": by someone unknown
    sa.Column("ack_at", sa.Float),  # when, if the router saw it (a button or a reaction)
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
    # The channel's turn kept for this entry (Slack's pace); it goes when it comes due.
    sa.Column("slot", sa.Float),
    sa.UniqueConstraint("kind", "ref", name="uq_outbox_target"),
)
sa.Index("ix_outbox_due", outbox.c.state, outbox.c.due_at)

channel_turns = sa.Table(
    "channel_turns",
    metadata,
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("next_free", sa.Float, nullable=False),
)
"""Each Slack channel's next free turn, shared by every replica (a message a second)."""

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("source", sa.String(32), primary_key=True),
    sa.Column("delivery_id", sa.String(200), primary_key=True),
    sa.Column("received_at", sa.Float, nullable=False),
)
"""Senders' delivery ids (PagerDuty X-Webhook-Id, Datadog $ID): a retry is seen once."""
sa.Index("ix_deliveries_received", deliveries.c.received_at)

actions = sa.Table(
    "actions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)
"""Work asked for from Slack (buttons), done by the dispatcher."""

heartbeats = sa.Table(
    "heartbeats",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("route", sa.Text, nullable=False),
    sa.Column("interval", sa.Float, nullable=False),
    sa.Column("alertname", sa.Text),
    sa.Column("last_seen", sa.Float, nullable=False),
    sa.Column("alarm_alert_id", sa.ForeignKey("alerts.id")),  # the open "silent" alert
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.UniqueConstraint("route", name="uq_heartbeats_route"),
)
"""Routes with ``heartbeat:``: an always-firing alert's last arrival; its timer is in the outbox."""

message_events = sa.Table(
    "message_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("message_id", sa.ForeignKey("messages.id"), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("who", sa.Text),
    sa.Column("detail", sa.Text),
    sa.Column("step", sa.Integer),  # a runbook step's number: ticks, step reports
    sa.Column("note", sa.Text),  # what a person wrote: why a step did not work
    sa.Index("ix_message_events_message", "message_id"),
    sa.Index(
        "uq_message_events_incident",
        "message_id",
        unique=True,
        sqlite_where=sa.text("kind = 'incident'"),
        postgresql_where=sa.text("kind = 'incident'"),
    ),
)
"""An incident's timeline beyond its alerts: acknowledged, reminders, escalations, resolved."""

silences = sa.Table(
    "silences",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("alertmanager", sa.String(64), nullable=False),  # the entry's name
    sa.Column("silence_id", sa.String(64), nullable=False),  # Alertmanager's ID
    sa.Column("message_id", sa.ForeignKey("messages.id")),  # the message it was made from
    sa.Column("matchers", sa.JSON, nullable=False),  # Alertmanager's matcher strings
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("slack_user", sa.String(32)),  # who made it from Slack (a checked user ID)
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("starts_at", sa.Float),
    sa.Column("ends_at", sa.Float, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # active | pending | expired
    sa.Column("reminded_for", sa.Float),  # the end its "ends soon" reply was posted for
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.UniqueConstraint("alertmanager", "silence_id", name="uq_silences_identity"),
    sa.Index("ix_silences_message", "message_id"),
)
"""Alertmanager silences the router's messages show: made from Slack, or read when reconciling."""
runbook_posts = sa.Table(
    "runbook_posts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("message_id", sa.ForeignKey("messages.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # checklist | feedback
    sa.Column("runbook_id", sa.String(32), nullable=False),
    sa.Column("steps", sa.JSON, nullable=False),  # [{"number": 1, "title": ...}] as posted
    sa.Column("holder", sa.Text),  # the action posting it (a retry of it posts again)
    sa.Column("slack_ts", sa.Text),  # the reply in the alert message's thread, once posted
    sa.Column("version", sa.Integer, nullable=False, default=1),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("message_id", "kind", name="uq_runbook_posts_message_kind"),
    sa.Index("ix_runbook_posts_ts", "slack_ts"),
)
"""The router's runbook replies in an alert's thread, one of each kind per message: the
step checklist and the feedback question, edited as people answer them."""

holds = sa.Table(
    "holds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.Text, nullable=False),  # the message key its alerts would join
    sa.Column("release_at", sa.Float, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("key", "release_at", name="uq_holds_key_release"),
)
"""Alerts held by their route's time intervals, per message and opening; its timer is
in the outbox (router/store/holds.py)."""

held_alerts = sa.Table(
    "held_alerts",
    metadata,
    sa.Column("hold_id", sa.ForeignKey("holds.id"), primary_key=True),
    sa.Column("alert_id", sa.ForeignKey("alerts.id"), primary_key=True),
    sa.Column("added_at", sa.Float, nullable=False),
    sa.Index("ix_held_alerts_alert", "alert_id"),  # retention: is this alert held?
)

# Outbox kinds (router/store/kinds.py), by their short names.
SLACK_MESSAGE = OutboxKind.SLACK_MESSAGE
PAGERDUTY_NOTE = OutboxKind.PAGERDUTY_NOTE
PAGERDUTY_EVENT = OutboxKind.PAGERDUTY_EVENT
SLACK_ACTION = OutboxKind.SLACK_ACTION
HEARTBEAT = OutboxKind.HEARTBEAT
RESPONSE_CLOCK = OutboxKind.RESPONSE_CLOCK
RECONCILE = OutboxKind.RECONCILE
RUNBOOK_POST = OutboxKind.RUNBOOK_POST
HOLD = OutboxKind.HOLD


def ts(value: Any) -> float | None:
    """An aware datetime as epoch seconds."""
    return value.timestamp() if value is not None else None


def chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def pk(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None, "INSERT returned no primary key"
    return int(key[0])


READ_ONLY = "router_read_only"
"""Execution option: this connection only reads (SQLite: no write lock)."""


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
        # A write takes the lock up front (no deadlock upgrading a read to a write);
        # a read, marked READ_ONLY, reads its WAL snapshot and waits for nobody.
        read = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")

    return engine
