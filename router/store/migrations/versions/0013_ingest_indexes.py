"""Ingest that history does not slow: a source's storm message found by index, and its
arrivals in the storm window counted from the index alone.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_messages_storm",
        "messages",
        ["source"],
        sqlite_where=sa.text("kind = 'storm'"),
        postgresql_where=sa.text("kind = 'storm'"),
    )
    op.drop_index("ix_alerts_fired", "alerts")
    op.create_index("ix_alerts_fired", "alerts", ["source", "fired_at", "status"])


def downgrade() -> None:
    op.drop_index("ix_alerts_fired", "alerts")
    op.create_index("ix_alerts_fired", "alerts", ["source", "fired_at"])
    op.drop_index("ix_messages_storm", "messages")
