"""A storm: 5,000 alerts in 60 s against the fake Slack.

Run: .venv/bin/python bench/storm.py [--alerts 5000] [--seconds 60] [--write]
Reports Slack calls per channel per second (target: at most 1) and whether every
alert is accounted for in some Slack message (target: all).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import start, stop  # noqa: E402
from bench.search import publish  # noqa: E402
from tests.fakes.slack import FakeSlack  # noqa: E402

TOKEN = "storm-token"
NAMES = [
    "KubePodCrashLooping",
    "QueueDepthHigh",
    "DatabaseConnectionPoolHigh",
    "HighErrorRate",
    "NodeDown",
    "DiskFull",
]


def batch(start_n: int, count: int) -> dict[str, Any]:
    alerts = []
    for n in range(start_n, start_n + count):
        name = NAMES[n % len(NAMES)]
        labels = {
            "alertname": name,
            "severity": "warning",
            "instance": f"host-{n}:9100",
            "env": "prod",
            "container": "worker",
        }
        alerts.append({"status": "firing", "labels": labels, "annotations": {"summary": f"{name} on host-{n}"},
                       "startsAt": "2026-11-22T01:00:00Z", "fingerprint": f"{n:016x}"})  # fmt: skip
    return {
        "version": "4",
        "groupKey": f'{{}}:{{batch="{start_n}"}}',
        "status": "firing",
        "alerts": alerts,
    }


def busiest_second(times: list[float]) -> int:
    """Most calls in any one-second window."""
    times = sorted(times)
    best, left = 0, 0
    for right, t in enumerate(times):
        while t - times[left] >= 1.0:
            left += 1
        best = max(best, right - left + 1)
    return best


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="router-storm-"))
    slack = FakeSlack().start()
    db = tmp / "router.db"
    env = {
        "ROUTER_CONFIG": str(ROOT / "routes.yaml"), "ROUTER_RUNBOOKS": str(ROOT / "runbooks"),
        "ROUTER_DATABASE_URL": f"sqlite:///{db}", "ALERTMANAGER_TOKEN": TOKEN, "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": slack.base_url, "ROUTER_LOG_LEVEL": "WARNING", "ROUTER_RELOAD_INTERVAL": "0",
    }  # fmt: skip
    router, port = start(["--factory", "router.app:create_app"], env)
    per_batch = 100
    batches = max(1, args.alerts // per_batch)
    interval = args.seconds / batches
    accepted = 0
    try:
        t0 = time.monotonic()
        for b in range(batches):
            due = t0 + b * interval
            time.sleep(max(0.0, due - time.monotonic()))
            r = httpx.post(f"http://127.0.0.1:{port}/webhooks/alertmanager", json=batch(b * per_batch, per_batch),
                           headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)  # fmt: skip
            accepted += per_batch if r.status_code == 202 else 0
        time.sleep(5)  # let the last edits out
    finally:
        stop(router)
        slack.stop()
    by_channel: dict[str, list[float]] = defaultdict(list)
    for (_, body), when in zip(slack.calls, slack.call_times, strict=True):
        by_channel[str(body.get("channel"))].append(when)
    worst = max((busiest_second(t) for t in by_channel.values()), default=0)
    with sqlite3.connect(db) as conn:
        in_messages = conn.execute(
            "SELECT COUNT(DISTINCT alert_id) FROM message_alerts"
        ).fetchone()[0]
        storms = conn.execute("SELECT COUNT(*) FROM messages WHERE kind = 'storm'").fetchone()[0]
        messages = conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
    report = "\n".join([
        f"## Storm ({datetime.now(UTC):%Y-%m-%d})",
        "",
        f"`python bench/storm.py --alerts {args.alerts} --seconds {args.seconds:g}`: {accepted} alerts accepted in "
        f"{batches} batches over {args.seconds:g} s, example routes.yaml (storm: 10 alerts in 5m).",
        "",
        f"- Slack calls: {len(slack.calls)} for {messages} messages ({storms} storm message); busiest channel-second: "
        f"**{worst}** call(s) (target ≤ 1: {'met' if worst <= 1 else 'MISSED'}).",
        f"- Alerts in some Slack message: **{in_messages} of {accepted}** (target all: {'met' if in_messages == accepted else 'MISSED'}).",
        "",
    ])  # fmt: skip
    publish(report, write=args.write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
