"""Silences from Slack, and alerts as Alertmanager lists them (silenced, inhibited).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("silenced_by", sa.JSON))
        batch.add_column(sa.Column("inhibited_by", sa.JSON))
        batch.add_column(sa.Column("mirrored_at", sa.Float))
    op.create_table(
        "silences",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("alertmanager", sa.String(64), nullable=False),
        sa.Column("silence_id", sa.String(64), nullable=False),
        sa.Column("message_id", sa.Integer, sa.ForeignKey("messages.id")),
        sa.Column("matchers", sa.JSON, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("slack_user", sa.String(32)),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("starts_at", sa.Float),
        sa.Column("ends_at", sa.Float, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reminded_for", sa.Float),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.UniqueConstraint("alertmanager", "silence_id", name="uq_silences_identity"),
    )
    op.create_index("ix_silences_message", "silences", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_silences_message", table_name="silences")
    op.drop_table("silences")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("mirrored_at")
        batch.drop_column("inhibited_by")
        batch.drop_column("silenced_by")
