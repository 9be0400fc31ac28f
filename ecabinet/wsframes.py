"""Broadcast frames: a meeting event becomes one WebSocket frame, written as is to every tablet.

engine.io gives each socket a queue and a writer greenlet, and wsproto frames (and compresses) each
message once per connection. For a broadcast to hundreds of tablets that per-socket work was most
of the server's time (bench/live_push.py). A server's frame is not masked, and with
``server_no_context_takeover`` each message is compressed on its own, so the bytes on the wire are
the same for every tablet that negotiated the same window: the frame is built once per event and
written to each socket that is idle, without blocking. A socket that is busy, closing, still
upgrading or whose buffer is full gets the packet through its engine.io queue as before; either way
one lock per socket keeps frames whole and in order. After a closing handshake it also ends the TCP
connection, which pywsgi would otherwise keep open.

Only for the gevent server (``ecabinet.server``), the one production and benchmarks run.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import zlib
from collections.abc import Callable
from types import MethodType
from typing import Any

import gevent
import gevent.lock
from engineio.async_drivers import gevent as engineio_gevent
from wsproto.connection import ConnectionState
from wsproto.extensions import PerMessageDeflate

from ecabinet.adapters import engineio_websocket

_FIN_TEXT = 0x81
_RSV1 = 0x40


class PerMessageDeflateOnItsOwn(PerMessageDeflate):
    """permessage-deflate whose server messages never refer to earlier ones (RFC 7692 §7.1.1.1 lets
    the server add this parameter on its own): what makes one compressed frame valid for all."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.server_no_context_takeover = True


class EventFrames:
    """The frames of one text message, built on first need: plain, and compressed per window size."""

    def __init__(self, text: str) -> None:
        self._payload = text.encode()
        self._plain: bytes | None = None
        self._compressed: dict[int, bytes] = {}

    def plain(self) -> bytes:
        if self._plain is None:
            self._plain = _frame(_FIN_TEXT, self._payload)
        return self._plain

    def compressed(self, window_bits: int) -> bytes:
        frame = self._compressed.get(window_bits)
        if frame is None:
            compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -window_bits)
            # RFC 7692 §7.2.1: the sync flush's empty block (00 00 ff ff) is left off the wire
            data = (compressor.compress(self._payload) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]
            frame = self._compressed[window_bits] = _frame(_FIN_TEXT | _RSV1, data)
        return frame

    def write_to(self, engineio_socket: Any) -> bool:
        """Deliver directly when the socket is an open WebSocket with nothing queued before this frame."""
        writer = getattr(engineio_socket, "frame_writer", None)
        if writer is None or not engineio_socket.upgraded or engineio_socket.upgrading or engineio_socket.closed:
            return False
        if engineio_socket.queue.qsize():
            return False
        return writer.try_write(self)

    def for_connection(self, connection: Any) -> bytes | None:
        """The frame this wsproto connection expects, or None when it needs its own encoding."""
        extensions = engineio_websocket.negotiated_extensions(connection)
        if not extensions:
            return self.plain()
        if len(extensions) == 1 and isinstance(extensions[0], PerMessageDeflate):
            deflate = extensions[0]
            if not deflate.enabled():
                return self.plain()
            if deflate.server_no_context_takeover:
                return self.compressed(deflate.server_max_window_bits)
        return None


def _frame(first_byte: int, payload: bytes) -> bytes:
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", first_byte, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", first_byte, 126, length)
    else:
        header = struct.pack("!BBQ", first_byte, 127, length)
    return header + payload


class FrameWebSocket(engineio_gevent.WebSocketWSGI):
    """engine.io's gevent WebSocket, reachable from its engine.io socket as ``frame_writer``, whose
    writer greenlet and the broadcast share one lock."""

    def __init__(self, handler: MethodType, server: Any) -> None:
        engineio_socket: Any = handler.__self__  # engine.io's socket (engine.io ships no types)

        def run(ws: FrameWebSocket) -> Any:
            engineio_socket.frame_writer = ws
            try:
                return handler(ws)
            finally:
                engineio_socket.frame_writer = None

        super().__init__(run, server)
        self.write_lock = gevent.lock.Semaphore()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        try:
            return super().__call__(environ, start_response)
        finally:
            _end_connection(environ)

    def send(self, message: Any) -> Any:
        with self.write_lock:
            return super().send(message)

    def try_write(self, frames: EventFrames) -> bool:
        """Write the whole frame now and return True, or write nothing and return False."""
        if not self.write_lock.acquire(blocking=False):
            return False
        handed_off = False
        try:
            server = self.ws
            if not server.connected or server.ws.state is not ConnectionState.OPEN \
                    or server.ws.connection is None:
                return False
            frame = frames.for_connection(server.ws.connection)
            if frame is None:
                return False
            try:
                sent = server.sock.send(frame, 0, timeout=0.0)
            except OSError:  # would block, or the connection is going: the queue path decides
                return False
            if sent < len(frame):
                # the rest must follow before anything else: a greenlet finishes it holding the lock
                gevent.spawn(self._finish, memoryview(frame)[sent:])
                handed_off = True
            return True
        finally:
            if not handed_off:
                self.write_lock.release()

    def _finish(self, rest: memoryview) -> None:
        try:
            self.ws.sock.sendall(rest)
        except OSError:
            pass  # the reader sees the closed connection and engine.io closes the socket
        finally:
            self.write_lock.release()


def _end_connection(environ: dict[str, Any]) -> None:
    """RFC 6455 §7.1.1: after the closing handshake the server closes the TCP connection first.
    simple-websocket closes only its duplicate of the socket; pywsgi keeps the original and waits on
    it for a next HTTP request that never comes, and the client waits too (10 s for Python's
    websockets) before it calls the connection closed."""
    stream = environ.get("wsgi.input")  # where simple-websocket found the socket it duplicated
    if not hasattr(stream, "raw"):
        stream = getattr(stream, "rfile", None)
    connection = engineio_websocket.pywsgi_socket(stream)
    if connection is not None:
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)


def install(socketio_server: Any) -> None:
    """Use broadcast frames on this Socket.IO server (gevent only)."""
    engineio_websocket.use_websocket_class(socketio_server.eio, FrameWebSocket)
    engineio_websocket.use_deflate_extension(PerMessageDeflateOnItsOwn)
    socketio_server.manager.frames_of = EventFrames
