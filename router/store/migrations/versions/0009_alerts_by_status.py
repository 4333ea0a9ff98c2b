"""/alerts asks "what is firing now": alerts by status, newest first, from an index.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_alerts_status_updated", "alerts", ["status", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_alerts_status_updated", "alerts")
