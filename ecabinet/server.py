"""The production-shaped server: gevent, HTTP and Socket.IO in one process.

gevent rather than threading: at hundreds of tablets it costs a fraction of the CPU and memory per
delivered event (docs/PERFORMANCE.md, "Why gevent"). The standard library must be patched before
anything imports it, so the server process is always started with ``SERVE_COMMAND``.
"""

import argparse
import gc
import socket
import sys

from ecabinet import BACKGROUND_TASKS, create_app, wsframes
from ecabinet.extensions import socketio
from ecabinet.realtime import start_sweeper

SERVE_COMMAND = [sys.executable, "-c",
                 "from gevent import monkey; monkey.patch_all(); from ecabinet.server import main; main()"]


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the e-Cabinet server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    app = create_app(async_mode="gevent")
    wsframes.install(socketio.server)
    start_sweeper(app)
    for start_task in app.extensions.get(BACKGROUND_TASKS, ()):
        start_task(app)
    from gevent.pywsgi import WSGIServer

    server = WSGIServer(listening_socket(args.host, args.port), app, log=None)
    tune_collector()
    print(f"e-Cabinet listening on http://{args.host}:{args.port}/", flush=True)
    server.serve_forever()


#: allocations between two collections of the young generation (Python's default is 700)
YOUNG_GENERATION_THRESHOLD = 10_000


def tune_collector() -> None:
    """Fit the cyclic garbage collector to a server that broadcasts to thousands of sockets.

    A broadcast allocates a few short-lived objects per tablet. Collected every 700 allocations, they
    were caught alive and promoted until the old generation had grown by a quarter, which sets off a
    full collection: one every 15-20 s at 1,500 tablets, 150-200 ms of CPU each, and half the server's
    CPU per delivery went to the collector (bench/scale_out.py, docs/PERFORMANCE.md). What is loaded at
    start (modules, the app, its caches) lives as long as the process, so it is frozen out of every
    full collection.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, 10, 10)


def listening_socket(host: str, port: int) -> socket.socket:
    """The server's socket with TCP_NODELAY, which accepted connections inherit: pywsgi writes a
    response's headers and body separately, and without it Nagle's algorithm holds the body until
    the client's delayed ACK, 40 ms on every keep-alive request (bench/json_api.py found it)."""
    listener = socket.create_server((host, port), reuse_port=False, backlog=1024)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return listener
