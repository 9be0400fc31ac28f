"""``python -m ecabinet.server``: the production-shaped server (gevent, HTTP and Socket.IO in one).

gevent rather than threading: at hundreds of tablets it costs a fraction of the CPU and memory per
delivered event (see docs/PERFORMANCE.md and shared/reference/performance.md §2).
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402

from ecabinet import create_app  # noqa: E402
from ecabinet.extensions import socketio  # noqa: E402
from ecabinet.realtime import start_sweeper  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the e-Cabinet server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    app = create_app(async_mode="gevent")
    start_sweeper(app)
    print(f"e-Cabinet listening on http://{args.host}:{args.port}/", flush=True)
    socketio.run(app, host=args.host, port=args.port, log_output=False, allow_unsafe_werkzeug=False)


if __name__ == "__main__":
    main()
