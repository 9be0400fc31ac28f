"""Baseline servers measured in the same run: a raw `websockets` broadcast and a bare
Flask-SocketIO emit (gevent, simple-websocket), each sending the same payload to every client."""

from __future__ import annotations

import asyncio
import json
import sys


def raw_server(port: int) -> None:
    import websockets

    clients: set = set()

    async def handler(ws) -> None:
        first = await ws.recv()
        if first == "hello":
            clients.add(ws)
            try:
                await ws.wait_closed()
            finally:
                clients.discard(ws)
            return
        async for message in ws:  # the control connection: broadcast each payload it sends
            websockets.broadcast(clients, message)

    async def main() -> None:
        async with websockets.serve(handler, "127.0.0.1", port, max_size=None):
            print("ready", flush=True)
            await asyncio.Future()

    asyncio.run(main())


def bare_socketio_server(port: int, message_queue: str | None) -> None:
    from gevent import monkey

    monkey.patch_all()
    from flask import Flask, request
    from flask_socketio import SocketIO, join_room

    app = Flask(__name__)
    socketio = SocketIO(app, async_mode="gevent", cors_allowed_origins="*", message_queue=message_queue)

    @socketio.on("join")
    def on_join(payload):
        join_room("room")
        return {"ok": True}

    @app.post("/emit")
    def emit():
        socketio.emit("event", json.loads(request.data), to="room")
        return "", 204

    print("ready", flush=True)
    socketio.run(app, host="127.0.0.1", port=port, log_output=False)


if __name__ == "__main__":
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "raw":
        raw_server(port)
    else:
        bare_socketio_server(port, sys.argv[3] if len(sys.argv) > 3 else None)
