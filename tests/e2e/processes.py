"""Real processes on loopback: the router (as users run it) and Alertmanager, and the
``start_router`` fixture (tests/e2e/ and tests/reliability/ take it through their conftest)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from tests.helpers import ROOT, ROUTES, RUNBOOKS, require_binary, wait_for


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def http(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """One request on loopback; the body as JSON when it is JSON, else as text."""
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, _decode(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, _decode(exc.read())


def healthz_seconds(router: RouterProcess, timeout: float = 10) -> float:
    """How long /healthz took; it must answer 200 within ``timeout`` (or this raises)."""
    started = time.perf_counter()
    with urllib.request.urlopen(f"{router.url}/healthz", timeout=timeout) as response:
        assert response.status == 200
    return time.perf_counter() - started


RUNNING = re.compile(r"runbook-router serving on http://127\.0\.0\.1:(\d+)")
"""serve's start line, once it takes requests; the port it bound (tests pass 0)."""
_AM_LISTENING = re.compile(r'msg="Listening on" address=127\.0\.0\.1:(\d+)')


class RouterProcess:
    """``python -m router serve`` with the environment a user would set."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        # The server binds port 0 and says which port it got: no race with others.
        self.port = 0
        self.url = ""
        self.log_path = Path(tempfile.mkstemp(prefix="router-", suffix=".log", dir=tmp)[1])
        self.env = {
            **os.environ,
            "ROUTER_CONFIG": str(ROUTES),
            "ROUTER_RUNBOOKS": str(RUNBOOKS),
            "ROUTER_DATABASE_URL": f"sqlite:///{tmp}/router.db",
            "ROUTER_LOG_FORMAT": "text",
            # The golden payloads carry the dates they were written on; a real sender's
            # are current. Replays are tested with the window on (tests/test_replay.py).
            "ROUTER_REPLAY_WINDOW": str(10 * 365 * 86400),
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> RouterProcess:
        start = self.log_path.stat().st_size
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "router", "serve", "--port", "0"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        wait_for(lambda: self._bound(start), 20, f"the router's port (log: {self.log_path})")
        wait_for(self._ready, 20, f"router on {self.url} (log: {self.log_path})")
        return self

    def _bound(self, start: int) -> bool:
        """The port the router says it serves on, read back from this start's log."""
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"router exited: {self.log_path.read_text()}")
        found = RUNNING.search(self.log_path.read_bytes()[start:].decode(errors="replace"))
        if found is None:
            return False
        self.port = int(found.group(1))
        self.url = f"http://127.0.0.1:{self.port}"
        return True

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"router exited: {self.log_path.read_text()}")
        try:
            return http("GET", f"{self.url}/readyz")[0] == 200
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing; what a crash looks like."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        if self.proc:
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc:
            self.proc.wait(10)

    def rss_mb(self) -> float:
        """The router process's resident memory, in MB."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")

    def pending(self) -> int:
        """Outbox entries not yet delivered, read from the router's database itself."""
        url = self.env["ROUTER_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://")
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                query = (
                    "SELECT count(*) FROM outbox WHERE state = 'pending'"
                    " AND kind NOT IN ('heartbeat', 'response_clock', 'reconcile')"
                )
                return int(conn.execute(sa.text(query)).scalar_one())
        finally:
            engine.dispose()

    def settled(self, timeout: float = 30) -> None:
        """Wait until the dispatcher has done all it was given: absence is then final."""
        wait_for(lambda: self.pending() == 0, timeout, "the outbox to drain")

    def metric(self, name: str) -> float:
        """A sample by exact name with labels, or the sum over a metric's labels."""
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as response:
            lines = response.read().decode().splitlines()
        total = 0.0
        for line in lines:
            if line.startswith("#"):
                continue
            series, _, value = line.rpartition(" ")
            if series == name or ("{" not in name and series.split("{")[0] == name):
                total += float(value)
        return total


class Alertmanager:
    """The real prometheus-alertmanager binary, clustering off, fast timers."""

    def __init__(
        self, tmp: Path, webhook_url: str, token: str, config: dict[str, Any] | None = None
    ) -> None:
        """``config``: an alertmanager.yml of the test's own instead of the fast default."""
        self.binary = require_binary("prometheus-alertmanager")
        self.port = 0  # bound by Alertmanager itself; read back from its log
        self.url = ""
        self.dir = tmp / "alertmanager"
        self.dir.mkdir()
        config = config or {
            "route": {
                "receiver": "router",
                "group_by": ["alertname"],
                "group_wait": "100ms",
                "group_interval": "200ms",
                "repeat_interval": "1s",
            },
            "receivers": [
                {
                    "name": "router",
                    "webhook_configs": [
                        {
                            "url": webhook_url,
                            "send_resolved": True,
                            "http_config": {"authorization": {"credentials": token}},
                        }
                    ],
                }
            ],
        }
        (self.dir / "am.yml").write_text(yaml.safe_dump(config))
        self.proc: subprocess.Popen[bytes] | None = None

    def _bound(self) -> bool:
        assert self.proc is not None
        log = (self.dir / "log").read_text(errors="replace")
        if self.proc.poll() is not None:
            raise AssertionError(f"alertmanager exited: {log}")
        found = _AM_LISTENING.search(log)
        if found is None:
            return False
        self.port = int(found.group(1))
        self.url = f"http://127.0.0.1:{self.port}"
        return True

    def start(self) -> Alertmanager:
        with (self.dir / "log").open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    self.binary,
                    f"--config.file={self.dir / 'am.yml'}",
                    f"--storage.path={self.dir / 'data'}",
                    "--web.listen-address=127.0.0.1:0",
                    "--cluster.listen-address=",
                    "--log.level=info",  # its "Listening on" line names the port
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

        wait_for(self._bound, 20, f"Alertmanager's port (log: {self.dir / 'log'})")

        def ready() -> bool:
            try:
                return http("GET", f"{self.url}/-/ready")[0] == 200
            except OSError:
                return False

        wait_for(ready, 20, "alertmanager /-/ready")
        return self

    def reconfigure(self, config: dict[str, Any]) -> None:
        """A new alertmanager.yml, loaded at once (``POST /-/reload``)."""
        (self.dir / "am.yml").write_text(yaml.safe_dump(config))
        status, body = http("POST", f"{self.url}/-/reload")
        assert status == 200, body

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        status, _ = http("POST", f"{self.url}/api/v2/alerts", alerts)
        assert status == 200, status

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
        if self.proc:
            self.proc.wait(10)


@pytest.fixture
def start_router(tmp_path: Path) -> Iterator[Callable[..., RouterProcess]]:
    started: list[RouterProcess] = []

    def start(**env: str) -> RouterProcess:
        router = RouterProcess(tmp_path, env)
        started.append(router)
        return router.start()

    yield start
    for router in started:
        router.stop()
