"""Broadcast frames (ecabinet/wsframes.py) on the wire: tablets that negotiate permessage-deflate
and tablets that do not both get every event, whole and in order, from a real `serve`; compressed
frames stand alone (each inflates with a fresh decompressor), as the shared frame requires."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import struct
import zlib
from typing import Any

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Request
from wsproto.extensions import PerMessageDeflate

from ecabinet.wsframes import EventFrames, PerMessageDeflateOnItsOwn
from tests.conftest import issue_token
from tests.live.harness import Http, ServerProcess
from tests.live.scenario import published_meeting


class WireTablet:
    """A tablet speaking WebSocket by hand, so the test sees each frame's header bits and bytes."""

    def __init__(self, server: ServerProcess, token: str, *, deflate: bool) -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        self.buffer = b""
        key = base64.b64encode(os.urandom(16)).decode()
        extension = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" if deflate else ""
        self.sock.sendall((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           f"Sec-WebSocket-Version: 13\r\nOrigin: {server.url}\r\n{extension}\r\n").encode())
        head = self._read_until(b"\r\n\r\n").decode()
        assert head.startswith("HTTP/1.1 101"), head
        self.response_head = head
        assert self.receive_text().startswith("0")  # engine.io open
        self.send_text("40" + json.dumps({"token": token}))
        assert self.receive_text().startswith("40")

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(marker, 1)
        return head

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        assert chunk, "the server closed the connection"
        self.buffer += chunk

    def _read(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def receive_frame(self) -> tuple[int, bytes]:
        first, second = self._read(2)
        assert not second & 0x80, "server frames are never masked"
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._read(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read(8))
        return first, self._read(length)

    def receive_text(self) -> str:
        """The next text message; a compressed one must inflate without any earlier message."""
        while True:
            first, payload = self.receive_frame()
            assert first & 0x80, "every message is one whole frame"
            if first & 0x0F == 0x1:
                if first & 0x40:
                    return zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff").decode()
                return payload.decode()

    def send_text(self, text: str) -> None:
        mask = os.urandom(4)
        data = text.encode()
        header = struct.pack("!BB", 0x81, 0x80 | len(data)) if len(data) < 126 \
            else struct.pack("!BBH", 0x81, 0x80 | 126, len(data))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def join(self, meeting_id: int) -> dict[str, Any]:
        self.send_text("421" + json.dumps(["join", {"meeting_id": meeting_id}]))
        while True:
            text = self.receive_text()
            if text.startswith("431"):
                return json.loads(text[3:])[0]

    def events(self, count: int) -> list[tuple[int, dict[str, Any]]]:
        """(first header byte, payload) of the next ``count`` events, answering engine.io pings."""
        seen = []
        while len(seen) < count:
            first, payload = self.receive_frame()
            text = zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff").decode() \
                if first & 0x40 else payload.decode()
            if text == "2":
                self.send_text("3")
            elif text.startswith("42"):
                name, event = json.loads(text[2:])
                assert name == "event"
                seen.append((first, event))
        return seen

    def close(self) -> None:
        self.sock.close()


@pytest.mark.slow
def test_deflating_and_plain_tablets_get_every_event_whole_and_in_order(app, cast, database_url, tmp_path):
    scenario = published_meeting(cast)
    meeting_id = scenario.meeting.id
    server = ServerProcess(tmp_path, database_url).start()
    try:
        deflating = WireTablet(server, issue_token(cast.member_a), deflate=True)
        plain = WireTablet(server, issue_token(cast.member_b), deflate=False)
        assert "server_no_context_takeover" in deflating.response_head
        assert "Sec-WebSocket-Extensions" not in plain.response_head
        assert deflating.join(meeting_id)["ok"] and plain.join(meeting_id)["ok"]
        chair = Http(server.url, issue_token(cast.chair))
        assert chair.post(f"/meetings/{meeting_id}/session/start").status_code == 200
        for _ in range(10):
            for item in scenario.items:
                assert chair.post(f"/meetings/{meeting_id}/agenda/{item.id}/activate").status_code == 200
        compressed, uncompressed = deflating.events(21), plain.events(21)
        assert [event["seq"] for _, event in compressed] == list(range(1, 22))
        assert [event for _, event in compressed] == [event for _, event in uncompressed]
        assert all(first == 0xC1 for first, _ in compressed)  # FIN, RSV1 (compressed), text
        assert all(first == 0x81 for first, _ in uncompressed)
        deflating.close()
        plain.close()
    finally:
        server.stop(signal.SIGKILL)


@pytest.mark.slow
def test_the_server_ends_the_tcp_connection_after_the_closing_handshake(app, cast, database_url, tmp_path):
    server = ServerProcess(tmp_path, database_url).start()
    try:
        tablet = WireTablet(server, issue_token(cast.member_a), deflate=False)
        mask = os.urandom(4)
        code = struct.pack("!H", 1000)
        tablet.sock.sendall(bytes([0x88, 0x80 | len(code)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(code)))
        tablet.sock.settimeout(2)  # Python's websockets waits 10 s for this before it gives up
        first, payload = tablet.receive_frame()
        assert (first, payload) == (0x88, code)  # the server's close frame
        assert tablet.sock.recv(1) == b""  # then the server closes the TCP connection (RFC 6455 §7.1.1)
        tablet.close()
    finally:
        server.stop(signal.SIGKILL)


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
def test_frame_lengths_use_the_shortest_header(size):
    frames = EventFrames("x" * size)
    first, second = frames.plain()[:2]
    assert first == 0x81
    header = {0: 2, 125: 2, 126: 4, 65535: 4, 65536: 10}[size]
    assert len(frames.plain()) == header + size
    assert second == (size if size < 126 else 126 if size < 65536 else 127)


def _server_connection(offer: str | None) -> Any:
    """A wsproto server connection after the handshake with ``offer`` as the client's extension header."""
    connection = WSConnection(ConnectionType.SERVER)
    headers = "".join(["GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
                       f"Sec-WebSocket-Extensions: {offer}\r\n" if offer else "", "\r\n"])
    connection.receive_data(headers.encode())
    assert any(isinstance(event, Request) for event in connection.events())
    return connection


def test_the_frame_matches_what_each_connection_negotiated():
    text = '42["event",' + json.dumps({"data": "Phiên họp Chính phủ " * 20}, ensure_ascii=False) + "]"
    frames = EventFrames(text)

    plain = _server_connection(None)
    plain.send(AcceptConnection(extensions=[PerMessageDeflateOnItsOwn()]))
    assert frames.for_connection(plain.connection) == frames.plain()

    shared = _server_connection("permessage-deflate; server_max_window_bits=10")
    shared.send(AcceptConnection(extensions=[PerMessageDeflateOnItsOwn()]))
    frame = frames.for_connection(shared.connection)
    assert frame == frames.compressed(10) and frame[0] == 0xC1
    assert frame[1] < 126  # the repetitive text compresses below the two-byte length
    assert zlib.decompressobj(-10).decompress(frame[2:] + b"\x00\x00\xff\xff").decode() == text
    assert len(frame) < len(frames.plain())

    # a connection that keeps its compression context needs its own encoding: not shared
    private = _server_connection("permessage-deflate")
    private.send(AcceptConnection(extensions=[PerMessageDeflate()]))
    assert frames.for_connection(private.connection) is None
