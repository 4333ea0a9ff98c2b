"""Runbooks that learn: the checklist and feedback replies, steps and notes on the timeline.

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message_events") as table:
        table.add_column(sa.Column("step", sa.Integer))
        table.add_column(sa.Column("note", sa.Text))
    op.create_table(
        "runbook_posts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("message_id", sa.Integer, sa.ForeignKey("messages.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("runbook_id", sa.String(32), nullable=False),
        sa.Column("steps", sa.JSON, nullable=False),
        sa.Column("holder", sa.Text),
        sa.Column("slack_ts", sa.Text),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("message_id", "kind", name="uq_runbook_posts_message_kind"),
    )
    op.create_index("ix_runbook_posts_ts", "runbook_posts", ["slack_ts"])
    op.create_index("ix_messages_runbook", "messages", ["runbook_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_messages_runbook", "messages")
    op.drop_index("ix_runbook_posts_ts", "runbook_posts")
    op.drop_table("runbook_posts")
    with op.batch_alter_table("message_events") as table:
        table.drop_column("note")
        table.drop_column("step")
