"""``runbook-router demo``: send sample alerts to a running router, as Alertmanager would."""

from __future__ import annotations

import hashlib
import json
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

SAMPLES: list[dict[str, str]] = [
    {"alertname": "DatabaseConnectionPoolHigh", "env": "prod", "severity": "critical", "instance": "pgbouncer-0:9127",
     "namespace": "production", "pod": "pgbouncer-0", "summary": "Connection pool for main is 96% used"},
    {"alertname": "DatabaseConnectionPoolHigh", "env": "prod", "severity": "critical", "instance": "pgbouncer-1:9127",
     "namespace": "production", "pod": "pgbouncer-1", "summary": "Connection pool for main is 93% used"},
    {"alertname": "QueueDepthHigh", "severity": "warning", "queue": "emails", "summary": "14,210 jobs waiting in emails"},
    # cert-manager's metrics name a certificate `name` in `exported_namespace` (RUN-008 fills them).
    {"alertname": "CertificateExpiringSoon", "severity": "warning", "name": "api-tls",
     "exported_namespace": "production", "summary": "Certificate api-tls expires in 9 days"},
]  # fmt: skip


def webhooks(status: str, now: datetime) -> list[dict[str, Any]]:
    """One Alertmanager webhook (version 4) per alertname, as groups are sent."""
    started = now - timedelta(minutes=3)
    groups: dict[str, list[dict[str, str]]] = {}
    for sample in SAMPLES:
        groups.setdefault(sample["alertname"], []).append(sample)
    bodies = []
    for name, samples in groups.items():
        alerts = []
        for sample in samples:
            labels = {k: v for k, v in sample.items() if k != "summary"}
            alerts.append(
                {
                    "status": status,
                    "labels": labels,
                    "annotations": {"summary": sample["summary"]},
                    "startsAt": started.isoformat(),
                    "endsAt": now.isoformat() if status == "resolved" else "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prometheus.example:9090/graph",
                    "fingerprint": "demo-"
                    + hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:12],
                }
            )
        bodies.append(
            {
                "version": "4",
                "groupKey": f'{{}}:{{alertname="{name}"}}',
                "status": status,
                "receiver": "runbook-router",
                "groupLabels": {"alertname": name},
                "commonLabels": {"alertname": name},
                "commonAnnotations": {},
                "externalURL": "http://alertmanager.example:9093",
                "alerts": alerts,
            }
        )
    return bodies


def send(url: str, token: str | None, body: dict[str, Any]) -> tuple[int, str]:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{url}: expected an http(s) URL")
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
        f"{url.rstrip('/')}/webhooks/alertmanager",
        data=json.dumps(body).encode(),
        headers=headers,
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the operator's URL
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def run(url: str, token: str | None, resolve_after: float | None) -> int:
    """Send the samples (and resolve them later); print each answer; 1 if any failed,
    with one line on stderr saying why."""
    sent, refused = 0, []
    phases = [("firing", 0.0)] + (
        [("resolved", resolve_after)] if resolve_after is not None else []
    )
    for status, wait in phases:
        time.sleep(wait)
        for body in webhooks(status, datetime.now(UTC)):
            try:
                code, answer = send(url, token, body)
            except ValueError as exc:
                print(f"demo: {exc}", file=sys.stderr)
                return 1
            except OSError as exc:
                reason = getattr(exc, "reason", exc)  # urllib wraps the socket's error
                why = getattr(reason, "strerror", None) or str(reason)
                print(f"demo: cannot reach {url}: {why} (is the router running?)", file=sys.stderr)
                return 1
            name = body["groupLabels"]["alertname"]
            print(f"{status:8} {name:28} -> {code} {answer.strip()[:120]}")
            sent += 1
            if not 200 <= code < 300:
                refused.append(code)
    if refused:
        hint = ""
        if 401 in refused:
            hint = (
                "; 401: set ALERTMANAGER_TOKEN to the router's token"
                if token is None
                else "; 401: ALERTMANAGER_TOKEN is not the router's token"
            )
        print(f"demo failed: {len(refused)} of {sent} webhooks not accepted{hint}", file=sys.stderr)
        return 1
    return 0
