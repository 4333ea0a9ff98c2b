"""The HTTP server: uvicorn with bounds it does not have on its own.

uvicorn's httptools protocol reads a request head of any size and waits for it
forever; one client can hold memory or a connection as long as it likes. This
protocol adds, per connection:

- a head limit while it arrives: past MAX_HEAD_BYTES, 431 and close;
- a head timeout (ROUTER_HEADER_TIMEOUT) and a body timeout (ROUTER_BODY_TIMEOUT):
  a request that trickles in is closed with 408;
- a connection cap (ROUTER_MAX_CONNECTIONS, and never above the process's file
  limit): past it, the connection whose request has been arriving longest (its
  head, or its body) is closed to make room, so a crowd of slow clients never
  locks out /healthz. A request that has arrived whole is never closed for room.

Idle keep-alive connections close after ROUTER_KEEPALIVE_TIMEOUT (uvicorn's own).
uvicorn's proxy headers are off: it would take the client address from
X-Forwarded-For whenever the connection comes from loopback, so a local client
could pass for an address in ROUTER_TRUSTED_PROXIES. The peer is the peer.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from router.limits import MAX_HEADER_BYTES

MAX_HEAD_BYTES = MAX_HEADER_BYTES + 16 * 1024  # headers, plus the request line
LINGER_SECONDS = 1.0  # read and drop what a refused client still sends, so it sees why
FD_HEADROOM = 64  # files the process needs besides its connections


@dataclass(frozen=True)
class Bounds:
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keepalive_timeout: float = 5.0
    max_connections: int = 10_000


BOUNDS = Bounds()  # set by serve(); a protocol class cannot take arguments of its own


def _response(status: bytes) -> bytes:
    return b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class BoundedHttpTools(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_bytes = 0
        self.awaiting_head = True
        self.in_body = False
        self.head_started = time.monotonic()
        """When the request now arriving began (its head, then its body)."""
        self.discarding = False
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._make_room()
        self._arm(BOUNDS.header_timeout)

    def _make_room(self) -> None:
        if len(self.connections) <= BOUNDS.max_connections:
            return
        waiting = [
            c
            for c in self.connections
            if isinstance(c, BoundedHttpTools) and c.arriving and c is not self
        ]
        if waiting:
            oldest = min(waiting, key=lambda c: c.head_started)
            oldest.transport.close()
        else:
            self.transport.close()

    @property
    def arriving(self) -> bool:
        """Part of a request is here and the rest is not: its head, or its body."""
        return self.awaiting_head or self.in_body

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _too_slow(self) -> None:
        if not self.transport.is_closing():
            if self.awaiting_head or (self.cycle and not self.cycle.response_complete):
                with contextlib.suppress(Exception):
                    self.transport.write(_response(b"408 Request Timeout"))
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self.discarding:
            return
        if self.awaiting_head:
            self.head_bytes += len(data)
        super().data_received(data)
        if self.awaiting_head and self.head_bytes > MAX_HEAD_BYTES:
            self._refuse(b"431 Request Header Fields Too Large")

    def _refuse(self, status: bytes) -> None:
        """Answer, then drop what still arrives for a moment before closing: a client
        still sending would otherwise get a reset instead of the answer."""
        self._disarm()
        self.discarding = True
        self.transport.write(_response(status))
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self.awaiting_head:  # the next request on a kept-alive connection
            self.awaiting_head = True
            self.head_bytes = 0
            self.head_started = time.monotonic()
            self._arm(BOUNDS.header_timeout)

    def on_headers_complete(self) -> None:
        self.awaiting_head = False
        self.in_body = True
        self._arm(BOUNDS.body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self.in_body = False
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def file_limit() -> int:
    """Raise the soft open-files limit to the hard one; what it is now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return soft


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the app is built: port 0 becomes a real port,
    which links (ROUTER_PUBLIC_URL's default) and the start line can name."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, saying once it serves (after start-up, sockets open)."""

    def __init__(self, config: uvicorn.Config, announce: Callable[[], None]) -> None:
        super().__init__(config)
        self.announce = announce

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit:
            self.announce()


def serve(app: Any, sock: socket.socket, bounds: Bounds, announce: Callable[[], None]) -> None:
    """Serve on ``sock`` (from ``listen``); ``announce`` runs once requests are taken."""
    global BOUNDS
    cap = min(bounds.max_connections, max(16, file_limit() - FD_HEADROOM))
    BOUNDS = Bounds(bounds.header_timeout, bounds.body_timeout, bounds.keepalive_timeout, cap)
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=BoundedHttpTools,
        proxy_headers=False,  # the client is the peer; only ROUTER_TRUSTED_PROXIES vouch
        timeout_keep_alive=int(max(1, bounds.keepalive_timeout)),
        log_config=None,
        access_log=False,
    )
    _Server(config, announce).run(sockets=[sock])
