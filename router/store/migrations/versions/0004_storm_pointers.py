"""A message can point at another: a channel's pointer to the storm its alerts joined.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain column: SQLite adds it in place (a foreign key would copy the table,
    # which message_alerts' foreign keys forbid inside the migration's transaction).
    op.add_column("messages", sa.Column("parent_id", sa.Integer))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("parent_id")
