from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from router.alert import Alert
from router.decide import Ruleset, load_ruleset
from router.store import Store
from tests.fakes.postgres import PostgresServer
from tests.fakes.postgres import available as postgres_available
from tests.fakes.slack import FakeSlack

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ROUTES = FIXTURES / "config/routes.yaml"
"""The tests' own routes and runbooks: the shipped examples can change freely."""
RUNBOOKS = FIXTURES / "config/runbooks"
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"


class FakeClock:
    def __init__(self, now: float = 1_795_320_000.0) -> None:  # 2026-11-22 01:20 UTC
        self.t = now

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


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
def fake_slack() -> Iterator[FakeSlack]:
    slack = FakeSlack().start()
    yield slack
    slack.stop()


def require_binary(name: str) -> str:
    """The path of a real component, or skip; with ROUTER_E2E=require, fail instead."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} not installed (apt-get install it, as .ci/run does)"
        if os.environ.get("ROUTER_E2E") == "require":
            pytest.fail(message)
        pytest.skip(message)
    return path


def check_golden(path: Path, actual: str) -> None:
    """Compare with a golden file; UPDATE_GOLDEN=1 rewrites it (review the diff)."""
    if UPDATE_GOLDEN or not path.exists():
        if not UPDATE_GOLDEN:
            pytest.fail(f"golden file {path} is missing; run with UPDATE_GOLDEN=1 and review it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"differs from {path}"


def make_alert(
    name: str = "DatabaseConnectionPoolHigh",
    *,
    status: str = "firing",
    fingerprint: str | None = None,
    group_key: str = "group-1",
    source: str = "alertmanager",
    starts_at: str = "2026-11-22T01:00:00Z",
    ends_at: str | None = None,
    summary: str = "",
    annotations: dict[str, str] | None = None,
    **labels: str,
) -> Alert:
    labels = {"alertname": name, **labels}
    return Alert(
        source=source,
        status=status,
        name=name,
        fingerprint=fingerprint or f"fp-{name}-{sorted(labels.items())}",
        group_key=group_key,
        labels=labels,
        annotations=annotations or {},
        starts_at=datetime.fromisoformat(starts_at),
        ends_at=datetime.fromisoformat(ends_at) if ends_at else None,
        source_severity=labels.get("severity"),
        summary=summary,
    )


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll until ``check`` holds; never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def sharded_routes(folder: Path, shards: int, channel: str = "#shard") -> str:
    """One route and channel per value of a ``shard`` label: load spread over channels,
    so Slack's pace of a message a second per channel is not the only limit."""
    lines = ["defaults: {channel: '#alerts'}", "routes:"]
    lines += [
        f"  - {{name: shard-{s}, matchers: ['shard=\"{s}\"'], channel: '{channel}-{s}'}}"
        for s in range(shards)
    ]
    path = folder / f"routes-{shards}-shards.yaml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def routes_without_storm(folder: Path) -> str:
    """The example routes with storms off: for tests of per-message delivery at volume."""
    data = yaml.safe_load((ROUTES).read_text())
    data["severity"].pop("storm", None)
    path = folder / "routes-no-storm.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)
