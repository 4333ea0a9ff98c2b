from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from router.app import create_app
from router.reload import files_state
from tests.conftest import ROOT, wait_for
from tests.test_app import BODY, settings

JSON = {"Content-Type": "application/json"}


def channel(client: TestClient) -> str:
    response = client.post("/api/route", content=BODY, headers=JSON)
    return str(response.json()["alerts"][0]["decisions"][0]["channel"])


def metric(client: TestClient, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(name)


def test_changed_files_are_reloaded_and_a_bad_change_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    routes = tmp_path / "routes.yaml"
    shutil.copy(ROOT / "routes.yaml", routes)
    app = create_app(
        settings(tmp_path, config=str(routes), reload_interval=0.05), run_dispatcher=False
    )
    with caplog.at_level(logging.INFO), TestClient(app) as client:
        assert channel(client) == "#db-oncall"
        routes.write_text("routes:\n  - {name: all, channel: '#everything'}\n", encoding="utf-8")
        wait_for(lambda: channel(client) == "#everything", 10, "the changed routes to apply")
        assert metric(client, "router_config_last_reload_successful") == 1

        routes.write_text("routes:\n  - {name: all, chanel: '#typo'}\n", encoding="utf-8")
        wait_for(
            lambda: "reload (files changed) refused" in caplog.text, 10, "the refusal in the log"
        )
        assert "routes[0].chanel: unknown key; did you mean 'channel'?" in caplog.text
        assert channel(client) == "#everything"  # the running config is kept
        assert metric(client, "router_config_last_reload_successful") == 0


def test_configmap_symlink_swap_is_seen(tmp_path: Path) -> None:
    """Kubernetes mounts ConfigMaps as symlinks into a ..data folder it swaps."""
    first, second = tmp_path / "v1", tmp_path / "v2"
    first.mkdir()
    second.mkdir()
    (first / "routes.yaml").write_text("routes: []\n")
    (second / "routes.yaml").write_text("routes: [{name: x}]\n")
    os.symlink(first, tmp_path / "..data")
    os.symlink(tmp_path / "..data" / "routes.yaml", tmp_path / "routes.yaml")
    before = files_state(str(tmp_path / "routes.yaml"), str(tmp_path / "none"))
    os.remove(tmp_path / "..data")
    os.symlink(second, tmp_path / "..data")
    assert files_state(str(tmp_path / "routes.yaml"), str(tmp_path / "none")) != before


def test_runbook_edits_are_reloaded(tmp_path: Path) -> None:
    runbooks = tmp_path / "runbooks"
    shutil.copytree(ROOT / "runbooks", runbooks)
    app = create_app(
        settings(tmp_path, runbooks=str(runbooks), reload_interval=0.05), run_dispatcher=False
    )
    with TestClient(app) as client:
        path = next(runbooks.glob("RUN-001-*.md"))
        path.write_text(
            path.read_text().replace("Database Connection Pool Exhaustion", "Pool Exhausted")
        )

        def title() -> str:
            return str(
                client.get("/runbooks/RUN-001", headers={"Accept": "application/json"}).json()[
                    "title"
                ]
            )

        wait_for(lambda: title() == "Pool Exhausted", 10, "the edited runbook")
