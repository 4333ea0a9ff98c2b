"""A PagerDuty stand-in for httpx2.MockTransport: REST notes and acks, Events API v2."""

from __future__ import annotations

import json
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

    @property
    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.handler)

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if self.script:
            status, headers = self.script.pop(0)
            return _json(status, {"error": {"message": "scripted"}}, headers)
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

    def bodies(self, path_end: str = "", method: str | None = None) -> list[dict[str, Any]]:
        return [
            json.loads(r.content)
            for r in self.requests
            if r.url.path.endswith(path_end) and (method is None or r.method == method)
        ]
