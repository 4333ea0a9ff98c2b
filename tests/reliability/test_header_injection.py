"""Header injection and request smuggling, as raw bytes on the wire to a running router.

The test client cannot send these (it refuses CR/LF in headers), so they go
over a socket to ``runbook-router serve``, through uvicorn's own HTTP parser.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from tests.e2e.conftest import RouterProcess, http

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
