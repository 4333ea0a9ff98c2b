"""The suite's fixtures. What tests import (paths, make_alert, wait_for...) is in
tests/helpers.py and tests/fakes/, never here: a conftest is pytest's, not a module."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from router.decide import Ruleset, load_ruleset
from router.store import Store
from tests.fakes.clock import FakeClock
from tests.fakes.postgres import PostgresServer
from tests.fakes.postgres import available as postgres_available
from tests.fakes.slack import FakeSlack
from tests.helpers import ROUTES, RUNBOOKS, AppClients


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def ruleset() -> Ruleset:
    return load_ruleset(ROUTES, RUNBOOKS)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session; each test gets a database of its own."""
    if not postgres_available():
        message = "PostgreSQL 15 not installed (apt-get install postgresql, as .ci/run does)"
        if os.environ.get("ROUTER_E2E") == "require":
            pytest.fail(message)
        pytest.skip(message)
    # Not under pytest's temp root: it is private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="router-pg-"))
    root.chmod(0o755)
    server = PostgresServer(root / "pg").start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store tests run on both backends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/router.db"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()


@pytest.fixture
def store(database_url: str, clock: FakeClock) -> Iterator[Store]:
    """A store with its schema, on each backend (see database_url)."""
    s = Store.from_url(database_url, clock)
    s.create_schema()
    yield s
    s.engine.dispose()


@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[AppClients]:
    """Starts the app (``app_client(run_dispatcher=False, clock=clock, **settings)``); every
    app it started is stopped when the test ends."""
    with ExitStack() as stack:
        yield AppClients(tmp_path, stack)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    slack = FakeSlack().start()
    yield slack
    slack.stop()
