"""Raw sockets against a running router: credentials are checked before a body is read."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from tests.e2e.processes import RouterProcess, http

TEN_MB = 10 * 1024 * 1024


def first_line_without_sending_the_body(router: RouterProcess, head: str) -> str:
    """Send only the request head (announcing 10 MB) and read the answer to it."""
    with socket.create_connection(("127.0.0.1", router.port), timeout=10) as conn:
        conn.sendall(head.encode())
        conn.settimeout(10)
        data = conn.recv(4096)
    return data.split(b"\r\n", 1)[0].decode()


@pytest.mark.parametrize(
    ("path", "header"),
    [
        ("/webhooks/alertmanager", "Authorization: Bearer wrong"),
        ("/webhooks/grafana", ""),
        ("/webhooks/datadog", "X-Router-Secret: wrong"),
        ("/webhooks/pagerduty", ""),  # signed: no signature header, no body read
        ("/webhooks/sentry", ""),
    ],
)
def test_unauthenticated_uploads_are_refused_before_the_body(
    start_router: Callable[..., RouterProcess], path: str, header: str
) -> None:
    router = start_router(
        ALERTMANAGER_TOKEN="right",
        GRAFANA_TOKEN="right",
        DATADOG_WEBHOOK_SECRET="right",
        PAGERDUTY_WEBHOOK_SECRETS="right",
        SENTRY_CLIENT_SECRET="right",
    )
    extra = f"{header}\r\n" if header else ""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {TEN_MB}\r\n{extra}\r\n"
    )
    assert first_line_without_sending_the_body(router, head) == "HTTP/1.1 401 Unauthorized"


def test_x_forwarded_for_from_loopback_does_not_make_a_trusted_proxy(
    start_router: Callable[..., RouterProcess],
) -> None:
    """uvicorn believed X-Forwarded-For from 127.0.0.1: a local client passed for the proxy."""
    router = start_router(
        ROUTER_READ_TOKEN="read-token",
        ROUTER_TRUSTED_USER_HEADER="X-Auth-Request-User",
        ROUTER_TRUSTED_PROXIES="10.9.9.9",
    )
    forged = {"X-Forwarded-For": "10.9.9.9", "X-Auth-Request-User": "mallory"}
    status, _ = http("GET", f"{router.url}/alerts", headers=forged | {"Accept": "application/json"})
    assert status == 401
