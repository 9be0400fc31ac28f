"""python-socketio's manager internals the sequenced delivery (ecabinet.realtime) relies on.

The public API sends a packet only through ``emit``, which would encode it again for each socket,
and a pub/sub manager's ``emit`` serves this process's sockets before it publishes. Delivering one
encoded event to many sockets, and publishing before delivering, take ``Server._send_eio_packet``,
``PubSubManager._publish`` and ``_handle_emit``, and the message ``PubSubManager.emit`` publishes.
"""

from __future__ import annotations

from typing import Any

PINNED = "5.18.1"


def send_packet(server: Any, eio_sid: str, engineio_packet: Any) -> None:
    """Send an already encoded engine.io packet to one engine.io session."""
    server._send_eio_packet(eio_sid, engineio_packet)


def emit_message(manager: Any, event: str, data: Any, namespace: str, room: Any, skip_sid: Any) -> dict[str, Any]:
    """The message ``PubSubManager.emit`` publishes for a JSON payload without callback."""
    return {"method": "emit", "event": event, "data": [data], "binary": False, "namespace": namespace,
            "room": room, "skip_sid": skip_sid, "callback": None, "host_id": manager.host_id}


def publish_then_deliver(manager: Any, message: dict[str, Any]) -> None:
    """Publish ``message`` to the other processes first, then deliver it to this process's sockets."""
    manager._publish(message)
    manager._handle_emit(message)
