"""Slack's Socket Mode side, local: the fake Web API hands out ws:// URLs to a small websockets server.

`apps.connections.open` answers with this server's URL, as Slack answers with a wss:// one; each
connection is greeted with `hello`; the test pushes envelopes (events_api, slash_commands,
interactive) and Slack's `disconnect`, and reads the app's acks. The app side is the real Bolt app
with slack_sdk's own Socket Mode client.
"""
from __future__ import annotations

import itertools
import json
import threading

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from tests.slack.fake_slack import FakeSlack

HELLO = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0001"},
         "debug_info": {"host": "applink-local", "build_number": 1, "approximate_connection_time": 18060}}


class FakeSocketSlack(FakeSlack):
    """FakeSlack whose `apps.connections.open` leads to a local Socket Mode server (`with` starts both)."""

    def __init__(self):
        super().__init__()
        self.sockets: list[ServerConnection] = []  # every websocket the app opened, oldest first
        self.frames: list[dict] = []  # what the app sent over any of them (acks), in order
        self.closed: list[ServerConnection] = []  # the websockets that have hung up
        self._ids = itertools.count(1)
        self._tickets = itertools.count(1)
        self._socket_server = serve(self._session, "127.0.0.1", 0, compression=None)
        self.ws_url = f"ws://127.0.0.1:{self._socket_server.socket.getsockname()[1]}/link/"

    def __enter__(self) -> "FakeSocketSlack":
        super().__enter__()
        threading.Thread(target=self._socket_server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._socket_server.shutdown()
        super().__exit__(*exc)

    def _reply(self, path: str, raw: bytes) -> dict:
        if path.startswith("/api/apps.connections.open"):
            return {"ok": True, "url": f"{self.ws_url}?ticket={next(self._tickets)}"}
        return super()._reply(path, raw)

    def _session(self, socket: ServerConnection) -> None:
        """One app connection: say hello, then record every frame the app sends until it hangs up."""
        with self._changed:
            self.sockets.append(socket)
            self._changed.notify_all()
        socket.send(json.dumps(HELLO))
        try:
            for frame in socket:
                with self._changed:
                    self.frames.append(json.loads(frame))
                    self._changed.notify_all()
        except ConnectionClosed:
            pass
        with self._changed:
            self.closed.append(socket)
            self._changed.notify_all()

    def _wait(self, ready, what: str, timeout: float = 20.0):
        with self._changed:
            self._changed.wait_for(ready, timeout=timeout)
            found = ready()
        assert found, f"timed out waiting for {what}; the app sent {self.frames}"
        return found

    def wait_for_sockets(self, count: int) -> list[ServerConnection]:
        return self._wait(lambda: self.sockets if len(self.sockets) >= count else None, f"{count} websocket(s)")

    def wait_closed(self, socket: ServerConnection) -> None:
        self._wait(lambda: socket in self.closed, "the app to close a websocket")

    def push(self, kind: str, payload: dict, accepts_response_payload: bool = False) -> str:
        """Send an envelope over the newest websocket, as Slack does; returns its envelope_id."""
        envelope_id = f"env-{next(self._ids):04d}"
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                    "accepts_response_payload": accepts_response_payload, "retry_attempt": 0, "retry_reason": ""}
        self.wait_for_sockets(1)[-1].send(json.dumps(envelope))
        return envelope_id

    def ack_of(self, envelope_id: str) -> dict:
        """The frame the app sent back for an envelope (its ack)."""
        return self._wait(lambda: next((f for f in self.frames if f.get("envelope_id") == envelope_id), None),
                          f"the ack of {envelope_id}")

    def refresh(self) -> None:
        """Slack's periodic `disconnect`: the app is to open a new connection and drop this one."""
        self.wait_for_sockets(1)[-1].send(json.dumps(
            {"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "applink-local"}}))
