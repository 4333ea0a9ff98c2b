"""One declared incident per message: the claim that makes Declare incident idempotent.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "uq_message_events_incident",
        "message_events",
        ["message_id"],
        unique=True,
        sqlite_where=sa.text("kind = 'incident'"),
        postgresql_where=sa.text("kind = 'incident'"),
    )


def downgrade() -> None:
    op.drop_index("uq_message_events_incident", "message_events")
