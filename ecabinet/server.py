"""The production-shaped server: gevent, HTTP and Socket.IO in one process.

gevent rather than threading: at hundreds of tablets it costs a fraction of the CPU and memory per
delivered event (shared/reference/performance.md §2). The standard library must be patched before
anything imports it, so the server process is always started with ``SERVE_COMMAND``.
"""

import argparse
import sys

from ecabinet import BACKGROUND_TASKS, create_app
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
    start_sweeper(app)
    for start_task in app.extensions.get(BACKGROUND_TASKS, ()):
        start_task(app)
    print(f"e-Cabinet listening on http://{args.host}:{args.port}/", flush=True)
    socketio.run(app, host=args.host, port=args.port, log_output=False, allow_unsafe_werkzeug=False)
