"""What only PostgreSQL shows: replicas racing, and the database going away."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from router.app import create_app
from router.cli import main
from router.decide import Ruleset
from router.store import Store, migrate
from tests.fakes.postgres import PostgresServer
from tests.fakes.postgres import available as postgres_available
from tests.helpers import AUTH, make_alert, settings


@pytest.fixture
def url(postgres: PostgresServer) -> str:
    return postgres.new_database()


def replicas(url: str, n: int) -> list[Store]:
    stores = [Store.from_url(url) for _ in range(n)]
    stores[0].create_schema()
    return stores


def test_replicas_ingesting_one_group_at_once_make_one_message(url: str, ruleset: Ruleset) -> None:
    stores = replicas(url, 4)
    barrier = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def ingest(store: Store, i: int) -> None:
        alerts = [
            make_alert(env="prod", severity="critical", instance=f"db-{j}") for j in range(i, i + 3)
        ]
        barrier.wait()
        try:
            store.ingest([(a, ruleset.decide(a)) for a in alerts])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ingest, args=(s, i)) for i, s in enumerate(stores)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        (item,) = stores[0].claim("me", 60).items
        view = stores[0].load_message(item.ref)
        assert view is not None
        assert sorted(m.labels["instance"] for m in view.members) == [f"db-{j}" for j in range(6)]
    finally:
        for s in stores:
            s.engine.dispose()


def test_replicas_claim_disjoint_entries(url: str, ruleset: Ruleset) -> None:
    a, b = replicas(url, 2)
    alerts = [make_alert(f"Alert{i}", group_key=f"g{i}", severity="warning") for i in range(40)]
    a.ingest([(x, ruleset.decide(x)) for x in alerts])
    barrier = threading.Barrier(2)
    claimed: dict[str, list[int]] = {}

    def claim(store: Store, owner: str) -> None:
        barrier.wait()
        claimed[owner] = [i.id for i in store.claim(owner, 60, limit=25).items]

    threads = [threading.Thread(target=claim, args=(s, o)) for s, o in ((a, "a"), (b, "b"))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert set(claimed["a"]).isdisjoint(claimed["b"])
        assert len(claimed["a"]) + len(claimed["b"]) == 40
    finally:
        a.engine.dispose()
        b.engine.dispose()


def _alert(name: str) -> bytes:
    return json.dumps({"alerts": [{"labels": {"alertname": name, "severity": "warning"}}]}).encode()


@pytest.fixture
def own_server() -> Iterator[PostgresServer]:
    if not postgres_available():
        pytest.skip("PostgreSQL not installed")
    import shutil
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="router-pg-down-"))
    root.chmod(0o755)
    server = PostgresServer(root / "pg").start()
    yield server
    try:
        server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_database_down_means_503_and_nothing_acknowledged(
    tmp_path: Path, own_server: PostgresServer
) -> None:
    url = own_server.new_database()
    app = create_app(settings(tmp_path, database_url=url), run_dispatcher=False)
    with TestClient(app) as client:
        assert (
            client.post(
                "/webhooks/alertmanager", content=_alert("Before"), headers=AUTH
            ).status_code
            == 202
        )
        own_server.stop()
        refused = client.post("/webhooks/alertmanager", content=_alert("During"), headers=AUTH)
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "5"
        assert refused.json() == {"error": "storage unavailable; nothing was stored, retry later"}
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200  # alive: do not restart it, just wait
        own_server.resume()
        assert client.get("/readyz").status_code == 200
        assert (
            client.post("/webhooks/alertmanager", content=_alert("After"), headers=AUTH).status_code
            == 202
        )
        listed = client.get("/alerts?state=all", headers={"Accept": "application/json"})
        names = [a["name"] for a in listed.json()["alerts"]]
    assert sorted(names) == ["After", "Before"]


def test_starts_when_the_database_is_down_and_recovers(
    tmp_path: Path, own_server: PostgresServer
) -> None:
    url = own_server.new_database()
    own_server.stop()
    with TestClient(
        create_app(settings(tmp_path, database_url=url), run_dispatcher=False)
    ) as client:
        assert client.get("/readyz").status_code == 503
        assert (
            client.post("/webhooks/alertmanager", content=_alert("X"), headers=AUTH).status_code
            == 503
        )
        own_server.resume()
        assert client.get("/readyz").status_code == 200  # the schema is created now
        assert (
            client.post("/webhooks/alertmanager", content=_alert("X"), headers=AUTH).status_code
            == 202
        )


def test_migrate_command(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROUTER_DATABASE_URL", url)
    assert main(["migrate"]) == 0
    assert main(["migrate"]) == 0  # idempotent
    assert f"schema revision {migrate.head()} is in place" in capsys.readouterr().out
    monkeypatch.setenv("ROUTER_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none")
    assert main(["migrate"]) == 1
