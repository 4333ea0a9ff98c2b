"""The schema of runbook-router 0.1.0 (its ``schema_version`` 1).

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _alerts() -> None:
    op.create_table(
        "alerts",
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
        sa.Column("pagerduty_incident", sa.String(64)),
        sa.Column("fired_at", sa.Float),
        sa.Column("repeats", sa.Integer, nullable=False),
        sa.Column("decisions", sa.JSON, nullable=False),
        sa.Column("raw", sa.JSON, nullable=False),
        sa.UniqueConstraint("source", "fingerprint", name="uq_alerts_identity"),
    )
    op.create_index("ix_alerts_updated", "alerts", ["updated_at"])
    op.create_index("ix_alerts_fired", "alerts", ["source", "fired_at"])


def _messages() -> None:
    op.create_table(
        "messages",
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
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("storm_within", sa.Float),
        sa.Column("storm_last_arrival", sa.Float),
        sa.Column("storm_ended_at", sa.Float),
        sa.Column("slack_channel", sa.Text),
        sa.Column("slack_ts", sa.Text),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("closed", sa.Boolean, nullable=False),
        sa.Column("resolved_at", sa.Float),
        sa.Column("resolve_notified", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index(
        "uq_messages_open_key",
        "messages",
        ["key"],
        unique=True,
        sqlite_where=sa.text("closed = 0"),
        postgresql_where=sa.text("closed = false"),
    )


def _message_alerts() -> None:
    op.create_table(
        "message_alerts",
        sa.Column("message_id", sa.Integer, sa.ForeignKey("messages.id"), primary_key=True),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id"), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("ack_by", sa.Text),
        sa.Column("starts_at", sa.Float),
        sa.Column("ends_at", sa.Float),
        sa.Column("added_at", sa.Float, nullable=False),
    )
    op.create_index("ix_message_alerts_alert", "message_alerts", ["alert_id"])


def _outbox() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ref", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("done_version", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("due_at", sa.Float, nullable=False),
        sa.Column("enqueued_at", sa.Float, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(32)),
        sa.Column("last_error", sa.Text),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", sa.Float),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.UniqueConstraint("kind", "ref", name="uq_outbox_target"),
    )
    op.create_index("ix_outbox_due", "outbox", ["state", "due_at"])


def _deliveries() -> None:
    op.create_table(
        "deliveries",
        sa.Column("source", sa.String(32), primary_key=True),
        sa.Column("delivery_id", sa.String(200), primary_key=True),
        sa.Column("received_at", sa.Float, nullable=False),
    )
    op.create_index("ix_deliveries_received", "deliveries", ["received_at"])


def _actions() -> None:
    op.create_table(
        "actions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )


def _schema_version() -> None:
    op.create_table(
        "schema_version",
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("applied_at", sa.Float, nullable=False),
    )


def upgrade() -> None:
    _alerts()
    _messages()
    _message_alerts()
    _outbox()
    _deliveries()
    _actions()
    _schema_version()


def downgrade() -> None:
    for table in ("schema_version", "actions", "deliveries", "outbox", "message_alerts"):
        op.drop_table(table)
    op.drop_table("messages")
    op.drop_table("alerts")
