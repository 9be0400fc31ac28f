"""Light Socket.IO tablets speaking the Engine.IO v4 / Socket.IO v5 wire protocol over `websockets`,
so one process can hold a thousand of them; plus plain websocket clients for the raw baseline."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import struct
import time
from typing import Any
from urllib.parse import urlsplit

import websockets

# the event's own counter, read without decoding the whole payload when it appears once (the
# tablets' CPU is shared with the servers being measured): "seq" for meeting events, "n" for the
# baselines' numbered payloads
_SEQ = re.compile(r'"seq":\s*(\d+)')
_N = re.compile(r'"n":\s*(\d+)')


def event_key(message: str, names: tuple[str, ...] = ("seq", "n")) -> int:
    """The first of ``names`` present at the top of the event's payload."""
    for name in names:
        found = (_SEQ if name == "seq" else _N).findall(message)
        if len(found) == 1:
            return int(found[0])
    payload = json.loads(message[message.index("{"):message.rindex("}") + 1])
    return next(payload[name] for name in names if name in payload)


class Board:
    """Arrivals of one group of clients per key, so that waiting for the last of them wakes on its
    arrival instead of polling every client every millisecond."""

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.last: dict[int, float] = {}
        self.waiters: dict[int, tuple[int, asyncio.Event]] = {}

    def arrived(self, key: int, at: float) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1
        self.last[key] = max(at, self.last.get(key, at))
        waiter = self.waiters.get(key)
        if waiter and self.counts[key] >= waiter[0]:
            waiter[1].set()

    async def wait(self, key: int, expected: int, timeout: float) -> float | None:
        """When the last of ``expected`` clients received ``key``, or None if any missed it."""
        if self.counts.get(key, 0) < expected:
            done = asyncio.Event()
            self.waiters[key] = (expected, done)
            try:
                await asyncio.wait_for(done.wait(), timeout)
            except TimeoutError:
                return None
            finally:
                del self.waiters[key]
        return self.last[key]


class _Receiver:
    """Timestamps each numbered event once, and tells its group's board."""

    key_names: tuple[str, ...] = ("seq", "n")

    def __init__(self, board: Board | None) -> None:
        self.board = board
        self.arrivals: dict[int, float] = {}
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        raise NotImplementedError

    def arrive(self, message: str) -> None:
        at = time.perf_counter()
        key = event_key(message, self.key_names)
        if key not in self.arrivals:  # a replayed event is not a second arrival
            self.arrivals[key] = at
            if self.board:
                self.board.arrived(key, at)

    def start(self) -> None:
        self.task = asyncio.ensure_future(self.run())


class _SocketIOTablet(_Receiver):
    """What a tablet says back to the server (Engine.IO v4 / Socket.IO v5), whatever carries it."""

    def __init__(self, token: str | None, join: dict[str, Any] | None, board: Board | None) -> None:
        super().__init__(board)
        self.token = token
        self.join = join

    def answer(self, message: str) -> str | None:
        """The text to send back to ``message``, if any; timestamps events, raises on a refusal."""
        if message.startswith('42["event"'):
            self.arrive(message)
        elif message == "2":
            return "3"
        elif message.startswith("431"):
            self.ready.set()
        elif message.startswith("40"):
            if self.join is None:
                self.ready.set()
            else:
                return "421" + json.dumps(["join", self.join])
        elif message.startswith("0"):  # engine.io open: connect to the default namespace
            return "40" + json.dumps({"token": self.token} if self.token else {})
        elif message.startswith("44"):
            raise RuntimeError(f"connection refused: {message}")
        return None


class SioTablet(_SocketIOTablet):
    """Connects, authenticates, joins a room and timestamps every `event` it receives."""

    def __init__(self, url: str, token: str | None, join: dict[str, Any] | None, board: Board | None = None) -> None:
        super().__init__(token, join, board)
        self.ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.origin = url

    async def run(self) -> None:
        async with websockets.connect(self.ws_url, origin=self.origin, max_size=None, open_timeout=60) as ws:
            async for message in ws:
                reply = self.answer(message)
                if reply is not None:
                    await ws.send(reply)


class LeanSioTablet(_SocketIOTablet):
    """SioTablet as an asyncio protocol: the WebSocket frames of each read are parsed in place from
    one buffer, with no coroutine step per frame, and no compression is offered. The servers' work is
    the same as for SioTablet; the tablets' CPU per event is a fraction of it, which matters where the
    tablets share the machine's cores with the servers they measure (bench/scale_out.py)."""

    def __init__(self, url: str, token: str | None, join: dict[str, Any] | None, board: Board | None = None) -> None:
        super().__init__(token, join, board)
        address = urlsplit(url)
        self.host, self.port, self.origin = address.hostname or "127.0.0.1", address.port or 80, url

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        key = base64.b64encode(os.urandom(16)).decode()
        upgrade = (f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                   f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                   f"Sec-WebSocket-Version: 13\r\nOrigin: {self.origin}\r\n\r\n").encode()
        closed: asyncio.Future[None] = loop.create_future()
        transport, _ = await loop.create_connection(lambda: _TabletProtocol(self, upgrade, closed),
                                                    self.host, self.port)
        try:
            await closed
        finally:
            transport.close()


class _TabletProtocol(asyncio.BufferedProtocol):
    """The wire side of a LeanSioTablet: the upgrade, then server frames (never masked) parsed from
    one buffer that the transport reads into (a plain Protocol gets a new bytes object per read,
    which asyncio allocates at 256 KiB: mmap and munmap per event were half the tablets' CPU); the
    tablet's answers go back as masked client frames."""

    def __init__(self, tablet: LeanSioTablet, upgrade: bytes, closed: asyncio.Future[None]) -> None:
        self.tablet, self.upgrade, self.closed = tablet, upgrade, closed
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray(16 * 1024)
        self.filled = 0
        self.upgraded = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.upgrade)

    def connection_lost(self, exc: Exception | None) -> None:
        self._close(exc)

    def _close(self, exc: BaseException | None = None) -> None:
        if not self.closed.done():
            if exc is None:
                self.closed.set_result(None)
            else:
                self.closed.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    def get_buffer(self, sizehint: int) -> memoryview:
        if self.filled == len(self.buffer):  # a frame larger than the buffer: make room for the rest
            self.buffer = self.buffer + bytearray(len(self.buffer))
        return memoryview(self.buffer)[self.filled:]

    def buffer_updated(self, nbytes: int) -> None:
        self.filled += nbytes
        buffer, size, offset = self.buffer, self.filled, 0
        try:
            if not self.upgraded:
                end = buffer.find(b"\r\n\r\n", 0, size)
                if end < 0:
                    return
                if b" 101 " not in bytes(buffer[:buffer.find(b"\r\n")]):
                    raise RuntimeError(f"no WebSocket upgrade: {bytes(buffer[:200])!r}")
                self.upgraded, offset = True, end + 4
            while size - offset >= 2:
                first, length = buffer[offset], buffer[offset + 1] & 0x7F
                start = offset + 2
                if length == 126:
                    if size - start < 2:
                        break
                    (length,) = struct.unpack_from("!H", buffer, start)
                    start += 2
                elif length == 127:
                    if size - start < 8:
                        break
                    (length,) = struct.unpack_from("!Q", buffer, start)
                    start += 8
                if size - start < length:
                    break
                offset = start + length
                self._frame(first & 0x0F, bytes(buffer[start:offset]))
        except Exception as error:  # a refusal (or a broken frame) ends the tablet with its error
            self._close(error)
        buffer[:size - offset] = buffer[offset:size]
        self.filled = size - offset

    def _frame(self, opcode: int, payload: bytes) -> None:
        assert self.transport is not None
        if opcode == 0x8:
            self._close()
        elif opcode == 0x9:
            self.transport.write(_masked(0x8A, payload))
        elif opcode == 0x1 and (reply := self.tablet.answer(payload.decode())) is not None:
            self.transport.write(_masked(0x81, reply.encode()))


def _masked(first_byte: int, payload: bytes) -> bytes:
    """A client frame (RFC 6455 §5.3: a client masks what it sends)."""
    mask = os.urandom(4)
    body = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    length = len(body)
    header = struct.pack("!BB", first_byte, 0x80 | length) if length < 126 else \
        struct.pack("!BBH", first_byte, 0x80 | 126, length)
    return header + mask + body


class RawClient(_Receiver):
    key_names = ("n",)  # the raw payload also carries the app's "seq" (always 0) to be byte-identical
    def __init__(self, url: str, board: Board | None = None) -> None:
        super().__init__(board)
        self.url = url

    async def run(self) -> None:
        async with websockets.connect(self.url, max_size=None, open_timeout=60) as ws:
            await ws.send("hello")
            self.ready.set()
            async for message in ws:
                self.arrive(message)


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


async def wait_all(board: Board, clients: list[Any], key: int, timeout: float = 30) -> float | None:
    """The arrival time of the last of ``clients`` (all reporting to ``board``) to receive ``key``,
    or None if any missed it."""
    return await board.wait(key, len(clients), timeout)


async def stop_all(clients: list[Any]) -> None:
    for client in clients:
        if client.task:
            client.task.cancel()
    await asyncio.gather(*(c.task for c in clients if c.task), return_exceptions=True)
