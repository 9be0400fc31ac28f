"""redis-py's pub/sub connection socket, which the login bus (ecabinet.auth.login_bus) watches itself.

The public API tells whether a message has arrived only by reading it (``PubSub.get_message``,
``Connection.can_read`` fill the parser's buffer). A request thread must know whether a message has
reached this process without taking it from the listener: that takes the connection's socket
(``Connection._sock``), whose unread bytes it counts, and on which the listener waits.
"""

from __future__ import annotations

import socket

from redis.connection import AbstractConnection

PINNED = "8.1.0"


def socket_of(connection: AbstractConnection) -> socket.socket:
    """The socket of a connected ``connection`` (a subscription's: ``PubSub.connection``)."""
    sock = getattr(connection, "_sock", None)
    if sock is None:
        raise ConnectionError("the connection is not connected")
    return sock
