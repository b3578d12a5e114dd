"""A phone's websocket, as the web app keeps it: reconnects on its own after the
connection drops, asking for `?since=<highest id>`, and shows each notification once
(`received`): a reconnect's replay also brings the recent ones at or below that id again
(ids are given at insert, not at commit), and the app drops the ids it has. Every frame
the server sent is kept too (`frames`)."""

import json
import threading
import time

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import connect


class LiveClient(threading.Thread):
    def __init__(self, base_url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.ws_url = base_url.replace("http://", "ws://") + f"/ws/?token={token}"
        self.origin = base_url
        self.received: list[dict] = []  # what the app shows: each id once
        self.frames: list[dict] = []  # every notification the server sent
        self.connections = 0
        self.last_id = 0
        self._online = threading.Event()
        self._online.set()
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._socket = None

    @property
    def ids(self) -> list[int]:
        return [m["id"] for m in self.received]

    def run(self) -> None:
        while not self._stopping.is_set():
            self._online.wait()
            if self._stopping.is_set():
                return
            try:
                with connect(
                    f"{self.ws_url}&since={self.last_id}",
                    additional_headers={"Origin": self.origin},
                    open_timeout=5,
                    close_timeout=2,
                ) as socket:
                    self._socket = socket
                    self.connections += 1
                    self._connected.set()
                    self._listen(socket)
            except (ConnectionClosed, InvalidHandshake, InvalidStatus, OSError, TimeoutError):
                pass
            finally:
                self._socket = None
                self._connected.clear()
            time.sleep(0.3)  # the app waits a moment before it tries again

    def _listen(self, socket) -> None:
        while not self._stopping.is_set() and self._online.is_set():
            try:
                raw = socket.recv(timeout=0.5)
            except TimeoutError:
                continue
            message = json.loads(raw)
            if message.get("type") == "notification":
                self.frames.append(message)
                if message["id"] not in {m["id"] for m in self.received}:
                    self.received.append(message)
                self.last_id = max(self.last_id, message["id"])

    def wait_connected(self, timeout: float = 30) -> None:
        if not self._connected.wait(timeout):
            raise AssertionError(f"websocket not connected within {timeout} s")

    def go_offline(self) -> None:
        """The phone loses its connection (the socket is closed, no reconnecting)."""
        self._online.clear()
        deadline = time.monotonic() + 10
        while self._socket is not None and time.monotonic() < deadline:
            time.sleep(0.05)

    def go_online(self) -> None:
        self._online.set()

    def wait_for(self, predicate, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return
            time.sleep(0.1)
        raise AssertionError(f"not received within {timeout} s; got {self.ids}")

    def stop(self) -> None:
        self._stopping.set()
        self._online.set()
        self.join(timeout=10)
