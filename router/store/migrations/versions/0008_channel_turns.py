"""Slack's pace shared by replicas: each channel's next free turn, and the turn kept per entry.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_turns",
        sa.Column("channel", sa.Text, primary_key=True),
        sa.Column("next_free", sa.Float, nullable=False),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("slot", sa.Float))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("slot")
    op.drop_table("channel_turns")
