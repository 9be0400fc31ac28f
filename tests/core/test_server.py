"""The serving socket: accepted connections must not wait for Nagle's algorithm."""

from __future__ import annotations

import socket

from ecabinet.server import listening_socket


def test_accepted_connections_send_without_delay() -> None:
    listener = listening_socket("127.0.0.1", 0)
    try:
        client = socket.create_connection(listener.getsockname()[:2])
        accepted, _ = listener.accept()
        with client, accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        listener.close()
