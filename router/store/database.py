"""Connections and transactions: one writer at a time on SQLite, reads that never wait.

Times are float seconds since the epoch, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from router.clock import Clock, SystemClock
from router.errors import StoreUnavailable
from router.store import migrate
from router.store.schema import READ_ONLY, make_engine

log = logging.getLogger("router")


class Database:
    """The engine, the clock, and the two ways in: ``_tx`` to write, ``_read`` to read."""

    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        self.engine = engine
        self.clock = clock or SystemClock()
        self._schema_ready = False
        # SQLite has one writer at a time; waiting here is a queue, while SQLite's own
        # busy handler waits by sleeping in growing steps (tens of ms under load).
        # Reads do not take it: they run in deferred transactions beside the writer.
        self._write_lock: AbstractContextManager[Any] = (
            threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
        )

    @classmethod
    def from_url(cls, url: str, clock: Clock | None = None) -> Self:
        return cls(make_engine(url), clock)

    @property
    def single_process(self) -> bool:
        """SQLite is one process's database: its leases can be dropped at start."""
        return self.engine.dialect.name == "sqlite"

    def ensure_schema(self) -> None:
        """Create the schema once; until that succeeds, every caller tries again."""
        if not self._schema_ready:
            self.create_schema()
            self._schema_ready = True

    def create_schema(self) -> None:
        """Migrate the schema to the newest revision (``migrate``; at start too).

        A database migrated by a newer router is refused (``SchemaTooNew``).
        """
        with self._tx() as conn:
            found = migrate.upgrade(conn)
        if found != (now := migrate.head()):
            log.info("database schema migrated from %s to revision %s", found or "empty", now)

    @property
    def where(self) -> str:
        """The database URL as configured (no driver name), its password hidden."""
        url = self.engine.url
        return url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)

    def describe(self) -> str:
        """In a few words for the start line: ``SQLite router.db``, ``PostgreSQL host/db``."""
        url = self.engine.url
        if url.get_backend_name() == "sqlite":
            return f"SQLite {url.database or 'in memory'}"
        port = f":{url.port}" if url.port else ""
        return f"PostgreSQL {url.host or 'localhost'}{port}/{url.database or ''}"

    def _connect(self) -> Connection:
        """A connection; one that cannot be opened says so, naming the database."""
        try:
            return self.engine.connect()
        except (OperationalError, InterfaceError) as exc:
            raise StoreUnavailable(
                f"could not reach the database {self.where}: {_reason(exc)}"
            ) from None

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """A write transaction; a database that is down or refuses is StoreUnavailable."""
        with self._write_lock, self._connect() as conn:
            try:
                with conn.begin():
                    yield conn
            except (OperationalError, InterfaceError) as exc:
                raise StoreUnavailable(f"database refused the write: {_reason(exc)}") from None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A read: on SQLite a deferred transaction, which never waits for the writer."""
        with self._connect() as conn:
            try:
                yield conn.execution_options(**{READ_ONLY: True})
            except (OperationalError, InterfaceError) as exc:
                raise StoreUnavailable(f"database read failed: {_reason(exc)}") from None

    def ping(self) -> None:
        self.ensure_schema()
        with self._read() as conn:
            conn.execute(sa.text("SELECT 1"))


def _reason(exc: OperationalError | InterfaceError) -> str:
    """The driver's message, first line only (psycopg adds hints on more lines)."""
    text = str(exc.orig).strip() or type(exc.orig).__name__
    return text.splitlines()[0].strip()
