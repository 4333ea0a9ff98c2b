"""An Alertmanager API v2 stand-in for unit tests: an httpx MockTransport over memory.

Silences (POST, GET, DELETE with Alertmanager's answers), alerts as ``GET
/api/v2/alerts`` lists them, ``/api/v2/status``; ``down`` makes every call fail
to connect, ``hold`` blocks the alerts read until released (two replicas at once).
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class FakeAlertmanager:
    now: float = 1_795_320_000.0
    started: float = 1_795_000_000.0
    silences: dict[str, dict[str, Any]] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False
    refuse: str | None = None
    """Answer POST /api/v2/silences with 400 and this text."""
    requests: list[httpx.Request] = field(default_factory=list)
    hold: threading.Event | None = None
    """Set: the alerts read waits for it (and ``holding`` is set while it waits)."""
    holding: threading.Event = field(default_factory=threading.Event)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def fire(
        self,
        fingerprint: str,
        labels: dict[str, str],
        *,
        silenced_by: list[str] | None = None,
        inhibited_by: list[str] | None = None,
    ) -> None:
        muted = bool(silenced_by or inhibited_by)
        self.alerts.append(
            {
                "fingerprint": fingerprint,
                "labels": labels,
                "annotations": {},
                "startsAt": iso(self.now - 600),
                "endsAt": iso(self.now + 240),
                "updatedAt": iso(self.now),
                "receivers": [{"name": "router"}],
                "status": {
                    "state": "suppressed" if muted else "active",
                    "silencedBy": silenced_by or [],
                    "inhibitedBy": inhibited_by or [],
                },
            }
        )

    def silence(self, created_by: str, comment: str, ends_in: float, **labels: str) -> str:
        silence_id = str(uuid.uuid4())
        self.silences[silence_id] = {
            "id": silence_id,
            "matchers": [
                {"name": k, "value": v, "isRegex": False, "isEqual": True}
                for k, v in labels.items()
            ],
            "startsAt": iso(self.now - 60),
            "endsAt": iso(self.now + ends_in),
            "updatedAt": iso(self.now),
            "createdBy": created_by,
            "comment": comment,
            "status": {"state": "active"},
        }
        return silence_id

    def posted(self) -> list[dict[str, Any]]:
        return [
            json.loads(r.content)
            for r in self.requests
            if r.method == "POST" and r.url.path == "/api/v2/silences"
        ]

    def calls(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r.method == method and r.url.path == path)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        path = request.url.path
        path = path[path.index("/api/v2") :] if "/api/v2" in path else path  # Grafana's prefix
        if request.method == "GET" and path == "/api/v2/alerts":
            if self.hold is not None:
                self.holding.set()
                self.hold.wait(10)
            return httpx.Response(200, json=self.alerts)
        if request.method == "GET" and path == "/api/v2/status":
            return httpx.Response(200, json={"uptime": iso(self.started)})
        if request.method == "GET" and path == "/api/v2/silences":
            return httpx.Response(200, json=list(self.silences.values()))
        if request.method == "POST" and path == "/api/v2/silences":
            if self.refuse:
                return httpx.Response(400, json=self.refuse)
            body = json.loads(request.content)
            silence_id = body.get("id") or str(uuid.uuid4())
            if body.get("id") and silence_id not in self.silences:
                return httpx.Response(404, json="silence not found")
            self.silences[silence_id] = {
                **body,
                "id": silence_id,
                "updatedAt": iso(self.now),
                "status": {"state": "active"},
            }
            return httpx.Response(200, json={"silenceID": silence_id})
        if request.method == "DELETE" and path.startswith("/api/v2/silence/"):
            silence_id = path.rsplit("/", 1)[1]
            silence = self.silences.get(silence_id)
            if silence is None:
                return httpx.Response(404)
            if silence["status"]["state"] == "expired":
                return httpx.Response(500, json=f"silence {silence_id} already expired")
            silence["status"] = {"state": "expired"}
            silence["endsAt"] = iso(self.now)
            return httpx.Response(200)
        return httpx.Response(404, text="not found")
