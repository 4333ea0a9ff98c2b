"""Ingest throughput and latency, driven by wrk, beside a bare FastAPI endpoint in the same run.

Run: .venv/bin/python bench/ingest.py [--seconds 5] [--write] [--no-postgres]
Needs wrk (installed by .ci/run; apt-get install wrk) and, for the PostgreSQL
rows, the PostgreSQL server binaries the tests use.

Every server gets the same 2 KB Alertmanager body of 4 alerts, made unique per
request by bench/unique_alerts.lua (a new group each time: every request stores
alerts, a message and an outbox entry, and the dispatcher posts to a fake
Slack in the same process). The bare endpoint is measured in the same run: the
rate wrk drives it at is the generator's demonstrated ceiling, so a router rate
far below it is the router's, not wrk's.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.search import pct, publish  # noqa: E402
from tests.conftest import sharded_routes  # noqa: E402
from tests.fakes import postgres  # noqa: E402
from tests.fakes.slack import FakeSlack  # noqa: E402

TOKEN = "bench-token"
CONNECTIONS = 16
SCRIPT = ROOT / "bench/unique_alerts.lua"


@dataclass(frozen=True)
class Run:
    """One wrk run: what it drove and how the server answered."""

    rate: float
    p50: float
    p99: float
    non2xx: int
    errors: int

    def row(self, name: str) -> str:
        return f"| {name} | {self.rate:,.0f} | {self.p50:.1f} | {self.p99:.1f} | {self.non2xx} |"


def wrk(port: int, seconds: float, connections: int = CONNECTIONS, pause_ms: float = 0) -> Run:
    """wrk with the unique-alerts script; ``pause_ms`` paces each connection."""
    command = [
        "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
        "-s", str(SCRIPT), "-H", f"Authorization: Bearer {TOKEN}",
        f"http://127.0.0.1:{port}/webhooks/alertmanager", "--", str(pause_ms),
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("JSON "))
    data = json.loads(line.removeprefix("JSON "))
    return Run(
        data["requests"] / data["seconds"],
        data["p50_ms"],
        data["p99_ms"],
        data["non2xx"],
        data["errors"],
    )


def cpu_seconds(pid: int) -> float:
    """User and system CPU the process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk_with_cpu(proc: subprocess.Popen[bytes], port: int, seconds: float) -> tuple[Run, float]:
    """A wrk run, and the server's CPU time per request answered (ms)."""
    before = cpu_seconds(proc.pid)
    run = wrk(port, seconds)
    return run, (cpu_seconds(proc.pid) - before) * 1000 / (run.rate * seconds)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(
    app: list[str], env: dict[str, str], workers: int = 1
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "--no-access-log", "--log-level", "warning",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), *app,
    ]  # fmt: skip
    proc = subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(30)


def body(i: int, alerts: int) -> bytes:
    data: dict[str, Any] = {
        "version": "4",
        "groupKey": f'{{}}:{{job="bench",n="{i}"}}',
        "status": "firing",
        "receiver": "runbook-router",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "BenchAlert", "job": "bench", "instance": f"host-{i}-{k}",
                           "severity": "warning", "shard": str((i + k) % 10), "n": str(i)},
                "annotations": {"summary": f"bench alert {i}/{k}", "description": "x" * 200},
                "startsAt": "2026-11-22T01:00:00Z",
                "fingerprint": f"{i:08x}{k:08x}",
            }
            for k in range(alerts)
        ],
    }  # fmt: skip
    return json.dumps(data).encode()


def idle_latency(port: int, slack: FakeSlack) -> list[float]:
    """Receipt to Slack call, one alert at a time over one kept-alive connection."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    latencies = []
    with httpx.Client() as sender:
        for i in range(40):
            n = 6_000_000 + i
            marker = f"bench alert {n}/0"
            t0 = time.monotonic()
            url = f"http://127.0.0.1:{port}/webhooks/alertmanager"
            sender.post(url, content=body(n, alerts=1), headers=headers)
            arrived = None
            while arrived is None and time.monotonic() - t0 < 5:
                for (_, sent), when in zip(list(slack.calls), list(slack.call_times), strict=False):
                    if marker in str(sent.get("text", "")):
                        arrived = when
                        break
                else:
                    time.sleep(0.0005)
            latencies.append(((arrived or time.monotonic()) - t0) * 1000)
            time.sleep(0.15)
    return latencies


def batch_times(port: int) -> list[float]:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    times = []
    for b in range(5):
        t0 = time.perf_counter()
        answer = httpx.post(
            f"http://127.0.0.1:{port}/webhooks/alertmanager",
            content=body(5_000_000 + b, alerts=1000),
            headers=headers,
            timeout=60,
        )
        assert answer.status_code == 202, answer.text
        times.append(time.perf_counter() - t0)
    return times


def router_env(tmp: Path, slack: FakeSlack, database_url: str) -> dict[str, str]:
    return {
        "ROUTER_CONFIG": sharded_routes(tmp, 10, "#bench"), "ROUTER_RUNBOOKS": str(ROOT / "runbooks"),
        "ROUTER_DATABASE_URL": database_url, "ALERTMANAGER_TOKEN": TOKEN,
        "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": slack.base_url,
        "ROUTER_LOG_LEVEL": "WARNING", "ROUTER_RELOAD_INTERVAL": "0",
    }  # fmt: skip


ROUTER_APP = ["--factory", "router.app:create_app"]


def sqlite_runs(tmp: Path, slack: FakeSlack, seconds: float) -> dict[str, Any]:
    env = router_env(tmp, slack, f"sqlite:///{tmp}/router.db")
    proc, port = start(ROUTER_APP, env)
    try:
        idle = idle_latency(port, slack)
        peak, cpu = wrk_with_cpu(proc, port, seconds)
        # Half the peak rate, paced: each connection waits between its requests.
        connections = 8
        pause = max(0.0, connections / (peak.rate / 2) * 1000 - 2.0)  # minus a latency
        half = wrk(port, seconds, connections, pause_ms=pause)
        batches = batch_times(port)
    finally:
        stop(proc)
    return {"idle": idle, "peak": peak, "half": half, "batches": batches, "cpu": cpu}


def postgres_runs(tmp: Path, slack: FakeSlack, seconds: float) -> dict[int, Run]:
    server = postgres.PostgresServer(tmp / "pg").start()
    results = {}
    try:
        for workers in (1, 2, 4):
            env = router_env(tmp, slack, server.new_database())
            proc, port = start(ROUTER_APP, env, workers)
            try:
                wrk(port, 1, 4 * workers)  # every worker has its schema and connections
                results[workers] = wrk(port, seconds, CONNECTIONS * 2)
            finally:
                stop(proc)
    finally:
        server.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk; .ci/run installs it)")
    tmp = Path(tempfile.mkdtemp(prefix="router-bench-"))
    tmp.chmod(0o755)  # the PostgreSQL server runs as its own user
    slack = FakeSlack().start()
    # The fake Slack stamps each call as it arrives, in this process: a full collection
    # here (60 ms, seen) would show as the router's latency. Keep this heap out of them.
    gc.collect()
    gc.freeze()
    try:
        proc, port = start(["bench.bare_app:app"], {})
        try:
            bare, bare_cpu = wrk_with_cpu(proc, port, args.seconds)
        finally:
            stop(proc)
        sqlite = sqlite_runs(tmp, slack, args.seconds)
        pg = {} if args.no_postgres else postgres_runs(tmp, slack, args.seconds)
    finally:
        slack.stop()
    publish(report(args.seconds, (bare, bare_cpu), sqlite, pg), write=args.write)
    return 0


def report(
    seconds: float, bare_run: tuple[Run, float], sqlite: dict[str, Any], pg: dict[int, Run]
) -> str:
    bare, bare_cpu = bare_run
    peak: Run = sqlite["peak"]
    half: Run = sqlite["half"]
    ratio = peak.rate / bare.rate
    batch = statistics.median(sqlite["batches"])
    idle = sqlite["idle"]
    lines = [
        f"## Ingest ({datetime.now(UTC):%Y-%m-%d})",
        "",
        f"`python bench/ingest.py --seconds {seconds:g}`: wrk (1 thread, {CONNECTIONS} connections, "
        f"{seconds:g} s a run; bench/unique_alerts.lua), the bare endpoint and the router in the "
        "same run, one after the other, on the same machine as wrk and a fake Slack.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.",
        "",
        "| server | req/s | p50 ms | p99 ms | non-2xx |",
        "| --- | --- | --- | --- | --- |",
        bare.row("bare FastAPI, parse only (the generator's ceiling is at least this)"),
        peak.row("router, SQLite (synchronous=FULL), 1 worker, peak"),
        half.row("router, SQLite, 1 worker, paced to about half the peak"),
    ]
    for workers, run in pg.items():
        lines.append(
            run.row(f"router, PostgreSQL, {workers} worker(s), {CONNECTIONS * 2} connections")
        )
    lines += [
        "",
        f"- wrk drove the bare endpoint at {bare.rate / peak.rate:.0f}x the router's rate: "
        "the generator is not what limits the router.",
        f"- Router/bare, SQLite, 1 worker: **{ratio:.3f}x** (target ≥ 0.5x: "
        f"{'met' if ratio >= 0.5 else 'MISSED'}); {peak.non2xx} non-2xx, {peak.errors} errors.",
        f"- CPU per request answered, at peak: router **{sqlite['cpu']:.2f} ms**, bare endpoint "
        f"**{bare_cpu:.2f} ms** (each process is one core at most: the GIL).",
        f"- p99 at {half.rate:,.0f} req/s (about half the peak): **{half.p99:.1f} ms** "
        f"(target ≤ 25 ms: {'met' if half.p99 <= 25 else 'MISSED'}).",
    ]
    if pg:
        scale = pg[4].rate / pg[1].rate
        lines.append(
            f"- PostgreSQL, 4 workers / 1 worker: **{scale:.2f}x** on {os.cpu_count()} cores "
            "(target ≥ 2.5x on ≥ 4 cores)."
        )
    lines += [
        f"- 1,000-alert batch, time to 2xx: median **{batch * 1000:.0f} ms** of 5.",
        f"- Receipt to Slack call when idle: p50 **{statistics.median(idle):.1f} ms**, "
        f"p99 **{pct(idle, 99):.1f} ms** over {len(idle)} alerts.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
