"""Entry point: ``flask --app wsgi ...`` and production servers import ``app`` (and ``socketio``)."""

from ecabinet import create_app
from ecabinet.extensions import socketio

app = create_app()

__all__ = ["app", "socketio"]
