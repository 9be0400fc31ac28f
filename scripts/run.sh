#!/usr/bin/env bash
# One command from a fresh clone to a running e-Cabinet: SQLite, one process, demo data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export FLASK_APP=wsgi
.venv/bin/flask ecabinet init
.venv/bin/flask ecabinet demo
port=${PORT:-5000}
echo
echo "Open http://127.0.0.1:${port}/ and log in with one of the accounts above."
exec .venv/bin/flask ecabinet serve --host 127.0.0.1 --port "$port"
