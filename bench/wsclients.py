"""Light Socket.IO tablets speaking the Engine.IO v4 / Socket.IO v5 wire protocol over `websockets`,
so one process can hold a thousand of them; plus plain websocket clients for the raw baseline."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import websockets


class SioTablet:
    """Connects, authenticates, joins a room and timestamps every `event` it receives."""

    def __init__(self, url: str, token: str | None, join: dict[str, Any] | None) -> None:
        self.ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.origin = url
        self.token = token
        self.join = join
        self.arrivals: dict[int, float] = {}
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        async with websockets.connect(self.ws_url, origin=self.origin, max_size=None, open_timeout=60) as ws:
            await ws.recv()  # engine.io open
            await ws.send("40" + json.dumps({"token": self.token} if self.token else {}))
            async for message in ws:
                if message == "2":
                    await ws.send("3")
                elif message.startswith("40"):
                    if self.join is None:
                        self.ready.set()
                    else:
                        await ws.send("421" + json.dumps(["join", self.join]))
                elif message.startswith("431"):
                    self.ready.set()
                elif message.startswith("42"):
                    name, payload = json.loads(message[2:])
                    if name == "event":
                        self.arrivals[payload["seq"] if "seq" in payload else payload["n"]] = time.perf_counter()
                elif message.startswith("44"):
                    raise RuntimeError(f"connection refused: {message}")

    def start(self) -> None:
        self.task = asyncio.ensure_future(self.run())


class RawClient:
    def __init__(self, url: str) -> None:
        self.url = url
        self.arrivals: dict[int, float] = {}
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        async with websockets.connect(self.url, max_size=None, open_timeout=60) as ws:
            await ws.send("hello")
            self.ready.set()
            async for message in ws:
                self.arrivals[json.loads(message)["n"]] = time.perf_counter()

    def start(self) -> None:
        self.task = asyncio.ensure_future(self.run())


async def start_all(clients: list[Any], batch: int = 50, attempts: int = 3) -> None:
    """Connect in batches; a client whose connection failed (a loaded machine drops handshakes)
    is started again, and a client that still cannot connect fails the run with its error."""
    for index in range(0, len(clients), batch):
        group = clients[index:index + batch]
        for client in group:
            client.start()
        for attempt in range(attempts):
            deadline = time.perf_counter() + 120
            while time.perf_counter() < deadline and not all(c.ready.is_set() or c.task.done() for c in group):
                await asyncio.sleep(0.01)
            failed = [c for c in group if not c.ready.is_set()]
            if not failed:
                break
            if attempt == attempts - 1:
                task = failed[0].task
                error = task.exception() if task.done() and not task.cancelled() else "timed out"
                raise RuntimeError(f"{len(failed)} clients could not connect: {error!r}")
            for client in failed:
                if not client.task.done():
                    client.task.cancel()
                client.start()


async def wait_all(clients: list[Any], key: int, timeout: float = 30) -> float | None:
    """The arrival time of the last client to receive ``key``, or None if any missed it."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if all(key in c.arrivals for c in clients):
            return max(c.arrivals[key] for c in clients)
        await asyncio.sleep(0.001)
    return None


async def stop_all(clients: list[Any]) -> None:
    for client in clients:
        if client.task:
            client.task.cancel()
    await asyncio.gather(*(c.task for c in clients if c.task), return_exceptions=True)
