"""With several processes, a meeting event goes to Redis before this process serves its own tablets:
otherwise the other processes' tablets wait for all of this one's (bench/scale_out.py found it)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import redis
import socketio

from ecabinet.realtime import SequencedRedisDelivery, room_name


def _next_message(subscription: Any, timeout: float) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = subscription.get_message(timeout=0.05)
        if message and message["type"] == "message":
            return json.loads(message["data"])
    return None


def test_a_meeting_event_is_published_before_it_is_delivered_locally(redis_queue):
    channel = f"test-order-{uuid.uuid4().hex}"
    listener = redis.Redis.from_url(redis_queue)
    subscription = listener.pubsub()
    subscription.subscribe(channel)
    assert subscription.get_message(timeout=2)["type"] == "subscribe"
    published_before_local_delivery: list[dict[str, Any] | None] = []

    class Observed(SequencedRedisDelivery):
        def _handle_emit(self, message: dict[str, Any]) -> None:
            published_before_local_delivery.append(_next_message(subscription, timeout=0.5))
            super()._handle_emit(message)

    server = socketio.Server(client_manager=Observed(redis_queue, channel=channel, write_only=True))
    event = {"meeting_id": 7, "seq": 3, "type": "agenda.activated", "at": "2026-12-04T09:00:00+00:00", "data": {}}
    server.emit("event", event, to=room_name(7))
    [published] = published_before_local_delivery
    assert published is not None, "the event reached Redis only after this process's tablets"
    assert (published["event"], published["data"], published["room"]) == ("event", [event], room_name(7))
    subscription.close()
    listener.close()
    server.manager.redis.close()  # the manager's publishing connection, which the server never closes
