"""When an alert in a message was acknowledged.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("message_alerts", sa.Column("ack_at", sa.Float))


def downgrade() -> None:
    with op.batch_alter_table("message_alerts") as batch:
        batch.drop_column("ack_at")
