"""Header injection and request smuggling, as raw bytes on the wire to a running router.

The test client cannot send these (it refuses CR/LF in headers), so they go
over a socket to ``runbook-router serve``, through uvicorn's own HTTP parser.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest

from tests.e2e.processes import RouterProcess, http

pytestmark = pytest.mark.e2e

TOKEN = "wire-token"
BODY = b'{"alerts": [{"labels": {"alertname": "Injected", "severity": "critical"}}]}'


def request(headers: list[bytes], body: bytes = BODY) -> bytes:
    lines = [
        b"POST /webhooks/alertmanager HTTP/1.1",
        b"Host: 127.0.0.1",
        b"Connection: close",
        *headers,
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def good(*extra: bytes) -> list[bytes]:
    return [b"Content-Type: application/json", f"Content-Length: {len(BODY)}".encode(), *extra]


AUTH = f"Authorization: Bearer {TOKEN}".encode()
CASES = {
    # A second header smuggled inside a value by a bare CR, LF or NUL.
    "bare CR in a value": good(b"Authorization: Bearer " + TOKEN.encode() + b"\rX-Injected: 1"),
    "bare LF in a value": good(b"X-Note: a\nAuthorization: Bearer " + TOKEN.encode()),
    "NUL in a value": good(AUTH, b"X-Note: a\x00b"),
    # Obsolete line folding: a continuation line carrying another header.
    "obs-fold continuation": good(b"X-Note: a", b" Authorization: Bearer " + TOKEN.encode()),
    "space in a header name": good(AUTH, b"X Injected: 1"),
    "colon-less header line": good(AUTH, b"Just-a-line"),
    # Request smuggling: two different lengths, or a length with chunked encoding.
    "conflicting Content-Length": good(AUTH, b"Content-Length: 3"),
    "Content-Length and Transfer-Encoding": good(AUTH, b"Transfer-Encoding: chunked"),
    # Credentials: the first Authorization counts; a good second one does not rescue it.
    "duplicate Authorization, wrong first": good(b"Authorization: Bearer wrong", AUTH),
    "huge header": good(AUTH, b"X-Pad: " + b"a" * 200_000),
}


def send(port: int, raw: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(raw)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1]) if answer else 0


def test_header_injection_and_smuggling_are_refused(
    start_router: Callable[..., RouterProcess],
) -> None:
    router = start_router(ALERTMANAGER_TOKEN=TOKEN)
    assert send(router.port, request(good(AUTH))) == 202  # the control: well-formed is accepted
    statuses = {name: send(router.port, request(headers)) for name, headers in CASES.items()}
    assert all(400 <= s < 500 for s in statuses.values()), statuses
    assert statuses["huge header"] == 431
    assert statuses["duplicate Authorization, wrong first"] == 401
    listed = http("GET", f"{router.url}/alerts", headers={"Accept": "application/json"})[1][
        "alerts"
    ]
    assert [a["name"] for a in listed] == ["Injected"]  # only the control was stored
    assert listed[0]["repeats"] == 0


NON_ASCII = {
    # (path, header) -> a status below 500; each was a 500 when the bytes were not ASCII.
    "session cookie": ("GET", "/alerts", b"Cookie: router_session=9999999999.\xe9\xe9"),
    "session expiry in other digits": ("GET", "/alerts", "Cookie: router_session=١٢٣.x".encode()),
    "Sentry signature": ("POST", "/webhooks/sentry", b"Sentry-Hook-Signature: \xe9" + b"0" * 63),
    "Slack timestamp": ("POST", "/slack/commands", "X-Slack-Request-Timestamp: ²".encode()),
    "Slack timestamp in other digits": (
        "POST",
        "/slack/commands",
        "X-Slack-Request-Timestamp: ١٧٠٠٠٠٠٠٠٠".encode(),
    ),
    "Slack signature": ("POST", "/slack/events", b"X-Slack-Signature: v0=\xe9"),
    "PagerDuty signature": ("POST", "/webhooks/pagerduty", b"X-PagerDuty-Signature: v1=\xe9"),
    "Datadog secret": ("POST", "/webhooks/datadog", b"X-Router-Secret: \xe9\xe9"),
    "bearer token": ("POST", "/webhooks/alertmanager", b"Authorization: Bearer \xe9\xe9"),
}


def test_non_ascii_credentials_are_refused_not_a_500(
    start_router: Callable[..., RouterProcess],
) -> None:
    router = start_router(
        ALERTMANAGER_TOKEN=TOKEN,
        ROUTER_READ_TOKEN="read-token",
        SENTRY_CLIENT_SECRET="s",
        PAGERDUTY_WEBHOOK_SECRETS="s",
        DATADOG_WEBHOOK_SECRET="s",
        SLACK_SIGNING_SECRET="s",
    )
    now = str(int(time.time())).encode()
    statuses = {}
    for name, (method, path, header) in NON_ASCII.items():
        slack = [b"X-Slack-Request-Timestamp: " + now, b"X-Slack-Signature: v0=" + b"0" * 64]
        extra = [h for h in slack if h.split(b":")[0] not in header] if "/slack/" in path else []
        lines = [
            f"{method} {path} HTTP/1.1".encode(),
            b"Host: 127.0.0.1",
            b"Connection: close",
            b"Accept: application/json",
            b"Content-Type: application/json",
            f"Content-Length: {len(BODY)}".encode(),
            header,
            *extra,
        ]
        statuses[name] = send(router.port, b"\r\n".join(lines) + b"\r\n\r\n" + BODY)
    assert all(400 <= s < 500 for s in statuses.values()), statuses
