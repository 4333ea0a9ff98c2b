"""An incident's timeline: acknowledgements, reminders, escalations, resolution.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("message_id", sa.Integer, sa.ForeignKey("messages.id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("who", sa.Text),
        sa.Column("detail", sa.Text),
    )
    op.create_index("ix_message_events_message", "message_events", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_message_events_message", "message_events")
    op.drop_table("message_events")
