"""The production-shaped server: gevent, HTTP and Socket.IO in one process.

gevent rather than threading: at hundreds of tablets it costs a fraction of the CPU and memory per
delivered event (docs/PERFORMANCE.md, "Why gevent"). The standard library must be patched before
anything imports it, so the server process is always started with ``SERVE_COMMAND``.
"""

import argparse
import ctypes
import gc
import socket
import sys

from gevent.pywsgi import WSGIHandler

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

    BodyLimitedHandler.drain_limit = app.config["MAX_CONTENT_LENGTH"]
    server = WSGIServer(listening_socket(args.host, args.port), app, log=None, handler_class=BodyLimitedHandler)
    tune_collector()
    print(f"e-Cabinet listening on http://{args.host}:{args.port}/", flush=True)
    server.serve_forever()


class BodyLimitedHandler(WSGIHandler):
    """gevent's request handler, except that it never reads more of an unread body than the largest one
    the app accepts.

    The app often answers without reading the body (401 before the body of a caller not logged in, 413
    from the Content-Length, ecabinet.security). gevent then reads and discards the rest, so that the
    connection can carry the next request: a stranger declaring gigabytes would keep a greenlet reading
    them. Past ``drain_limit`` bytes the connection is closed instead (the answer has been sent).
    Pinned by tests/core/test_request_limits.py against a real server.
    """

    drain_limit = 0  # set from the app's MAX_CONTENT_LENGTH before serving

    def run_application(self) -> None:
        try:
            super().run_application()
        finally:
            self._drain_or_close()
            if (self.wsgi_input is not None and (self.wsgi_input.content_length or 0) > RETURN_MEMORY_ABOVE):
                return_memory()

    def _drain_or_close(self) -> None:
        body = self.wsgi_input
        if body is None:
            return
        budget = self.drain_limit
        try:
            while budget > 0:
                chunk = body.read(min(65536, budget))
                if not chunk:
                    return
                budget -= len(chunk)
        except OSError:  # the client went away or sent a broken chunk: nothing to keep the connection for
            pass
        self.close_connection = True
        # gevent's own discard (after this method) would read everything left: tell it nothing is
        body.content_length = body.position
        body.chunked_input = False


#: a request body past this size gives its memory back to the system once answered (``return_memory``)
RETURN_MEMORY_ABOVE = 8 * 1024 * 1024


def return_memory() -> None:
    """Hand the heap memory freed by a large request back to the system.

    A dossier upload holds the file several times over (the body, the vetted copy, the stored one);
    freed, those blocks stay in glibc's heap, so each large upload left the process about 70 MB
    bigger (tests/core/test_request_limits.py). ``malloc_trim`` returns the free pages at once.
    """
    gc.collect()
    if _libc is not None:
        _libc.malloc_trim(0)


def _load_libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018  (glibc only)
    except (OSError, AttributeError):
        return None
    return libc


_libc = _load_libc()


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
    the client's delayed ACK (about 40 ms) on every keep-alive request."""
    listener = socket.create_server((host, port), reuse_port=False, backlog=1024)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return listener
