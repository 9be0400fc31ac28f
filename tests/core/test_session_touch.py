"""Noting that a login is in use is bookkeeping: a read never fails because another writer holds the
database while the note is due (SQLite used to answer "database is locked" at once: a 500)."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import timedelta

import sqlalchemy as sa

from ecabinet.auth.models import AuthSession
from ecabinet.auth.service import token_hash
from ecabinet.database import db, utcnow
from tests.conftest import issue_token


def _hold_the_write_lock(url: str, seconds: float, started: threading.Event) -> None:
    """Another process's write: it takes the write lock, changes a row, and commits a moment later."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        raw = sqlite3.connect(parsed.database, isolation_level=None)
        raw.execute("BEGIN IMMEDIATE")
        raw.execute("UPDATE users SET title = title || ''")
        started.set()
        time.sleep(seconds)
        raw.execute("COMMIT")
        raw.close()
        return
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": 0x0ECAB1})
        conn.execute(sa.text("UPDATE users SET title = title || ''"))
        started.set()
        time.sleep(seconds)
        conn.commit()
    engine.dispose()


def test_a_read_waits_for_a_busy_writer_instead_of_failing(app, cast):
    token = issue_token(cast.member_a)
    login = db.session.scalar(sa.select(AuthSession).where(AuthSession.token_hash == token_hash(token)))
    login.last_seen_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    app.config["AUTH_CACHE_SECONDS"] = 0
    started = threading.Event()
    writer = threading.Thread(target=_hold_the_write_lock,
                              args=(app.config["SQLALCHEMY_DATABASE_URI"], 1.0, started))
    writer.start()
    assert started.wait(10)
    before = utcnow()
    response = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    writer.join()
    assert response.status_code == 200, response.get_json()
    db.session.expire_all()
    login = db.session.scalar(sa.select(AuthSession).where(AuthSession.token_hash == token_hash(token)))
    assert login.last_seen_at >= before - timedelta(seconds=1)
