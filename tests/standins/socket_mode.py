"""Slack's Socket Mode endpoint, on localhost: the WebSocket `apps.connections.open` hands out.

Follows https://api.slack.com/apis/socket-mode: on connecting, the app gets `{"type": "hello"}`; Slack then
sends envelopes `{"envelope_id", "type": "events_api" | "interactive" | "slash_commands", "payload",
"accepts_response_payload", "retry_attempt", "retry_reason"}` and the app acknowledges each by sending back
`{"envelope_id": …}` (with a `payload` for commands and views when it answers something). Slack asks an app
to reconnect with `{"type": "disconnect", "reason": "refresh_requested"}`; the app calls
`apps.connections.open` again and opens the new URL.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import uuid
from typing import Any

from websockets.asyncio.server import ServerConnection, serve


class SocketModeStandin:
    def __init__(self) -> None:
        self.acks: dict[str, dict[str, Any]] = {}  # envelope id → what the app sent back
        self.connections: list[ServerConnection] = []
        self.opened = 0  # WebSocket connections accepted (a reconnect adds one)
        self._tickets = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0
        self._stop: asyncio.Future[None] | None = None

    # lifecycle -----------------------------------------------------------------

    def start(self) -> SocketModeStandin:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the Socket Mode stand-in did not start")
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = self._loop.create_future()
        async with serve(self._connection, "127.0.0.1", 0) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop

    def connection_url(self) -> str:
        """What `apps.connections.open` answers: a fresh ticket each time, as Slack's are single-use."""
        return f"ws://127.0.0.1:{self.port}/link/?ticket={next(self._tickets)}&app_id=A0DAILIES"

    # the protocol --------------------------------------------------------------

    async def _connection(self, websocket: ServerConnection) -> None:
        self.connections.append(websocket)
        self.opened += 1
        await websocket.send(json.dumps({
            "type": "hello", "num_connections": 1,
            "debug_info": {"host": "applink-standin", "approximate_connection_time": 18060},
            "connection_info": {"app_id": "A0DAILIES"},
        }))
        async for message in websocket:
            body = json.loads(message)
            if isinstance(body, dict) and body.get("envelope_id"):
                self.acks[str(body["envelope_id"])] = body

    def _live(self) -> ServerConnection:
        live = [c for c in self.connections if c.state.name == "OPEN"]
        if not live:
            raise RuntimeError("no app is connected")
        return live[-1]

    def send(self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool = False) -> str:
        """Send one envelope to the connected app; returns its envelope id."""
        envelope_id = str(uuid.uuid4())
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                    "accepts_response_payload": accepts_response_payload, "retry_attempt": 0, "retry_reason": ""}
        asyncio.run_coroutine_threadsafe(self._live().send(json.dumps(envelope)), self._loop).result(10)
        return envelope_id

    def ask_to_reconnect(self) -> None:
        """Slack's `disconnect` message (it sends one before it closes a connection for maintenance)."""
        message = json.dumps({"type": "disconnect", "reason": "refresh_requested",
                              "debug_info": {"host": "applink-standin"}})
        asyncio.run_coroutine_threadsafe(self._live().send(message), self._loop).result(10)
