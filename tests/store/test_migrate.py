"""Schema migrations: fresh databases, a 0.1.0 database, and a database from a newer router."""

from __future__ import annotations

import logging
import socket
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient

from router.app import create_app
from router.cli import main
from router.store import Store, migrate
from router.store.schema import metadata
from tests.fakes.clock import FakeClock
from tests.helpers import ROOT, settings

RELEASE_0_1_0 = ROOT / "tests/fixtures/databases/router-0.1.0.sqlite.sql"


def test_revisions_build_exactly_the_tables_the_code_uses(store: Store) -> None:
    """Every column, index and constraint in schema.py comes from a revision, nothing else."""
    with store.engine.connect() as conn:
        assert migrate.current(conn) == migrate.head()
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def test_migrating_twice_changes_nothing(store: Store) -> None:
    store.create_schema()
    with store.engine.connect() as conn:
        assert migrate.current(conn) == migrate.head()


def test_a_database_from_release_0_1_0_is_upgraded_and_keeps_its_data(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "router.db"
    with sqlite3.connect(path) as db:
        db.executescript(RELEASE_0_1_0.read_text(encoding="utf-8"))
    store = Store.from_url(f"sqlite:///{path}", clock)
    store.create_schema()
    with store.engine.connect() as conn:
        assert migrate.current(conn) == migrate.head()
        assert not sa.inspect(conn).has_table("schema_version")
        names = conn.execute(sa.text("SELECT name FROM alerts ORDER BY id")).scalars().all()
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    assert names == ["KubePodCrashLooping"] * 3
    # What was pending before the upgrade is still there to deliver.
    (entry,) = store.claim("test", lease_seconds=30).items
    view = store.load_message(entry.ref)
    assert view is not None
    assert [m.links for m in view.members] == [{}, {}, {}]
    store.engine.dispose()


def test_a_database_migrated_by_a_newer_router_is_refused(
    database_url: str, clock: FakeClock
) -> None:
    store = Store.from_url(database_url, clock)
    store.create_schema()
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(migrate.SchemaTooNew, match="schema revision 9999, which this router"):
        store.create_schema()
    with store.engine.connect() as conn:  # untouched
        assert migrate.current(conn) == "9999"
    store.engine.dispose()


def test_the_server_refuses_to_start_on_a_newer_database(tmp_path: Path) -> None:
    path = tmp_path / "router.db"
    Store.from_url(f"sqlite:///{path}").create_schema()
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    app = create_app(settings(tmp_path), run_dispatcher=False)
    with pytest.raises(migrate.SchemaTooNew), TestClient(app):
        pass


def test_migrate_command_reports_the_revision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ROUTER_DATABASE_URL", f"sqlite:///{tmp_path}/router.db")
    assert main(["migrate"]) == 0
    assert f"schema revision {migrate.head()} is in place" in capsys.readouterr().out


def test_migrate_says_when_the_database_cannot_be_reached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ROUTER_DATABASE_URL", f"sqlite:///{tmp_path}/no/such/folder/router.db")
    assert main(["migrate"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"migrate: could not reach the database sqlite:///{tmp_path}/no/such/folder/router.db: "
        "unable to open database file"
    ]


def test_an_unreachable_postgresql_is_named_without_its_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as closed:  # a port on this machine that nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv(
        "ROUTER_DATABASE_URL", f"postgresql://router:hunter2@127.0.0.1:{port}/router"
    )
    assert main(["migrate"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(
        f"migrate: could not reach the database postgresql://router:***@127.0.0.1:{port}/router: "
    )
    assert "refused the write" not in line
    assert "hunter2" not in line


def test_a_migration_is_one_line_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path}/router.db")
    with caplog.at_level(logging.INFO, logger="router"):
        store.create_schema()
        store.create_schema()  # nothing to do: nothing said
    said = [r.getMessage() for r in caplog.records if r.name == "router"]
    assert said == [f"database schema migrated from empty to revision {migrate.head()}"]
    store.engine.dispose()
