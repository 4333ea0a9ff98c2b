"""Retention: the indexes its deletes walk (router/store/retention.py).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_resolved", "messages", ["resolved_at"])
    op.create_index(
        "ix_messages_parent",
        "messages",
        ["parent_id"],
        sqlite_where=sa.text("parent_id IS NOT NULL"),
        postgresql_where=sa.text("parent_id IS NOT NULL"),
    )
    op.create_index("ix_held_alerts_alert", "held_alerts", ["alert_id"])


def downgrade() -> None:
    op.drop_index("ix_held_alerts_alert", "held_alerts")
    op.drop_index("ix_messages_parent", "messages")
    op.drop_index("ix_messages_resolved", "messages")
