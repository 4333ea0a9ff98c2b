"""The README's quick start, as a new user types it: `make run`, then its curl example."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

from router.decide import load_ruleset
from tests.e2e.processes import RUNNING, http
from tests.helpers import ROOT, require_binary, wait_for


def loaded() -> tuple[int, int]:
    """Routes and runbooks in the shipped examples, as ``check`` counts them."""
    ruleset = load_ruleset(ROOT / "routes.yaml", ROOT / "runbooks")
    return len(ruleset.table.routes), len(ruleset.catalog)


def readme_block(containing: str) -> str:
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    matching: list[str] = [b for b in blocks if containing in b]
    assert len(matching) == 1, f"expected one sh block with {containing!r} in README.md"
    return matching[0]


def test_quick_start_is_exactly_the_two_commands() -> None:
    assert readme_block("make run").split() == ["make", "run", "make", "test"]


def test_make_run_then_the_readme_curl_shows_the_routed_message(tmp_path: Path) -> None:
    require_binary("curl")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ROUTER_", "SLACK_", "ALERTMANAGER_"))
    }
    env["ROUTER_DATABASE_URL"] = f"sqlite:///{tmp_path}/router.db"
    log_path = tmp_path / "make-run.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            ["make", "-s", "run", "PORT=0"],  # the server binds a free port and logs it
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def bound() -> int | None:
            assert proc.poll() is None, log_path.read_text()
            found = RUNNING.search(log_path.read_text(errors="replace"))
            return int(found.group(1)) if found else None

        wait_for(lambda: bound() is not None, 120, "make run to serve")
        port = bound()
        started = log_path.read_text()
        # One line says where it serves, what it loaded and where messages go; the
        # install and the migrations say nothing on the way there.
        routes, runbooks = loaded()
        assert (
            f"runbook-router serving on http://127.0.0.1:{port} (routes: {routes}, "
            f"runbooks: {runbooks}; SQLite {tmp_path}/router.db; Slack: log only)"
        ) in started, started
        assert "Editable installation" not in started  # setuptools' boxed note
        assert "Running upgrade" not in started
        assert started.count("database schema migrated") == 1
        assert "\x1b[" not in started

        def ready() -> bool:
            try:
                return http("GET", f"http://127.0.0.1:{port}/readyz")[0] == 200
            except OSError:
                return False

        wait_for(ready, 30, "make run to be ready")
        curl = readme_block("curl").replace("127.0.0.1:8080", f"127.0.0.1:{port}")
        result = subprocess.run(
            ["bash", "-c", curl], cwd=ROOT, capture_output=True, text=True, timeout=30, check=True
        )
        assert '"status":"accepted"' in result.stdout

        def posted() -> bool:
            return "slack post to #db-oncall" in log_path.read_text()

        wait_for(posted, 15, "the routed message in the log")
        output = log_path.read_text()
        assert "SLACK_BOT_TOKEN is not set" in output
        assert "SEV1 · DatabaseConnectionPoolHigh" in output
        assert "RUN-001: Database Connection Pool Exhaustion" in output
        assert "Step 1: Confirm the pool is saturated" in output
        # RUN-001's first command names the alert's namespace and pod: filled, once a pod.
        assert "kubectl -n production exec pgbouncer-0 -- psql" in output
        assert "kubectl -n production exec pgbouncer-1 -- psql" in output
        assert "{{ $labels" not in output
        # Links follow the address make run serves on (PORT=9090 gives :9090; here, port 0).
        assert f"[Open runbook] http://127.0.0.1:{port}/runbooks/RUN-001" in output
        assert "local-dev-token" not in output
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
