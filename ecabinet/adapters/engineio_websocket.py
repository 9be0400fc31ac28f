"""The engine.io, simple-websocket and wsproto internals the broadcast frames (ecabinet.wsframes) rely on.

None of the three lets a caller write a prepared frame to a WebSocket: engine.io takes its WebSocket
class from its private ``_async`` table, simple-websocket builds its deflate extension from a
module-level name, and wsproto keeps the negotiated extensions on its private frame protocol. The
socket pywsgi keeps open after a closing handshake is reachable only through ``raw._sock``.
"""

from __future__ import annotations

from typing import Any

import simple_websocket.ws

PINNED = {"python-engineio": "4.15.1", "simple-websocket": "1.1.0", "wsproto": "1.3.2"}


def use_websocket_class(engineio_server: Any, websocket_class: type[Any]) -> None:
    """Have ``engineio_server`` make its WebSockets from ``websocket_class``."""
    engineio_server._async = {**engineio_server._async, "websocket": websocket_class}


def use_deflate_extension(extension_class: type[Any]) -> None:
    """Have simple-websocket offer ``extension_class`` as permessage-deflate on each handshake."""
    simple_websocket.ws.PerMessageDeflate = extension_class


def negotiated_extensions(connection: Any) -> list[Any]:
    """The extensions an open wsproto ``Connection`` negotiated, which shape the frames it sends."""
    return list(connection._proto.extensions)


def pywsgi_socket(stream: Any) -> Any:
    """The socket under pywsgi's ``wsgi.input`` (None when there is none)."""
    return getattr(getattr(stream, "raw", None), "_sock", None)
