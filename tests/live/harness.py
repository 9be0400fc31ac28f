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
        # generous: on the shared 2-core machine a cold start under load has taken over 30 s
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                requests.get(f"{self.url}/login", timeout=1)
                return self
            except (requests.ConnectionError, requests.Timeout):  # a first answer can take over 1 s under load
                time.sleep(0.1)
        self.stop(signal.SIGKILL)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-2000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


class Tablet:
    """A member's tablet: keeps the last applied seq, rejoins with it, and asks again on a gap."""

    def __init__(self, server_url: str, token: str, meeting_id: int) -> None:
        self.url = server_url
        self.token = token
        self.meeting_id = meeting_id
        self.last_seq = 0
        self.received: list[dict[str, Any]] = []
        self.applied: list[int] = []
        self.duplicates = 0
        self.acks: list[dict[str, Any]] = []
        self.joined = threading.Event()
        self.lock = threading.Lock()
        self.client = socketio.Client(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1)
        self.client.on("connect", self._on_connect)
        self.client.on("event", self._on_event)

    def connect(self) -> Tablet:
        self.client.connect(self.url, auth={"token": self.token}, transports=["websocket"], wait_timeout=10)
        assert self.joined.wait(10), "join was not acknowledged"
        return self

    def _on_connect(self) -> None:
        self.joined.clear()
        self.client.emit("join", {"meeting_id": self.meeting_id, "last_seq": self.last_seq}, callback=self._on_ack)

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
        self.client.disconnect()


class Http:
    """The chair's (or secretariat's) HTTP commands against a server process; no pooled sockets
    are left behind for the garbage collector to report."""

    def __init__(self, server_url: str, token: str) -> None:
        self.url = server_url
        self.headers = {"Authorization": f"Bearer {token}", "Connection": "close"}

    def post(self, path: str, json: Any = None) -> requests.Response:
        with requests.Session() as session:
            return session.post(f"{self.url}/api/v1{path}", json=json, headers=self.headers, timeout=10)
