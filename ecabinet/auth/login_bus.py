"""Forgetting a remembered login in every server process at once (Redis pub/sub).

With a message queue several processes serve, each remembering valid logins for itself
(ecabinet.auth.loader). The process that commits a change to a login or a user (logout, revocation,
deactivation, new roles, the last-seen touch; a CLI command too) publishes what to forget on
``<ECABINET_MESSAGE_QUEUE_CHANNEL>:logins`` right after the commit, before it answers; every process
drops those entries as soon as its listener reads the message.

A process uses its memory only while it is sure to hear such a message: subscribed, and with
something heard from Redis (a message, or the answer to the ping sent every ``PING_EVERY`` seconds)
less than ``HEARD_WITHIN`` seconds ago. Until then (starting up, Redis unreachable, the connection
silently dead, the listener starved) every request reads its login from the database, and the memory
is emptied each time the subscription starts again: what was published meanwhile is lost.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import redis

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
        self._heard = 0.0  # time.monotonic()
        self._failing = False
        self._lock = threading.Lock()

    def live(self) -> bool:
        """Whether a change published by another process now would reach this one: the memory may be used."""
        return self._subscribed and time.monotonic() - self._heard < HEARD_WITHIN

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
            pinged = 0.0
            while stop is None or not stop.is_set():
                message = pubsub.get_message(timeout=PING_EVERY)
                now = time.monotonic()
                if message is not None:
                    self._heard = now
                    if message["type"] == "subscribe" and not self._subscribed:
                        # whatever changed before now was not heard: start from nothing, then trust
                        forget(None)
                        self._subscribed = True
                        if self._failing:
                            log.warning("login changes from other processes heard again")
                            self._failing = False
                    elif message["type"] == "message":
                        self._apply(message["data"], forget)
                if now - pinged >= PING_EVERY:
                    if now - self._heard > 2 * HEARD_WITHIN:
                        raise ConnectionError("no answer from Redis")
                    pubsub.ping()
                    pinged = now
        finally:
            self._subscribed = False
            pubsub.close()
            client.close()

    def _apply(self, data: bytes, forget: Forget) -> None:
        message = json.loads(data)
        if message.get("from") == self.sender:
            return
        for key in message["forget"]:
            forget(tuple(key) if key else None)
