"""Forgetting a remembered login in every server process at once (Redis pub/sub).

With a message queue several processes serve, each remembering valid logins for itself
(ecabinet.auth.loader). The process that commits a change to a login or a user (logout, revocation,
deactivation, new roles, the last-seen touch; a CLI command too) publishes what to forget on
``<ECABINET_MESSAGE_QUEUE_CHANNEL>:logins`` right after the commit, before it answers; every process
drops those entries when its listener reads the message.

A process uses its memory only while it is sure to hear such a message: subscribed, and with
something heard from Redis (a message, or the answer to the ping sent every ``PING_EVERY`` seconds)
less than ``HEARD_WITHIN`` seconds ago. Until then (starting up, Redis unreachable, the connection
silently dead, the listener starved) every request reads its login from the database, and the memory
is emptied each time the subscription starts again: what was published meanwhile is lost.

Nor is the memory used while a message has reached the process and is not applied yet (bytes waiting
on the subscription's socket, or the listener reading and applying them): a listener that a busy
process has not run yet delays no change. Redis writes a message to every subscriber's socket before
it answers the PUBLISH, so on one host a change is in every process's socket by the time the request
that made it answers, and no process accepts a login after its logout has answered.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import select
import socket
import struct
import termios
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import redis

from ecabinet.adapters import redis_pubsub

log = logging.getLogger(__name__)

#: app.extensions key of the app's LoginBus (only with a message queue)
EXTENSION = "ecabinet.login_bus"
PING_EVERY = 0.5
HEARD_WITHIN = 2.0
RETRY_AFTER = 0.5

Forget = Callable[[tuple[str, Any] | None], None]  # a key (kind, value), or None for every login


class LoginBus:
    """One app's connection to the other processes' memories of logins."""

    def __init__(self, url: str, channel: str) -> None:
        self.url = url
        self.channel = f"{channel}:logins"
        self.sender = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"  # its own messages are not applied twice
        self._publisher: redis.Redis | None = None
        self._subscribed = False
        self._socket: socket.socket | None = None  # the subscription's, while subscribed
        self._heard = 0.0  # time.monotonic()
        self._failing = False
        self._lock = threading.Lock()
        self._reading = threading.Lock()  # held by the listener while it takes messages off the socket

    def live(self) -> bool:
        """Whether the memory may be used: every change another process published before now is applied
        here, and one published from now on will be."""
        sock = self._socket
        if sock is None or not self._subscribed or time.monotonic() - self._heard >= HEARD_WITHIN:
            return False
        try:
            if _unread_bytes(sock):
                return False
        except OSError:  # closed by the listener meanwhile
            return False
        # the socket before the lock: a message leaves the socket only while the listener holds it
        return not self._reading.locked()

    def publish(self, keys: Iterable[tuple[str, Any] | None]) -> None:
        """Tell every process to forget these logins (after the commit that changed them).

        A failure is logged, not raised: the change is committed, and a process that cannot reach Redis
        either stops using its memory (it hears nothing) or forgets within ``AUTH_CACHE_SECONDS``.
        """
        body = json.dumps({"from": self.sender, "forget": [list(key) if key else None for key in keys]})
        try:
            with self._lock:
                if self._publisher is None:
                    self._publisher = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
            self._publisher.publish(self.channel, body)
        except Exception:
            log.exception("could not publish a login change to the other processes")

    def listen(self, forget: Forget, *, stop: threading.Event | None = None) -> None:
        """Apply the other processes' messages until ``stop``; reconnect after any failure.

        Runs in the server's background (a greenlet under gevent, a thread otherwise).
        """
        while stop is None or not stop.is_set():
            try:
                self._listen_once(forget, stop)
            except Exception as error:
                self._subscribed = False
                forget(None)
                if not self._failing:  # once per outage, not at every retry
                    log.warning("login changes from other processes not heard (%s): logins are read from the "
                                "database until Redis answers again", error)
                self._failing = True
                time.sleep(RETRY_AFTER)
        self._subscribed = False

    def _listen_once(self, forget: Forget, stop: threading.Event | None) -> None:
        client = redis.Redis.from_url(self.url, socket_timeout=PING_EVERY + HEARD_WITHIN, socket_connect_timeout=1)
        pubsub = client.pubsub()
        try:
            pubsub.subscribe(self.channel)
            connection = pubsub.connection
            if connection is None:
                raise ConnectionError("not subscribed")
            sock = redis_pubsub.socket_of(connection)
            opened = pinged = time.monotonic()
            while stop is None or not stop.is_set():
                with self._reading:
                    while connection.can_read(timeout=0):
                        message = pubsub.get_message(timeout=PING_EVERY)  # the rest of a message cut in two
                        if message is not None:
                            self._heard = time.monotonic()
                            self._handle(message, sock, forget)
                now = time.monotonic()
                if now - pinged >= PING_EVERY:
                    if now - max(self._heard, opened) > 2 * HEARD_WITHIN:
                        raise ConnectionError("no answer from Redis")
                    pubsub.ping()
                    pinged = now
                select.select([sock], [], [], PING_EVERY)
        finally:
            self._subscribed = False
            self._socket = None
            pubsub.close()
            client.close()

    def _handle(self, message: dict[str, Any], sock: socket.socket, forget: Forget) -> None:
        if message["type"] == "subscribe" and not self._subscribed:
            # whatever changed before now was not heard: start from nothing, then trust
            forget(None)
            self._socket = sock
            self._subscribed = True
            if self._failing:
                log.warning("login changes from other processes heard again")
                self._failing = False
        elif message["type"] == "message":
            self._apply(message["data"], forget)

    def _apply(self, data: bytes, forget: Forget) -> None:
        message = json.loads(data)
        if message.get("from") == self.sender:
            return
        for key in message["forget"]:
            forget(tuple(key) if key else None)


def _unread_bytes(sock: socket.socket) -> int:
    """How many received bytes wait on ``sock``, without reading them."""
    return int(struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0])
