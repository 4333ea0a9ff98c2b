"""Connection bounds on a running router, with raw sockets.

A head is cut off while it arrives (memory stays flat), a slow head is timed
out, and a crowd of slow clients never locks /healthz out. Latencies and RSS
are printed (-s); what is asserted is the outcome: /healthz answers (a locked-out
server leaves the client's request to time out, which fails the test) and memory
growth stays bounded.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterator

from tests.e2e.processes import RouterProcess, healthz_seconds


@contextlib.contextmanager
def slow_clients(router: RouterProcess, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections that each sent half a request head and then nothing."""
    held: list[socket.socket] = []
    try:
        for _ in range(count):
            conn = socket.create_connection(("127.0.0.1", router.port), timeout=10)
            conn.sendall(b"POST /webhooks/alertmanager HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Sl")
            held.append(conn)
        yield held
    finally:
        for conn in held:
            conn.close()


def test_a_huge_head_is_cut_off_while_it_arrives(
    start_router: Callable[..., RouterProcess],
) -> None:
    router = start_router()
    before = router.rss_mb()
    answer = b""
    with socket.create_connection(("127.0.0.1", router.port), timeout=10) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        chunk = b"a" * 65536
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for _ in range(300 * 16):  # up to 300 MB: the server stops it long before
                conn.sendall(chunk)
        with contextlib.suppress(ConnectionResetError):
            answer = conn.recv(4096)
    grew = router.rss_mb() - before
    print(f"head cut off; RSS {before:.0f} MB -> +{grew:.1f} MB")
    assert answer.startswith(b"HTTP/1.1 431") or answer == b""  # reset before it was read
    assert grew < 50


def test_a_slow_head_is_timed_out(start_router: Callable[..., RouterProcess]) -> None:
    router = start_router(ROUTER_HEADER_TIMEOUT="1")
    with socket.create_connection(("127.0.0.1", router.port), timeout=15) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and then nothing
        started = time.perf_counter()
        answer = conn.recv(4096)
        waited = time.perf_counter() - started
    print(f"slow head closed after {waited:.2f} s")
    # Without the header timeout, recv() waits for the socket's own 15 s and raises.
    assert answer.startswith(b"HTTP/1.1 408")


def test_ten_thousand_slow_clients_never_lock_out_healthz(
    start_router: Callable[..., RouterProcess],
) -> None:
    router = start_router()  # the defaults: 10,000 connections, 10 s to send a head
    idle = router.rss_mb()
    with slow_clients(router, 10_000):
        loaded = router.rss_mb()
        worst = max(healthz_seconds(router) for _ in range(20))
    print(
        f"10,000 slow clients: RSS {idle:.0f} -> {loaded:.0f} MB; "
        f"/healthz worst of 20: {worst * 1000:.1f} ms"
    )
    assert loaded - idle < 300


def test_a_huge_explain_request_is_refused_and_healthz_keeps_answering(
    start_router: Callable[..., RouterProcess],
) -> None:
    """The probe's 10 MB of 290,000 tiny alerts blocked every endpoint for 12 s."""
    router = start_router(ROUTER_ADMIN_TOKEN="admin")
    tiny = b'{"labels":{"alertname":"a"}},'
    body = b'{"alerts":[' + tiny * 290_000 + b'{"labels":{"alertname":"a"}}]}'
    before = router.rss_mb()
    head = (
        "POST /api/route HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer admin\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    answer = b""
    with socket.create_connection(("127.0.0.1", router.port), timeout=30) as conn:
        conn.sendall(head)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.sendall(body)
        with contextlib.suppress(ConnectionResetError):
            answer = conn.recv(4096)
        worst = max(healthz_seconds(router) for _ in range(10))
    grew = router.rss_mb() - before
    print(
        f"explain of {len(body) / 1e6:.1f} MB: {answer[:12]!r}; +{grew:.1f} MB; /healthz {worst * 1000:.1f} ms"
    )
    assert answer.startswith(b"HTTP/1.1 413")
    assert grew < 50
