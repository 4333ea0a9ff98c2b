"""Heartbeats: when each always-firing alert was last seen, and its open alarm.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "heartbeats",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("route", sa.Text, nullable=False),
        sa.Column("interval", sa.Float, nullable=False),
        sa.Column("alertname", sa.Text),
        sa.Column("last_seen", sa.Float, nullable=False),
        sa.Column("alarm_alert_id", sa.Integer, sa.ForeignKey("alerts.id")),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.UniqueConstraint("route", name="uq_heartbeats_route"),
    )


def downgrade() -> None:
    op.drop_table("heartbeats")
