"""Schema changes: Alembic revisions in router/store/migrations, on SQLite and PostgreSQL.

``upgrade`` brings a database to the newest revision this router knows. A
database made by release 0.1.0 (before Alembic, marked by its ``schema_version``
table) is stamped as revision 0001 first. A database at a revision this router
does not know was migrated by a newer router: it is refused (``SchemaTooNew``),
never touched. Replicas starting together take an advisory lock on PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from router.errors import StoreUnavailable

MIGRATIONS = Path(__file__).parent / "migrations"
LEGACY_REVISION = "0001"
"""What a 0.1.0 database (``schema_version`` 1) is, in revisions."""
_LOCK = 727_001  # pg_advisory_xact_lock key for schema changes


class SchemaTooNew(StoreUnavailable):
    """The database was migrated by a newer router; this one must not use it."""


def _config(conn: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def head() -> str:
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None, "no migrations found"
    return revision


def current(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(conn: Connection) -> str | None:
    """Migrate to the newest revision inside the caller's transaction; the revision the
    database was at before (None: empty)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
    config = _config(conn)
    script = ScriptDirectory.from_config(config)
    found = current(conn)
    if found is None and sa.inspect(conn).has_table("schema_version"):
        command.stamp(config, LEGACY_REVISION)
        found = LEGACY_REVISION
    if found is not None and found not in {r.revision for r in script.walk_revisions()}:
        raise SchemaTooNew(
            f"the database is at schema revision {found}, which this router does not know "
            f"(it knows up to {head()}): a newer router migrated it; run that version or newer"
        )
    command.upgrade(config, "head")
    return found
