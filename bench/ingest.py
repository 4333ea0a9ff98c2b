"""Ingest throughput against a bare FastAPI baseline, batch time, and idle latency.

Run: .venv/bin/python bench/ingest.py [--seconds 8] [--write]
Both servers: one uvicorn worker, same settings, same 2 KB Alertmanager body
(a new group each request, so every request stores alerts, a message and an
outbox entry). The load generator shares the machine: compare the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.search import pct, publish  # noqa: E402
from tests.fakes.slack import FakeSlack  # noqa: E402

TOKEN = "bench-token"
CONCURRENCY = 16


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def body(i: int, alerts: int = 4) -> bytes:
    data: dict[str, Any] = {
        "version": "4",
        "groupKey": f"{{}}:{{job=\"bench\",n=\"{i}\"}}",
        "status": "firing",
        "receiver": "runbook-router",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "BenchAlert", "job": "bench", "instance": f"host-{i}-{k}:9100",
                           "severity": "warning", "shard": str(i % 10), "n": str(i)},
                "annotations": {"summary": f"bench alert {i}/{k}", "description": "x" * 200},
                "startsAt": "2026-11-22T01:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
                "fingerprint": f"{i:08x}{k:08x}",
            }
            for k in range(alerts)
        ],
    }  # fmt: skip
    return json.dumps(data).encode()


def start(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        args,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


async def load(port: int, seconds: float, offset: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(offset, offset + 10_000_000))
    end = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:

        async def worker() -> None:
            nonlocal errors
            while time.monotonic() < end:
                payload = body(next(counter))
                t0 = time.perf_counter()
                response = await client.post(
                    "/webhooks/alertmanager", content=payload, headers=headers
                )
                latencies.append((time.perf_counter() - t0) * 1000)
                errors += response.status_code != 202

        t0 = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return len(latencies) / (time.monotonic() - t0), latencies, errors


def routes(folder: Path) -> str:
    lines = ["defaults: {channel: '#alerts'}", "routes:"]
    lines += [
        f"  - {{name: s{s}, matchers: ['shard=\"{s}\"'], channel: '#bench-{s}'}}" for s in range(10)
    ]
    path = folder / "routes.yaml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="router-bench-"))
    slack = FakeSlack().start()
    uvicorn = [
        sys.executable,
        "-m",
        "uvicorn",
        "--no-access-log",
        "--log-level",
        "warning",
        "--host",
        "127.0.0.1",
    ]

    bare_port = free_port()
    bare = start([*uvicorn, "--port", str(bare_port), "bench.bare_app:app"], {}, bare_port)
    bare_rps, bare_lat, _ = asyncio.run(load(bare_port, args.seconds, 0))
    bare.terminate()
    bare.wait()

    port = free_port()
    env = {
        "ROUTER_CONFIG": routes(tmp), "ROUTER_RUNBOOKS": str(ROOT / "runbooks"),
        "ROUTER_DATABASE_URL": f"sqlite:///{tmp}/router.db", "ALERTMANAGER_TOKEN": TOKEN,
        "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": slack.base_url,
        "ROUTER_LOG_LEVEL": "WARNING", "ROUTER_RELOAD_INTERVAL": "0",
    }  # fmt: skip
    router = start([*uvicorn, "--port", str(port), "--factory", "router.app:create_app"], env, port)
    try:
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        # Idle latency first, while nothing else is queued: one alert at a time, each to
        # a channel idle for a second or more, over one kept-alive connection as
        # Alertmanager keeps; the Slack call is matched by the alert's own summary.
        latencies = []
        sender = httpx.Client()
        for i in range(40):
            n = 6_000_000 + i * 10 + (i % 10)
            marker = f"bench alert {n}/0"
            t0 = time.monotonic()
            sender.post(
                f"http://127.0.0.1:{port}/webhooks/alertmanager",
                content=body(n, alerts=1),
                headers=headers,
            )
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

        rps, lat, errors = asyncio.run(load(port, args.seconds, 1_000_000))
        batch_times = []
        for b in range(5):
            big = body(5_000_000 + b, alerts=1000)
            t0 = time.perf_counter()
            assert (
                httpx.post(
                    f"http://127.0.0.1:{port}/webhooks/alertmanager",
                    content=big,
                    headers=headers,
                    timeout=60,
                ).status_code
                == 202
            )
            batch_times.append(time.perf_counter() - t0)

    finally:
        router.terminate()
        router.wait()
        slack.stop()

    ratio = rps / bare_rps
    batch = statistics.median(batch_times)
    p50, p99 = statistics.median(latencies), pct(latencies, 99)
    report = "\n".join([
        f"## Ingest ({datetime.now(UTC):%Y-%m-%d})",
        "",
        f"`python bench/ingest.py --seconds {args.seconds:g}`: {CONCURRENCY} concurrent clients for {args.seconds:g} s each, "
        "one uvicorn worker per server, the load generator on the same machine.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; SQLite (synchronous=FULL).",
        "",
        "| server | req/s | p50 ms | p99 ms |",
        "| --- | --- | --- | --- |",
        f"| bare FastAPI, parse only | {bare_rps:.0f} | {statistics.median(bare_lat):.1f} | {pct(bare_lat, 99):.1f} |",
        f"| runbook-router, stored durably | {rps:.0f} | {statistics.median(lat):.1f} | {pct(lat, 99):.1f} |",
        "",
        f"- Throughput ratio router/bare: **{ratio:.2f}x** (target ≥ 0.5x: {'met' if ratio >= 0.5 else 'MISSED'}); {errors} non-202 answers.",
        f"- 1,000-alert batch, time to 2xx: median **{batch * 1000:.0f} ms** of 5 (target 500 ms: {'met' if batch <= 0.5 else 'MISSED'}).",
        f"- Receipt to Slack call when idle: p50 **{p50:.1f} ms**, p99 **{p99:.1f} ms** over {len(latencies)} alerts "
        f"(target p99 100 ms: {'met' if p99 <= 100 else 'MISSED'}).",
        "",
    ])  # fmt: skip
    publish(report, write=args.write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
