"""Alerts keep their source's links and measured value; the 0.1.0 version table goes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("links", sa.JSON))
        batch.add_column(sa.Column("value", sa.Text))
    op.drop_table("schema_version")


def downgrade() -> None:
    op.create_table(
        "schema_version",
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("applied_at", sa.Float, nullable=False),
    )
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("value")
        batch.drop_column("links")
