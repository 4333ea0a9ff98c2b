"""A PagerDuty stand-in for httpx2.MockTransport: REST notes and acks, who is on call
(``GET /oncalls``), Events API v2."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx2


def _json(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx2.Response:
    return httpx2.Response(
        status, headers=headers or {}, stream=httpx2.ByteStream(json.dumps(body).encode())
    )


class FakePagerDuty:
    """Answers like api.pagerduty.com and events.pagerduty.com; scripted failures first."""

    def __init__(self) -> None:
        self.requests: list[httpx2.Request] = []
        self.script: list[tuple[int, dict[str, str]]] = []
        self.users: set[str] = {"router@example.com"}  # emails PagerDuty knows for From
        self.oncalls: dict[str, list[dict[str, Any]]] = {}  # schedule or policy ID -> entries
        self.down = False  # every request fails to connect
        self.hang = threading.Event()  # set: answers wait until it is cleared (a slow PD)

    @property
    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.handler)

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if self.down:
            raise httpx2.ConnectError("connection refused", request=request)
        while self.hang.is_set():
            self.hang.wait(0.01)
        if self.script:
            status, headers = self.script.pop(0)
            return _json(status, {"error": {"message": "scripted"}}, headers)
        if request.method == "GET" and request.url.path == "/oncalls":
            return self._oncalls(request)
        body = json.loads(request.content or b"{}")
        if request.url.path == "/v2/enqueue":
            return _json(
                202,
                {"status": "success", "message": "Event processed", "dedup_key": body["dedup_key"]},
            )
        if request.headers.get("From") not in self.users:
            return _json(400, {"error": {"message": "Requester User Not Found", "code": 2100}})
        if request.method == "PUT" and request.url.path == "/incidents":
            return _json(200, {"incidents": body["incidents"]})
        if request.url.path.endswith("/notes"):
            return _json(201, {"note": {"id": "PNOTE1", "content": body["note"]["content"]}})
        return _json(404, {"error": {"message": "Not Found"}})

    def _oncalls(self, request: httpx2.Request) -> httpx2.Response:
        params = request.url.params
        assert params.get_list("include[]") == ["users"]
        wanted = params.get_list("schedule_ids[]") + params.get_list("escalation_policy_ids[]")
        found = [e for pd_id in wanted for e in self.oncalls.get(pd_id, [])]
        return _json(200, {"oncalls": found, "limit": 25, "offset": 0, "more": False})

    def on_call(
        self,
        pd_id: str,
        name: str,
        email: str,
        *,
        schedule: str | None = "Database Primary",
        level: int = 1,
        start: str = "2026-11-16T08:00:00Z",
        end: str | None = "2026-11-23T08:00:00Z",
    ) -> None:
        """Someone on call for a schedule or policy, as ``GET /oncalls?include[]=users``
        shows them (the user in full, with its email)."""
        entry: dict[str, Any] = {
            "escalation_policy": {"id": "PPOLICY", "type": "escalation_policy_reference",
                                  "summary": "Database"},
            "escalation_level": level,
            "schedule": {"id": pd_id, "type": "schedule_reference", "summary": schedule}
            if schedule else None,
            "user": {"id": f"PU{len(self.oncalls)}", "type": "user", "name": name,
                     "summary": name, "email": email},
            "start": start,
            "end": end,
        }  # fmt: skip
        self.oncalls.setdefault(pd_id, []).append(entry)

    def asked(self, path: str = "/oncalls") -> int:
        return sum(1 for r in self.requests if r.url.path == path)

    def bodies(self, path_end: str = "", method: str | None = None) -> list[dict[str, Any]]:
        return [
            json.loads(r.content)
            for r in self.requests
            if r.url.path.endswith(path_end) and (method is None or r.method == method)
        ]
