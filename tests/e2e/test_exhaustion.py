"""Raw sockets against a running router: no client exhausts its memory, connections or clock.

- Bodies not yet verified (signed sources, Slack) are capped per request and held
  within a budget in all (ROUTER_MAX_UNVERIFIED_BYTES): past it, 503 with Retry-After.
- A connection still sending its body makes room under ROUTER_MAX_CONNECTIONS like
  one still sending its head.
- One authenticated webhook carries at most ROUTER_MAX_ALERTS alerts (413 naming
  it), and one at that limit is stored in bounded memory.
- A group of 50,000 alerts never holds another message's response clock back.

Each attack is measured while it lasts: the router's RSS and /healthz's latency,
printed (-s). What is asserted is the outcome: /healthz answers every probe, memory
grows by a bounded amount, and what must be refused is refused with its status.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import select
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.e2e.conftest import RouterProcess, healthz_seconds

MIB = 1024 * 1024
SECRET = "exhaustion-secret"
TOKEN = "exhaustion-token"
CHUNK = b"x" * 65536


def head(path: str, length: int, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answered(conn: socket.socket) -> bool:
    """The server said something (or closed): looked at without reading it."""
    return bool(select.select([conn], [], [], 0)[0])


def upload(
    router: RouterProcess, path: str, headers: dict[str, str], declared: int, send: int
) -> socket.socket:
    """A connection that announced ``declared`` bytes of body and sent ``send`` of them,
    or fewer if the server answered first; left open."""
    conn = socket.create_connection(("127.0.0.1", router.port), timeout=10)
    conn.sendall(head(path, declared, headers))
    sent = 0
    with contextlib.suppress(OSError):
        while sent < send and not answered(conn):
            piece = CHUNK[: min(len(CHUNK), send - sent)]
            conn.sendall(piece)
            sent += len(piece)
    return conn


def status_line(conn: socket.socket, timeout: float = 5) -> str:
    """The first line of the answer on ``conn``; "" if none came."""
    conn.settimeout(timeout)
    try:
        data = conn.recv(4096)
    except OSError:
        return ""
    return data.split(b"\r\n", 1)[0].decode(errors="replace")


@contextlib.contextmanager
def held(conns: list[socket.socket]) -> Iterator[list[socket.socket]]:
    try:
        yield conns
    finally:
        for conn in conns:
            conn.close()


def probe(router: RouterProcess, times: int = 10) -> tuple[float, int]:
    """/healthz ``times`` times: the worst latency in ms, and how many failed."""
    worst, failed = 0.0, 0
    for _ in range(times):
        try:
            worst = max(worst, healthz_seconds(router, timeout=5))
        except OSError:
            failed += 1
    return worst * 1000, failed


def test_unverified_bodies_are_capped_per_request(
    start_router: Callable[..., RouterProcess],
) -> None:
    router = start_router(
        PAGERDUTY_WEBHOOK_SECRETS=SECRET,
        SENTRY_CLIENT_SECRET=SECRET,
        SLACK_SIGNING_SECRET=SECRET,
    )
    fresh = str(int(time.time()))
    junk = "0" * 64
    targets = [
        ("/webhooks/sentry", {"Sentry-Hook-Signature": junk}),
        ("/webhooks/pagerduty", {"X-PagerDuty-Signature": f"v1={junk}"}),
        ("/slack/commands", {}),  # no Slack headers at all
        ("/slack/events", {"X-Slack-Request-Timestamp": fresh, "X-Slack-Signature": f"v0={junk}"}),
    ]
    idle = router.rss_mb()

    # 40 uploads of 10 MiB with a junk signature, each one byte short of done.
    with held([upload(router, *targets[i % 4], 10 * MIB, 10 * MIB - 1) for i in range(40)]) as big:
        loaded = router.rss_mb()
        worst, failed = probe(router)
        statuses = [status_line(c) for c in big]
    print(
        f"40 unverified 10 MiB bodies: RSS {idle:.0f} -> {loaded:.0f} MB; "
        f"/healthz worst {worst:.1f} ms, {failed} failed; answers {sorted(set(statuses))}"
    )
    assert failed == 0
    assert loaded - idle < 30
    assert statuses.count("HTTP/1.1 401 Unauthorized") == 10  # /slack/commands, no headers
    assert statuses.count("HTTP/1.1 413 Request Entity Too Large") == 30


def test_unverified_bodies_past_the_budget_are_refused_with_503_until_it_frees(
    start_router: Callable[..., RouterProcess],
) -> None:
    router = start_router(SENTRY_CLIENT_SECRET=SECRET, ROUTER_MAX_UNVERIFIED_BYTES=str(4 * MIB))
    junk = {"Sentry-Hook-Signature": "0" * 64}
    idle = router.rss_mb()
    # 200 uploads under the cap, one byte short: the budget holds some, refuses the rest.
    uploads = [
        upload(router, "/webhooks/sentry", junk, 256 * 1024, 256 * 1024 - 1) for _ in range(200)
    ]
    with held(uploads) as many:
        loaded = router.rss_mb()
        worst, failed = probe(router)
        answers = [c.recv(4096) if answered(c) else b"" for c in many]
    refused = [a for a in answers if a.startswith(b"HTTP/1.1 503")]
    print(
        f"200 unverified 256 KiB bodies, a 4 MiB budget: RSS {idle:.0f} -> {loaded:.0f} MB; "
        f"/healthz worst {worst:.1f} ms, {failed} failed; {len(refused)} refused with 503"
    )
    assert failed == 0
    assert 180 <= len(refused) <= 190  # 4 MiB holds about 16 of them
    assert all(b"retry-after: " in a.lower() for a in refused)
    assert loaded - idle < 30

    # The budget is given back: a signed request goes through once the uploads are gone.
    body = (Path(__file__).parents[1] / "golden/sources/sentry/metric-critical.json").read_bytes()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "Sentry-Hook-Signature": signature}
    with held([upload(router, "/webhooks/sentry", headers, len(body), 0)]) as (conn,):
        conn.sendall(body)
        assert status_line(conn) == "HTTP/1.1 202 Accepted"


def test_connections_stuck_in_their_body_make_room_for_healthz(
    start_router: Callable[..., RouterProcess],
) -> None:
    router = start_router(ALERTMANAGER_TOKEN=TOKEN, ROUTER_MAX_CONNECTIONS="200")
    idle = router.rss_mb()
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    with held([upload(router, "/webhooks/alertmanager", headers, 1000, 10) for _ in range(400)]):
        loaded = router.rss_mb()
        worst, failed = probe(router, 20)
    print(
        f"400 bodies stuck at 10 of 1000 bytes, 200 connections allowed: RSS {idle:.0f} -> "
        f"{loaded:.0f} MB; /healthz worst {worst:.1f} ms, {failed} of 20 failed"
    )
    assert failed == 0
    assert loaded - idle < 50
