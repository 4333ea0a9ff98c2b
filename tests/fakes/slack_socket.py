"""A fake Slack Socket Mode server on loopback, speaking Slack's documented protocol.

Each connection gets ``hello``; a test sends envelopes (``envelope_id``, ``type``,
``payload``, ``accepts_response_payload``), reads the acknowledgements
(``{"envelope_id", "payload"?}``), and can ask the client to reconnect
(``{"type": "disconnect", "reason": ...}``), cut a connection off, or send frames
Slack never would. FakeSlack's ``apps.connections.open`` answers with ``url``.

It runs its own event loop on a thread; every method here is for the test's thread.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from tests.helpers import wait_for


@dataclass
class Connection:
    number: int
    ws: ServerConnection
    open: bool = True
    received: list[Any] = field(default_factory=list)


class FakeSocketMode:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.lock = threading.Lock()
        self.connections: list[Connection] = []
        self.acks: dict[str, list[dict[str, Any]]] = {}
        self.other_frames: list[Any] = []
        self.hello = True
        """False: connections are accepted and never greeted."""
        self.tickets = itertools.count(1)
        self._ids = itertools.count(1)
        self._server: Server | None = None

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> FakeSocketMode:
        self.thread.start()

        async def start() -> Server:
            return await serve(self._serve, "127.0.0.1", 0, compression=None)

        self._server = self._run(start())
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._run(self._server.wait_closed())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    def _run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    @property
    def url(self) -> str:
        """A new one-use URL, as apps.connections.open gives (the ticket is not checked)."""
        assert self._server is not None
        host, port = next(iter(self._server.sockets)).getsockname()[:2]
        return f"ws://{host}:{port}/link/?ticket=fake-{next(self.tickets)}&app_id=A0FAKE"

    # -- the server ----------------------------------------------------------------

    async def _serve(self, ws: ServerConnection) -> None:
        with self.lock:
            connection = Connection(len(self.connections) + 1, ws)
            self.connections.append(connection)
            live = sum(1 for c in self.connections if c.open)
        try:
            if self.hello:
                await ws.send(
                    json.dumps(
                        {
                            "type": "hello",
                            "num_connections": live,
                            "debug_info": {
                                "host": "applink-fake",
                                "build_number": 1,
                                "approximate_connection_time": 3600,
                            },
                            "connection_info": {"app_id": "A0FAKE"},
                        }
                    )
                )
            async for frame in ws:
                try:
                    message = json.loads(frame)
                except ValueError:
                    message = frame
                with self.lock:
                    connection.received.append(message)
                    if isinstance(message, dict) and isinstance(message.get("envelope_id"), str):
                        self.acks.setdefault(message["envelope_id"], []).append(message)
                    else:
                        self.other_frames.append(message)
        except ConnectionClosed:
            pass
        finally:
            with self.lock:
                connection.open = False

    # -- what tests do -------------------------------------------------------------

    def live(self) -> list[Connection]:
        with self.lock:
            return [c for c in self.connections if c.open]

    def wait_connected(self, count: int = 1, *, total: int | None = None) -> Connection:
        """Until ``count`` connections are open (and ``total`` were ever made); the newest."""
        wait_for(
            lambda: len(self.live()) == count and (total is None or len(self.connections) >= total),
            15,
            f"{count} open Socket Mode connection(s)" + (f", {total} in all" if total else ""),
        )
        return self.live()[-1]

    def send_raw(self, frame: str | bytes, connection: Connection | None = None) -> None:
        target = connection or self.live()[-1]
        self._run(target.ws.send(frame))

    def send(
        self,
        kind: str,
        payload: Any,
        *,
        envelope_id: str | None = None,
        accepts_response_payload: bool | None = None,
        connection: Connection | None = None,
        **extra: Any,
    ) -> str:
        """An envelope to one connection (the newest by default); its envelope_id."""
        envelope_id = envelope_id or f"env-{next(self._ids):04d}"
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": (
                kind == "slash_commands"
                if accepts_response_payload is None
                else accepts_response_payload
            ),
            **extra,
        }
        self.send_raw(json.dumps(envelope), connection)
        return envelope_id

    def command(self, text: str, **kw: Any) -> str:
        payload = {
            "token": "deprecated",
            "team_id": "T0001",
            "channel_id": "C2147483705",
            "user_id": "U2147483697",
            "user_name": "jane",
            "command": "/runbook",
            "text": text,
            "response_url": "https://hooks.slack.com/commands/T0001/1/x",
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        }
        return self.send("slash_commands", payload, **kw)

    def disconnect(self, reason: str, connection: Connection | None = None) -> None:
        """Slack's request to reconnect; the connection stays open until the client closes
        it or ``drop`` cuts it (Slack closes a ``warning`` one ten seconds later)."""
        self.send_raw(json.dumps({"type": "disconnect", "reason": reason}), connection)

    def drop(self, connection: Connection | None = None) -> None:
        """Cut the connection off without a word, as a network failure does."""
        target = connection or self.live()[-1]

        async def abort() -> None:
            target.ws.transport.abort()

        self._run(abort())

    def ack(self, envelope_id: str, timeout: float = 10) -> dict[str, Any]:
        """The (first) acknowledgement of an envelope, once it comes."""
        wait_for(lambda: envelope_id in self.acks, timeout, f"the ack of {envelope_id}")
        with self.lock:
            return self.acks[envelope_id][0]

    def acked(self, envelope_id: str) -> int:
        with self.lock:
            return len(self.acks.get(envelope_id, []))
