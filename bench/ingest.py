"""Ingest throughput and latency, driven by wrk, beside its peers in the same run.

Run: .venv/bin/python bench/ingest.py [--seconds 5] [--write] [--no-postgres]
        [--load sharded|realistic|all] [--history N]
Needs wrk (installed by .ci/run; apt-get install wrk), prometheus-alertmanager (the
e2e tests' binary) and, for the PostgreSQL rows, the PostgreSQL server binaries the
tests use.

Two loads, each a new group of 4 alerts per request (bench/unique_alerts.lua: every
request stores alerts, a message and an outbox entry, and the dispatcher posts to a
fake Slack in the same process):
- sharded: ten sharded routes, no storm policy, the 4 alerts on 4 routes and channels;
- realistic: bench/realistic_routes.yaml, a team's nested Alertmanager route tree with
  the storm policy on, most alerts to one busy channel.
On each load, in the same run and on the same alerts: the bare FastAPI endpoint
(bench/bare_app.py, parse only), the real Alertmanager's own ``POST /api/v2/alerts``
(the peer that sits in front of the router; in memory), and the router. The fastest of
them is the generator's demonstrated ceiling, so a router rate far below it is the
router's, not wrk's. ``--history N``: the realistic load again on a database already
holding N resolved alerts (seeded directly, with their messages, members and done
outbox rows), against an empty one.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.search import pct, publish  # noqa: E402
from tests.e2e.processes import Alertmanager  # noqa: E402
from tests.fakes import postgres  # noqa: E402
from tests.fakes.slack import FakeSlack  # noqa: E402
from tests.helpers import sharded_routes  # noqa: E402

TOKEN = "bench-token"
CONNECTIONS = 16
SCRIPT = ROOT / "bench/unique_alerts.lua"
REALISTIC_ROUTES = ROOT / "bench/realistic_routes.yaml"
WEBHOOK = "/webhooks/alertmanager"
ALERTMANAGER_API = "/api/v2/alerts"

Load = Literal["sharded", "realistic"]
Shape = Literal["webhook", "api"]
"""bench/unique_alerts.lua's LOAD and FORMAT: which alerts, and as whose body."""


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


def wrk(
    url: str,
    seconds: float,
    connections: int = CONNECTIONS,
    pause_ms: float = 0,
    load: Load = "sharded",
    shape: Shape = "webhook",
) -> Run:
    """wrk with the unique-alerts script; ``pause_ms`` paces each connection."""
    command = [
        "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
        "-s", str(SCRIPT), "-H", f"Authorization: Bearer {TOKEN}",
        url, "--", f"{pause_ms:g}", load, shape,
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
    """User and system CPU the process has used, all its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Measured:
    """A wrk run and the server's CPU time per request answered (ms)."""

    run: Run
    cpu_ms: float


def wrk_with_cpu(pid: int, url: str, seconds: float, load: Load, shape: Shape) -> Measured:
    before = cpu_seconds(pid)
    run = wrk(url, seconds, load=load, shape=shape)
    return Measured(run, (cpu_seconds(pid) - before) * 1000 / (run.rate * seconds))


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


def body(i: int, alerts: int, status: str = "firing") -> bytes:
    data: dict[str, Any] = {
        "version": "4",
        "groupKey": f'{{}}:{{job="bench",n="{i}"}}',
        "status": status,
        "receiver": "runbook-router",
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "BenchAlert", "job": "bench", "instance": f"host-{i}-{k}",
                           "severity": "warning", "shard": str((i + k) % 10), "n": str(i)},
                "annotations": {"summary": f"bench alert {i}/{k}", "description": "x" * 200},
                "startsAt": "2026-11-22T01:00:00Z",
                **({"endsAt": "2026-11-22T01:30:00Z"} if status == "resolved" else {}),
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
            url = f"http://127.0.0.1:{port}{WEBHOOK}"
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
            f"http://127.0.0.1:{port}{WEBHOOK}",
            content=body(5_000_000 + b, alerts=1000),
            headers=headers,
            timeout=60,
        )
        assert answer.status_code == 202, answer.text
        times.append(time.perf_counter() - t0)
    return times


def routes_file(tmp: Path, load: Load) -> str:
    return sharded_routes(tmp, 10, "#bench") if load == "sharded" else str(REALISTIC_ROUTES)


def router_env(tmp: Path, slack: FakeSlack, database_url: str, load: Load) -> dict[str, str]:
    return {
        "ROUTER_CONFIG": routes_file(tmp, load), "ROUTER_RUNBOOKS": str(ROOT / "runbooks"),
        "ROUTER_DATABASE_URL": database_url, "ALERTMANAGER_TOKEN": TOKEN,
        "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": slack.base_url,
        "ROUTER_LOG_LEVEL": "WARNING", "ROUTER_RELOAD_INTERVAL": "0",
    }  # fmt: skip


ROUTER_APP = ["--factory", "router.app:create_app"]


def alertmanager_config() -> dict[str, Any]:
    """Clustering off, no receiver to notify: what is measured is its API taking alerts."""
    return {
        "route": {"receiver": "none", "group_by": ["alertname", "cluster", "namespace"]},
        "receivers": [{"name": "none"}],
    }


@dataclass
class LoadResults:
    """One load's runs: the peers', then the router's on SQLite."""

    load: Load
    bare: Measured
    alertmanager: Measured
    peak: Measured
    half: Run
    idle: list[float] = field(default_factory=list)
    batches: list[float] = field(default_factory=list)


def peers(tmp: Path, load: Load, seconds: float) -> tuple[Measured, Measured]:
    """The bare endpoint and Alertmanager's own API, on this load's alerts."""
    proc, port = start(["bench.bare_app:app"], {})
    try:
        bare = wrk_with_cpu(proc.pid, f"http://127.0.0.1:{port}{WEBHOOK}", seconds, load, "webhook")
    finally:
        stop(proc)
    folder = Path(tempfile.mkdtemp(prefix=f"am-{load}-", dir=tmp))
    manager = Alertmanager(folder, "", "", config=alertmanager_config()).start()
    try:
        assert manager.proc is not None
        url = manager.url + ALERTMANAGER_API
        alertmanager = wrk_with_cpu(manager.proc.pid, url, seconds, load, "api")
    finally:
        manager.stop()
    return bare, alertmanager


def router_peak(
    proc: subprocess.Popen[bytes], port: int, seconds: float, load: Load
) -> tuple[Measured, Run]:
    """The router's peak, then paced to about half of it."""
    url = f"http://127.0.0.1:{port}{WEBHOOK}"
    peak = wrk_with_cpu(proc.pid, url, seconds, load, "webhook")
    # Half the peak rate, paced: each connection waits between its requests.
    connections = 8
    pause = max(0.0, connections / (peak.run.rate / 2) * 1000 - 2.0)  # minus a latency
    half = wrk(url, seconds, connections, pause_ms=pause, load=load)
    return peak, half


def load_runs(tmp: Path, slack: FakeSlack, load: Load, seconds: float) -> LoadResults:
    bare, alertmanager = peers(tmp, load, seconds)
    env = router_env(tmp, slack, f"sqlite:///{tmp}/router-{load}.db", load)
    proc, port = start(ROUTER_APP, env)
    try:
        # Idle latency and the batch on the sharded load only: its channels are free.
        idle = idle_latency(port, slack) if load == "sharded" else []
        peak, half = router_peak(proc, port, seconds, load)
        batches = batch_times(port) if load == "sharded" else []
    finally:
        stop(proc)
    return LoadResults(load, bare, alertmanager, peak, half, idle, batches)


def postgres_runs(tmp: Path, slack: FakeSlack, seconds: float) -> dict[int, Run]:
    server = postgres.PostgresServer(tmp / "pg").start()
    results = {}
    try:
        for workers in (1, 2, 4):
            env = router_env(tmp, slack, server.new_database(), "sharded")
            proc, port = start(ROUTER_APP, env, workers)
            url = f"http://127.0.0.1:{port}{WEBHOOK}"
            try:
                wrk(url, 1, 4 * workers)  # every worker has its schema and connections
                results[workers] = wrk(url, seconds, CONNECTIONS * 2)
            finally:
                stop(proc)
    finally:
        server.stop()
    return results


# History: the router's own rows for one resolved group, copied N times directly in SQL.
HISTORY_DAYS = 20.0
"""How far back the seeded history reaches: resolved alerts, all within this."""


def template(tmp: Path, slack: FakeSlack, path: Path) -> None:
    """A database the router migrated, holding one group it received, posted and resolved."""
    env = router_env(tmp, slack, f"sqlite:///{path}", "realistic")
    proc, port = start(ROUTER_APP, env)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    url = f"http://127.0.0.1:{port}{WEBHOOK}"
    try:
        for status in ("firing", "resolved"):
            answer = httpx.post(url, content=body(1, 4, status), headers=headers, timeout=30)
            assert answer.status_code == 202, answer.text
            deadline = time.monotonic() + 30
            while pending(path) and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        stop(proc)


def pending(path: Path) -> int:
    with sqlite3.connect(path) as db:
        query = "SELECT count(*) FROM outbox WHERE state = 'pending' AND kind = 'slack_message'"
        return int(db.execute(query).fetchone()[0])


def columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]


def seed_history(db: sqlite3.Connection, alerts: int, now: float) -> None:
    """``alerts`` resolved alerts, 4 a message, copied from the template's rows.

    Each copy gets its own id, fingerprint, group and message key, its times moved back
    into the last HISTORY_DAYS, and the template's members, events and done outbox rows
    for its message (the message's own outbox entry, whose ``ref`` is the message id).
    """
    (first_alert,) = db.execute("SELECT min(id) FROM alerts").fetchone()
    (message_id,) = db.execute("SELECT id FROM messages WHERE closed = 1").fetchone()
    groups = alerts // 4
    step = HISTORY_DAYS * 86400 / groups
    db.execute("DROP TABLE IF EXISTS temp.seq")
    db.execute("CREATE TEMP TABLE seq (i INTEGER PRIMARY KEY)")
    db.execute(
        "INSERT INTO seq WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s"
        " WHERE i < ?) SELECT i FROM s",
        (groups,),
    )
    ids = {t: db.execute(f"SELECT coalesce(max(id), 0) FROM {t}").fetchone()[0]
           for t in ("alerts", "messages", "message_events", "outbox")}  # fmt: skip
    # A copy's time: the template's, moved to (now - HISTORY_DAYS) + i * step.
    shift = f"({now} - {HISTORY_DAYS * 86400} + seq.i * {step} - t.received_at)"
    times = {"received_at", "updated_at", "resolved_seen_at", "fired_at", "starts_at",
             "ends_at", "created_at", "resolved_at", "added_at", "at", "due_at",
             "enqueued_at", "mirrored_at"}  # fmt: skip

    def copy(table: str, values: dict[str, str], where: str, time_base: str) -> None:
        names = columns(db, table)
        select = [
            values.get(c, f"t.{c} + {shift.replace('t.received_at', time_base)}" if c in times
                       else f"t.{c}")
            for c in names
        ]  # fmt: skip
        db.execute(
            f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(select)}"
            f" FROM seq, {table} AS t WHERE {where}"
        )

    template_alerts = "(SELECT alert_id FROM message_alerts WHERE message_id = ?)"
    base = f"(SELECT received_at FROM alerts WHERE id = {first_alert})"
    # Alert k of copy i: id alerts_max + 4 * (i - 1) + (k + 1), k its place in the template.
    place = f"(t.id - {first_alert})"
    copy(
        "alerts",
        {"id": f"{ids['alerts']} + 4 * (seq.i - 1) + {place} + 1",
         "fingerprint": "t.fingerprint || '-h' || seq.i",
         "group_key": "t.group_key || '-h' || seq.i"},
        f"t.id IN {template_alerts.replace('?', str(message_id))}",
        base,
    )  # fmt: skip
    copy(
        "messages",
        {"id": f"{ids['messages']} + seq.i", "key": "t.key || '-h' || seq.i",
         "group_key": "t.group_key || '-h' || seq.i",
         "slack_ts": "printf('%.6f', 1700000000 + seq.i)"},
        f"t.id = {message_id}",
        base,
    )  # fmt: skip
    copy(
        "message_alerts",
        {"message_id": f"{ids['messages']} + seq.i",
         "alert_id": f"{ids['alerts']} + 4 * (seq.i - 1) + (t.alert_id - {first_alert}) + 1"},
        f"t.message_id = {message_id}",
        base,
    )  # fmt: skip
    events = db.execute(
        "SELECT count(*) FROM message_events WHERE message_id = ?", (message_id,)
    ).fetchone()[0]
    if events:
        copy(
            "message_events",
            {"id": f"{ids['message_events']} + {events} * (seq.i - 1)"
                   f" + (SELECT count(*) FROM message_events AS e WHERE e.message_id = t.message_id"
                   " AND e.id <= t.id)",
             "message_id": f"{ids['messages']} + seq.i"},
            f"t.message_id = {message_id}",
            base,
        )  # fmt: skip
    copy(
        "outbox",
        {"id": f"{ids['outbox']} + seq.i", "ref": f"{ids['messages']} + seq.i",
         "lease_owner": "NULL", "lease_until": "NULL", "slot": "NULL"},
        f"t.kind = 'slack_message' AND t.ref = {message_id} AND t.state = 'done'",
        base,
    )  # fmt: skip
    db.execute("DROP TABLE temp.seq")


def history_database(tmp: Path, slack: FakeSlack, alerts: int) -> tuple[Path, float]:
    """A database holding ``alerts`` resolved alerts of history; the seconds seeding took."""
    path = tmp / f"router-history-{alerts}.db"
    template(tmp, slack, path)
    t0 = time.monotonic()
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous=OFF")
        db.execute("BEGIN")
        seed_history(db, alerts, time.time())
        db.execute("COMMIT")
        db.execute("ANALYZE")  # what a database that grew in use would have by now
    finally:
        db.close()
    os.sync()  # its gigabytes written out now, not during the runs that follow
    return path, time.monotonic() - t0


@dataclass(frozen=True)
class History:
    alerts: int
    seed_seconds: float
    empty: Run
    full: Run


def history_runs(tmp: Path, slack: FakeSlack, alerts: int, seconds: float) -> History:
    """The realistic load on an empty database, then on one with ``alerts`` stored."""
    path, seed_seconds = history_database(tmp, slack, alerts)
    runs = []
    for url in (f"sqlite:///{tmp}/router-empty.db", f"sqlite:///{path}"):
        proc, port = start(ROUTER_APP, router_env(tmp, slack, url, "realistic"))
        try:
            runs.append(wrk(f"http://127.0.0.1:{port}{WEBHOOK}", seconds, load="realistic"))
        finally:
            stop(proc)
    return History(alerts, seed_seconds, *runs)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--load", choices=["sharded", "realistic", "all"], default="all")
    parser.add_argument(
        "--history", type=int, default=1_000_000, help="alerts stored for the history row; 0: none"
    )
    args = parser.parse_args()
    for binary in ("wrk", "prometheus-alertmanager"):
        if shutil.which(binary) is None:
            raise SystemExit(f"{binary} is not installed (apt-get install {binary}; .ci/run does)")
    loads: list[Load] = ["sharded", "realistic"] if args.load == "all" else [args.load]
    tmp = Path(tempfile.mkdtemp(prefix="router-bench-"))
    tmp.chmod(0o755)  # the PostgreSQL server runs as its own user
    slack = FakeSlack().start()
    # The fake Slack stamps each call as it arrives, in this process: a full collection
    # here (60 ms, seen) would show as the router's latency. Keep this heap out of them.
    gc.collect()
    gc.freeze()
    try:
        results = [load_runs(tmp, slack, load, args.seconds) for load in loads]
        history = history_runs(tmp, slack, args.history, args.seconds) if args.history else None
        pg = {} if args.no_postgres else postgres_runs(tmp, slack, args.seconds)
    finally:
        slack.stop()
        shutil.rmtree(tmp, ignore_errors=True)  # the history database is gigabytes
    publish(report(args.seconds, results, history, pg), write=args.write)
    return 0


def commit() -> str:
    """The commit measured, and whether the tree had changes beside it."""

    def git(*command: str) -> str:
        return subprocess.run(
            ["git", *command], capture_output=True, text=True, cwd=ROOT, check=False
        ).stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "router")
    return git("rev-parse", "--short", "HEAD") + (" with router/ changes" if dirty else "")


def met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def load_report(result: LoadResults) -> list[str]:
    bare, manager, peak, half = result.bare, result.alertmanager, result.peak, result.half
    fastest = max(bare.run.rate, manager.run.rate)
    vs_manager = peak.run.rate / manager.run.rate
    title = {
        "sharded": "sharded: ten sharded routes, no storm policy, 4 alerts on 4 routes",
        "realistic": "realistic: bench/realistic_routes.yaml, nested routes, storm policy on, "
        "most alerts to one channel",
    }[result.load]
    lines = [
        f"### Load {title}",
        "",
        "| server | req/s | p50 ms | p99 ms | non-2xx |",
        "| --- | --- | --- | --- | --- |",
        bare.run.row("bare FastAPI, parse only"),
        manager.run.row("Alertmanager `POST /api/v2/alerts`, the same 4 alerts (in memory)"),
        peak.run.row("router, SQLite (synchronous=FULL), 1 worker, peak"),
        half.row("router, SQLite, 1 worker, paced to about half the peak"),
        "",
        f"- Router/Alertmanager: **{vs_manager:.3f}x** (target ≥ 0.5x: {met(vs_manager >= 0.5)});"
        f" router/bare: **{peak.run.rate / bare.run.rate:.3f}x**;"
        f" {peak.run.non2xx} non-2xx, {peak.run.errors} errors.",
        f"- The generator's ceiling: wrk drove the fastest of the three at {fastest:,.0f} req/s,"
        f" {fastest / peak.run.rate:.0f}x the router's rate: wrk is not what limits the router.",
        f"- CPU per request answered, at peak: router **{peak.cpu_ms:.2f} ms**, Alertmanager "
        f"**{manager.cpu_ms:.2f} ms** (all its threads), bare endpoint **{bare.cpu_ms:.2f} ms**.",
        f"- p99 at {half.rate:,.0f} req/s (about half the peak): **{half.p99:.1f} ms** "
        f"(target ≤ 25 ms: {met(half.p99 <= 25)}); {half.non2xx} non-2xx.",
    ]
    if result.batches:
        lines.append(
            f"- 1,000-alert batch, time to 2xx: median "
            f"**{statistics.median(result.batches) * 1000:.0f} ms** of {len(result.batches)}."
        )
    if result.idle:
        idle = result.idle
        lines.append(
            f"- Receipt to Slack call when idle: p50 **{statistics.median(idle):.1f} ms**, "
            f"p99 **{pct(idle, 99):.1f} ms** over {len(idle)} alerts."
        )
    return [*lines, ""]


def report(
    seconds: float, results: list[LoadResults], history: History | None, pg: dict[int, Run]
) -> str:
    lines = [
        f"## Ingest ({datetime.now(UTC):%Y-%m-%d}, {commit()})",
        "",
        f"`python bench/ingest.py --seconds {seconds:g}`: wrk (1 thread, {CONNECTIONS} connections, "
        f"{seconds:g} s a run; bench/unique_alerts.lua, a new group of 4 alerts a request), "
        "the bare endpoint, Alertmanager's API and the router in the same run, one after the "
        "other, on the same machine as wrk and a fake Slack.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.",
        "",
    ]
    for result in results:
        lines += load_report(result)
    if history:
        ratio = history.full.rate / history.empty.rate
        lines += [
            f"### History: {history.alerts:,} resolved alerts stored, the realistic load",
            "",
            "| database | req/s | p50 ms | p99 ms | non-2xx |",
            "| --- | --- | --- | --- | --- |",
            history.empty.row("empty"),
            history.full.row(f"{history.alerts:,} resolved alerts ({history.alerts // 4:,} "
                             "messages, members, done outbox rows)"),
            "",
            f"- With history / empty: **{ratio:.2f}x** (target ≥ 0.8x: {met(ratio >= 0.8)}); "
            f"seeded in {history.seed_seconds:.0f} s (SQL copies of one resolved group the "
            f"router stored, over the last {HISTORY_DAYS:g} days).",
            "",
        ]  # fmt: skip
    if pg:
        lines += [
            "### PostgreSQL, the sharded load",
            "",
            "| server | req/s | p50 ms | p99 ms | non-2xx |",
            "| --- | --- | --- | --- | --- |",
        ]
        for workers, run in pg.items():
            lines.append(
                run.row(f"router, PostgreSQL, {workers} worker(s), {CONNECTIONS * 2} connections")
            )
        lines += [
            "",
            f"- 2 workers / 1 worker: **{pg[2].rate / pg[1].rate:.2f}x**, 4 workers / 1 worker: "
            f"**{pg[4].rate / pg[1].rate:.2f}x** on {os.cpu_count()} cores.",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
