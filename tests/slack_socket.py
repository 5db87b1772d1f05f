"""A local stand-in for Slack's Socket Mode endpoint (the WebSocket URL that
apps.connections.open hands out): says `hello`, sends envelopes the test queues, and
records the acknowledgements the app sends back."""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve


class SocketModeServer:
    def __init__(self) -> None:
        self.acks: list[dict[str, Any]] = []
        self.connected = threading.Event()
        self._outbox: queue.Queue[dict[str, Any]] = queue.Queue()
        self._server = serve(self._session, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/link/?ticket=test"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> SocketModeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()

    def send(self, kind: str, payload: dict[str, Any]) -> str:
        """Queue an envelope (kind: events_api, slash_commands, interactive); its id."""
        envelope_id = str(uuid.uuid4())
        self._outbox.put({"envelope_id": envelope_id, "type": kind, "payload": payload,
                          "accepts_response_payload": kind != "events_api",
                          "retry_attempt": 0, "retry_reason": ""})
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 10) -> dict[str, Any]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            for ack in list(self.acks):
                if ack.get("envelope_id") == envelope_id:
                    return ack
            time.sleep(0.05)
        raise AssertionError(f"no ack for envelope {envelope_id}; acks: {self.acks}")

    def _session(self, ws: ServerConnection) -> None:
        ws.send(json.dumps({"type": "hello", "num_connections": 1,
                            "debug_info": {"host": "local-stand-in"},
                            "connection_info": {"app_id": "A0TEST"}}))
        self.connected.set()
        while True:
            try:
                while not self._outbox.empty():
                    ws.send(json.dumps(self._outbox.get_nowait()))
                try:
                    message = ws.recv(timeout=0.05)
                except TimeoutError:
                    continue
                self.acks.append(json.loads(message))
            except ConnectionClosed:
                return
