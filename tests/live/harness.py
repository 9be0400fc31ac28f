"""Real server processes (``python -m ecabinet.server``) and real python-socketio tablets."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import requests
import socketio
import websocket

from ecabinet.server import SERVE_COMMAND

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """One `serve` process on the test's data directory and database."""

    def __init__(self, data_dir: Path, database_url: str | None, *, port: int | None = None,
                 message_queue: str | None = None, origins: list[str] | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "ECABINET_DATA_DIR": str(data_dir), "ECABINET_ENV": "development",
                    "ECABINET_ALLOWED_ORIGINS": ",".join(origins or [self.url]), "PYTHONUNBUFFERED": "1"}
        if database_url and database_url != "sqlite":
            self.env["ECABINET_DATABASE_URL"] = database_url
        if message_queue:
            self.env["ECABINET_MESSAGE_QUEUE"] = message_queue
        self.log = data_dir / f"server-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([*SERVE_COMMAND, "--port", str(self.port)],
                                            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        try:
            self._wait_until_serving()
        except BaseException:
            self.stop(signal.SIGKILL)  # a server that failed to start is never left running unowned
            raise
        return self

    def _wait_until_serving(self) -> None:
        # generous: on the shared 2-core machine a cold start under load has taken over 30 s
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                with requests.Session() as session:
                    session.get(f"{self.url}/login", timeout=5, headers={"Connection": "close"})
                return
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or a slow first answer
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-2000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


class OwnedSockets:
    """Every websocket an engine.io client opens, so that the test closes it. python-engineio 4.15.1
    drops a websocket it opened when the handshake fails afterwards (the server died between the
    TCP accept and the OPEN packet) and leaves it to the garbage collector, whose ResourceWarning
    then fails whichever test it happens in. websocket-client's public ``class_`` option of
    ``create_connection`` (which engine.io passes through ``websocket_extra_options``) builds them here."""

    def __init__(self) -> None:
        self.opened: list[websocket.WebSocket] = []
        self.lock = threading.Lock()

    def __call__(self, **options: Any) -> websocket.WebSocket:
        sock = websocket.WebSocket(**options)
        with self.lock:
            self.opened.append(sock)
        return sock

    def close_all_but(self, keep: websocket.WebSocket | None) -> None:
        with self.lock:
            stale = [sock for sock in self.opened if sock is not keep]
            self.opened = [keep] if keep is not None and keep in self.opened else []
        for sock in stale:
            sock.close()


class Tablet:
    """A member's tablet: keeps the last applied seq, rejoins with it, and asks again on a gap.

    The tablet owns its reconnections instead of python-socketio's background loop: when the
    transport drops (never when the test disconnects it), it reconnects until it is closed, and
    closes every websocket a failed attempt left open. ``reconnect = False`` stops it reconnecting."""

    def __init__(self, server_url: str, token: str, meeting_id: int, *, reconnect: bool = True,
                 auth: dict[str, str] | None = None) -> None:
        self.url = server_url
        self.auth = auth or {"token": token}
        self.meeting_id = meeting_id
        self.reconnect = reconnect
        self.last_seq = 0
        self.received: list[dict[str, Any]] = []
        self.applied: list[int] = []
        self.duplicates = 0
        self.acks: list[dict[str, Any]] = []
        self.joined = threading.Event()
        self.lock = threading.Lock()
        self.closed = threading.Event()
        self.sockets = OwnedSockets()
        self.reconnecting: threading.Thread | None = None
        self.client = socketio.Client(reconnection=False, websocket_extra_options={"class_": self.sockets})
        self.client.on("connect", self._on_connect)
        self.client.on("disconnect", self._on_disconnect)
        self.client.on("event", self._on_event)

    def connect(self) -> Tablet:
        self._connect()
        assert self.joined.wait(10), "join was not acknowledged"
        return self

    def _connect(self) -> None:
        try:
            self.client.connect(self.url, auth=self.auth, transports=["websocket"], wait_timeout=10)
        except socketio.exceptions.ConnectionError:
            self.sockets.close_all_but(None)
            raise
        self.sockets.close_all_but(self.client.eio.ws)

    def _on_connect(self) -> None:
        self.joined.clear()
        self.client.emit("join", {"meeting_id": self.meeting_id, "last_seq": self.last_seq}, callback=self._on_ack)

    def _on_disconnect(self, reason: str | None = None) -> None:
        if reason != socketio.Client.reason.TRANSPORT_ERROR or not self.reconnect or self.closed.is_set():
            return
        if self.reconnecting is None or not self.reconnecting.is_alive():
            self.reconnecting = threading.Thread(target=self._reconnect_until_closed, daemon=True)
            self.reconnecting.start()

    def _reconnect_until_closed(self) -> None:
        delay = 0.2
        while not self.closed.wait(delay) and self.reconnect:
            try:
                self._connect()
                return
            except socketio.exceptions.ConnectionError:
                delay = min(delay * 2, 1.0)

    def _on_ack(self, ack: dict[str, Any]) -> None:
        self.acks.append(ack)
        self.joined.set()

    def _on_event(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.received.append(event)
            if event["seq"] <= self.last_seq:
                self.duplicates += 1
                return
            if event["seq"] > self.last_seq + 1:
                self.client.emit("join", {"meeting_id": self.meeting_id, "last_seq": self.last_seq})
                return
            self.last_seq = event["seq"]
            self.applied.append(event["seq"])

    def wait_for_seq(self, seq: int, timeout: float = 15) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.last_seq >= seq:
                return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        self.closed.set()
        if self.reconnecting is not None:
            self.reconnecting.join(15)
        self.client.disconnect()
        self.sockets.close_all_but(None)


class Http:
    """The chair's (or secretariat's) HTTP commands against a server process; no pooled sockets
    are left behind for the garbage collector to report."""

    def __init__(self, server_url: str, token: str) -> None:
        self.url = server_url
        self.headers = {"Authorization": f"Bearer {token}", "Connection": "close"}

    def post(self, path: str, json: Any = None) -> requests.Response:
        with requests.Session() as session:
            return session.post(f"{self.url}/api/v1{path}", json=json, headers=self.headers, timeout=10)
