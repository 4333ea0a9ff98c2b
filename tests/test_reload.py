from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from router.app import create_app
from router.reload import files_state
from router.runbooks import load_catalog
from tests.helpers import ADMIN, BODY, ROOT, ROUTES, RUNBOOKS, metric, settings, wait_for

JSON = {"Content-Type": "application/json"}


def channel(client: TestClient) -> str:
    response = client.post("/api/route", content=BODY, headers=ADMIN)
    return str(response.json()["alerts"][0]["decisions"][0]["channel"])


def test_changed_files_are_reloaded_and_a_bad_change_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    routes = tmp_path / "routes.yaml"
    shutil.copy(ROUTES, routes)
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
    shutil.copytree(RUNBOOKS, runbooks)
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


def checkout(root: Path, name: str, runbooks_from: Path, routes: str) -> Path:
    """A git-sync worktree: routes.yaml and runbooks/ under root/.worktrees/<name>."""
    tree = root / ".worktrees" / name
    shutil.copytree(runbooks_from, tree / "runbooks")
    (tree / "routes.yaml").write_text(routes, encoding="utf-8")
    return tree


def publish(root: Path, tree: Path) -> None:
    """git-sync's atomic swap: a new symlink renamed over ``current``."""
    staged = root / "current.tmp"
    staged.symlink_to(tree.relative_to(root))
    os.replace(staged, root / "current")


def test_git_sync_symlink_swap_reloads_and_a_broken_commit_keeps_the_rest(
    tmp_path: Path,
) -> None:
    root = tmp_path / "git"
    routes = (ROUTES).read_text(encoding="utf-8")
    root.mkdir()
    publish(root, checkout(root, "aaa111", RUNBOOKS, routes))
    current = root / "current"
    app = create_app(
        settings(
            tmp_path,
            config=str(current / "routes.yaml"),
            runbooks=str(current / "runbooks"),
            reload_interval=0.05,
        ),
        run_dispatcher=False,
    )
    with TestClient(app) as client:
        assert channel(client) == "#db-oncall"

        # The next commit routes everything to one channel and breaks RUN-004.
        tree = checkout(root, "bbb222", RUNBOOKS, "routes:\n  - {name: all, channel: '#all'}\n")
        next(tree.glob("runbooks/RUN-004-*.md")).write_text("merge conflict\n", encoding="utf-8")
        publish(root, tree)
        wait_for(lambda: channel(client) == "#all", 10, "the new commit's routes")
        assert metric(client, "router_runbooks") == 13
        assert metric(client, "router_runbook_load_errors") == 1
        assert metric(client, "router_config_last_reload_successful") == 1

        # A commit whose routes.yaml does not load is refused; the running config stays.
        publish(root, checkout(root, "ccc333", RUNBOOKS, "routes: {oops\n"))
        wait_for(
            lambda: metric(client, "router_config_last_reload_successful") == 0,
            10,
            "the refused reload",
        )
        assert channel(client) == "#all"


def test_configmap_mount_copies_are_not_read_twice(tmp_path: Path) -> None:
    """A ConfigMap volume holds the files twice (a timestamped folder and ..data)."""
    stamp = tmp_path / "..2026_11_28_07_00_00.123"
    stamp.mkdir()
    shutil.copy(ROOT / "deploy/overlays/files/runbooks.md", stamp / "runbooks.md")
    os.symlink(stamp.name, tmp_path / "..data")
    os.symlink("..data/runbooks.md", tmp_path / "runbooks.md")
    catalog = load_catalog(tmp_path)
    assert catalog.problems == []
    assert [rb.id for rb in catalog] == ["RUN-101", "RUN-102"]
