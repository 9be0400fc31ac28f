#!/usr/bin/env bash
# The whole test suite: on SQLite, then the database-facing tests again on PostgreSQL
# (a database created for the run on 127.0.0.1:5432). Starts PostgreSQL and Redis if they are down.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  command -v pg_ctlcluster >/dev/null && pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
if ! (redis-cli -h 127.0.0.1 ping 2>/dev/null | grep -q PONG); then
  command -v redis-server >/dev/null && redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null || true
fi

export PYTHONDONTWRITEBYTECODE=1
.venv/bin/ruff check --quiet .
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
ECABINET_TEST_DATABASE_URL=${ECABINET_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
  .venv/bin/python -m pytest -q -m "not browser" --ignore=tests/signing --ignore=tests/test_pdf_layout.py \
  --ignore=tests/documents/test_pdftools.py "$@"
