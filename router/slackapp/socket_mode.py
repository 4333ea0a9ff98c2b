"""Slack Socket Mode: Slack's requests over a WebSocket the router opens itself.

For a router with no public address (``SLACK_APP_TOKEN``, an app-level ``xapp-…``):

    apps.connections.open at SLACK_API_URL -> a one-use wss:// URL
    connect -> "hello" -> envelopes {envelope_id, type, payload, accepts_response_payload}
    each envelope: the handler (the same work as /slack/*) -> {envelope_id, payload?}
    "disconnect" (refresh_requested, warning): a new connection first, then the old closes
    link_disabled (Socket Mode turned off for the app), a dropped connection, a refused
    apps.connections.open: connect again after a jittered, growing delay

Slack gives each envelope to one of the app's connections, so every replica holds
one and the store's idempotency (the same as over HTTP) keeps an envelope that is
given again from being acted on twice. An envelope is acknowledged once its work is
stored, as an HTTP request is answered 200 then; one whose work could not be stored
is not acknowledged, so Slack gives it again. One that can never be done (malformed,
of a type the router does not take) is acknowledged, and nothing is done.

slack_sdk's own Socket Mode clients need aiohttp (asyncio) or threads; this speaks
the same protocol on ``websockets`` in the server's event loop, with slack_sdk's
``SocketModeRequest`` and ``SocketModeResponse`` for the envelopes and its
``WebClient`` for apps.connections.open. Nothing here logs a token, the WebSocket
URL (it carries a ticket) or an envelope's content.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from starlette.concurrency import run_in_threadpool
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from router.errors import RequestError, StoreUnavailable
from router.metrics import Metrics

log = logging.getLogger("router.slack")

State = Literal["connecting", "connected", "backing off", "disabled", "stopped"]

ACK_WITHIN = 3.0
"""Slack's limit for acknowledging an envelope."""
HELLO_WITHIN = 10.0
"""A connection that has not said hello by then is given up and made again."""
STABLE_AFTER = 30.0
"""A connection that lasted this long resets the backoff when it drops."""
DRAIN_WITHIN = 5.0
"""A closing connection waits this long for the envelopes it is still answering."""
MAX_IN_FLIGHT = 64
"""Envelopes answered at once on one connection; past it, reading waits."""
MAX_FRAME = 1024 * 1024
"""Slack's envelopes are a few KB; a larger frame closes the connection."""
KNOWN_REASONS = ("refresh_requested", "warning", "link_disabled")
"""``disconnect`` reasons as Slack documents them; others count as ``other``."""
ENVELOPE_TYPES = ("slash_commands", "interactive", "events_api")
_WORD = re.compile(r"^[a-z_]{1,40}$")


class NotOpened(Exception):
    """No connection this time: why, in words fit for the log (no token, no URL)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        """``refused`` (apps.connections.open said no or answered nonsense) or ``failed``."""
        self.detail = detail


@dataclass(frozen=True)
class Ack:
    """What a handler makes of an envelope: the acknowledgement's payload, if any."""

    payload: dict[str, Any] | None = None
    duplicate: bool = False
    """The envelope (or its event) was taken before: acknowledged, nothing done."""


Handler = Callable[[SocketModeRequest], Awaitable[Ack]]


def _word(value: Any) -> str:
    """A type or reason from Slack, safe for a log line and a metric label."""
    return value if isinstance(value, str) and _WORD.match(value) else "other"


class ConnectionsOpen:
    """``apps.connections.open`` through slack_sdk's WebClient (blocking; run in a thread).

    The URL must be a WebSocket URL as secure as the API it came from: ``wss://``,
    or ``ws://`` only from a plain-http SLACK_API_URL (a local fake in tests).
    """

    def __init__(self, app_token: str, api_url: str, timeout: int = 10) -> None:
        self.app_token = app_token
        self.secure = not api_url.startswith("http://")
        self.client = WebClient(base_url=api_url, timeout=timeout, retry_handlers=[])

    def __call__(self) -> str:
        try:
            response = self.client.apps_connections_open(app_token=self.app_token)
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            code = data.get("error") or f"HTTP {exc.response.status_code}"
            raise NotOpened("refused", f"apps.connections.open: {_word(code)}") from None
        except (SlackClientError, OSError, ValueError) as exc:
            # ValueError: an answer that is not JSON (a proxy's error page).
            raise NotOpened("failed", f"apps.connections.open: {type(exc).__name__}") from None
        url = response.get("url")
        if not isinstance(url, str) or not self._acceptable(url):
            raise NotOpened("refused", "apps.connections.open answered with no usable wss:// URL")
        return url

    def _acceptable(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
        except ValueError:
            return False
        schemes = ("wss",) if self.secure else ("wss", "ws")
        return parts.scheme in schemes and bool(parts.hostname) and len(url) <= 4096


class Backoff:
    """Growing delays with jitter, so replicas cut off together do not return together."""

    def __init__(
        self, base: float = 1.0, cap: float = 30.0, rng: random.Random | None = None
    ) -> None:
        self.base = base
        self.cap = cap
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self.failures = 0

    def next(self) -> float:
        ceiling = min(self.cap, self.base * 2**self.failures)
        self.failures = min(self.failures + 1, 30)
        return self.rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.failures = 0


class _Link:
    """One WebSocket to Slack: reads envelopes, answers each in a task of its own."""

    def __init__(self, ws: ClientConnection, mode: SocketMode) -> None:
        self.ws = ws
        self.mode = mode
        self.hello = asyncio.Event()
        self.hello_at = 0.0
        self.greeted = False
        """It said hello in time: one of SocketMode's connections while it is open."""
        self.gone = False
        """Closed, by either side: no more envelopes from it."""
        self.ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        """Why this connection is done taking envelopes: a disconnect reason, or dropped."""
        self.answering: set[asyncio.Task[None]] = set()
        self.room = asyncio.Semaphore(MAX_IN_FLIGHT)
        self.reader = asyncio.create_task(self._read())

    def _end(self, reason: str) -> None:
        if not self.ended.done():
            self.ended.set_result(reason)

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                if isinstance(frame, bytes):
                    self.mode.count("binary", "dropped")
                    log.warning("socket mode: a binary frame (%d bytes): dropped", len(frame))
                    continue
                await self._frame(frame)
        except ConnectionClosed:
            pass
        finally:
            self.gone = True
            self._end("dropped")
            self.mode.gauge()

    async def _frame(self, frame: str) -> None:
        try:
            message = json.loads(frame)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            self.mode.count("malformed", "dropped")
            log.warning("socket mode: a frame that is not a JSON object (%d bytes)", len(frame))
            return
        kind = message.get("type")
        if kind == "hello":
            self.hello_at = time.monotonic()
            self.hello.set()
            log.info(
                "socket mode: connected (%s connections of this app)",
                _count(message.get("num_connections")),
            )
            return
        if kind == "disconnect":
            reason = _word(message.get("reason"))
            self.mode.disconnects(reason)
            log.info("socket mode: Slack asks to reconnect (%s)", reason)
            self._end(reason)
            return
        envelope_id = message.get("envelope_id")
        if not isinstance(envelope_id, str) or not envelope_id or len(envelope_id) > 200:
            # Nothing to acknowledge it by: Slack documents every envelope with its id.
            self.mode.count(_word(kind), "dropped")
            log.warning("socket mode: a %s message with no envelope_id: dropped", _word(kind))
            return
        try:
            request = SocketModeRequest.from_dict(message)
        except ValueError:  # a payload that is neither an object nor text
            request = None
        if request is None:
            self.mode.count(_word(kind), "refused")
            log.warning("socket mode: a %s envelope without type or payload", _word(kind))
            await self._send(envelope_id, None)  # acknowledged, so it is not given again
            return
        await self.room.acquire()
        task = asyncio.create_task(self._answer(request))
        self.answering.add(task)
        task.add_done_callback(self._answered)

    def _answered(self, task: asyncio.Task[None]) -> None:
        self.answering.discard(task)
        self.room.release()

    async def _answer(self, request: SocketModeRequest) -> None:
        kind = _word(request.type)
        started = time.monotonic()
        try:
            ack = await self.mode.handle(request)
        except RequestError as exc:
            # As a 4xx over HTTP: it can never be done. Acknowledged, so it is not given again.
            log.warning("socket mode: %s envelope refused: %s", kind, exc.message)
            self.mode.count(kind, "refused")
            ack = Ack()
        except StoreUnavailable as exc:
            # As a 503 over HTTP: not acknowledged, so Slack gives it again.
            log.error("socket mode: %s envelope not taken, storage unavailable: %s", kind, exc)
            self.mode.count(kind, "unacknowledged")
            return
        except Exception:
            log.exception("socket mode: %s envelope failed; not acknowledged", kind)
            self.mode.count(kind, "unacknowledged")
            return
        payload = ack.payload if request.accepts_response_payload else None
        if not await self._send(request.envelope_id, payload):
            log.warning("socket mode: connection closed before a %s envelope's ack", kind)
            self.mode.count(kind, "unacknowledged")
            return
        took = time.monotonic() - started
        if took > ACK_WITHIN:
            log.warning("socket mode: %s envelope acknowledged after %.1fs (> 3s)", kind, took)
        self.mode.count(kind, "duplicate" if ack.duplicate else "acknowledged")

    async def _send(self, envelope_id: str, payload: dict[str, Any] | None) -> bool:
        """The acknowledgement; False if the connection is gone."""
        ack = SocketModeResponse(envelope_id, payload).to_dict()
        try:
            await self.ws.send(json.dumps(ack))
        except ConnectionClosed:
            return False
        return True

    async def close(self) -> None:
        """Finish answering what came in, then close (a no-op on a closed connection)."""
        if self.answering:
            await asyncio.wait(set(self.answering), timeout=DRAIN_WITHIN)
        with contextlib.suppress(Exception):
            await self.ws.close()
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader
        self._end("closed")


def _count(value: Any) -> str:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else "?"


async def _connect(url: str) -> ClientConnection:
    return await connect(
        url,
        open_timeout=HELLO_WITHIN,
        ping_interval=10,
        ping_timeout=10,
        close_timeout=2,
        max_size=MAX_FRAME,
        compression=None,
    )


class SocketMode:
    """Holds one connection to Slack (two while one replaces the other), until stopped."""

    def __init__(
        self,
        open_url: Callable[[], str],
        handle: Handler,
        *,
        metrics: Metrics | None = None,
        backoff: Backoff | None = None,
        hello_within: float = HELLO_WITHIN,
    ) -> None:
        self.open_url = open_url
        """Blocking (slack_sdk's WebClient): run in a thread."""
        self.handle = handle
        self.metrics = metrics
        self.backoff = backoff or Backoff()
        self.hello_within = hello_within
        self.state: State = "connecting"
        self._links: set[_Link] = set()

    # -- what the rest of the router reads ------------------------------------

    def count(self, kind: str, outcome: str) -> None:
        if self.metrics is not None:
            kind = kind if kind in ENVELOPE_TYPES else "other"
            self.metrics.socket_envelopes.labels(kind, outcome).inc()

    def disconnects(self, reason: str) -> None:
        if self.metrics is not None:
            reason = reason if reason in (*KNOWN_REASONS, "dropped") else "other"
            self.metrics.socket_disconnects.labels(reason).inc()

    @property
    def connections(self) -> int:
        """Connections that said hello and are still open (two while one replaces another)."""
        return sum(1 for link in self._links if link.greeted and not link.gone)

    def gauge(self) -> None:
        if self.metrics is not None:
            self.metrics.socket_connected.set(self.connections)

    def _set(self, state: State) -> None:
        self.state = state
        self.gauge()

    # -- the connection's life ------------------------------------------------

    async def run(self) -> None:
        """Connect, and connect again whenever Slack asks or the connection is lost."""
        current: _Link | None = None
        try:
            while True:
                self._set("connecting")
                try:
                    link = await self._open()
                except NotOpened as exc:
                    await self._wait(f"not connected ({exc})", exc.reason)
                    continue
                if current is not None:
                    await self._retire(current)  # replaced: its last envelopes answered
                current = link
                reason = await link.ended
                if reason in ("dropped", "closed"):
                    if link.hello_at and time.monotonic() - link.hello_at >= STABLE_AFTER:
                        self.backoff.reset()
                    await self._retire(link)
                    current = None
                    if reason == "dropped":
                        self.disconnects("dropped")
                    await self._wait("connection lost", "dropped")
                elif reason == "link_disabled":
                    await self._retire(link)
                    current = None
                    self._set("disabled")
                    log.error(
                        "socket mode: Slack says Socket Mode is off for this app (link_disabled); "
                        "turn it on in the app's settings. Trying again in %ss",
                        int(self.backoff.cap),
                    )
                    await asyncio.sleep(self.backoff.cap)
                # else refresh_requested, warning: a new connection now; this one until then
        finally:
            self._set("stopped")
            for link in list(self._links):
                await self._retire(link)

    async def _wait(self, why: str, outcome: str) -> None:
        delay = self.backoff.next()
        self._set("backing off")
        if self.metrics is not None and outcome != "dropped":
            self.metrics.socket_connects.labels(outcome).inc()
        log.warning("socket mode: %s; connecting again in %.1fs", why, delay)
        await asyncio.sleep(delay)

    async def _open(self) -> _Link:
        url = await run_in_threadpool(self.open_url)
        try:
            ws = await _connect(url)
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            raise NotOpened("failed", f"WebSocket: {type(exc).__name__}") from None
        link = _Link(ws, self)
        self._links.add(link)
        hello = asyncio.ensure_future(link.hello.wait())
        either: set[asyncio.Future[Any]] = {hello, link.ended}
        done, _ = await asyncio.wait(
            either, timeout=self.hello_within, return_when=asyncio.FIRST_COMPLETED
        )
        if hello not in done:
            hello.cancel()
            await self._retire(link)
            raise NotOpened("failed", "no hello from Slack")
        link.greeted = True
        self._set("connected")
        if self.metrics is not None:
            self.metrics.socket_connects.labels("connected").inc()
        return link

    async def _retire(self, link: _Link) -> None:
        if link not in self._links:
            return
        self._links.discard(link)
        await link.close()
        self.gauge()
