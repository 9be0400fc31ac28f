"""The per-process memory of valid logins: a token is looked up once, and what changes it is seen."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from ecabinet.auth import loader
from ecabinet.auth.models import AuthSession
from ecabinet.database import db, utcnow
from tests.conftest import assert_error, issue_token


def _auth_queries(client, headers) -> tuple[int, int]:
    """(status, number of auth_sessions queries) of one GET /api/v1/me."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        status = client.get("/api/v1/me", headers=headers).status_code
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return status, sum("auth_sessions" in s for s in statements)


def test_a_token_is_looked_up_once_then_answered_from_memory(client, cast):
    headers = {"Authorization": f"Bearer {issue_token(cast.member_a)}"}
    assert _auth_queries(client, headers) == (200, 1)
    assert _auth_queries(client, headers) == (200, 0)
    assert client.get("/api/v1/me", headers=headers).get_json()["username"] == "member_a"


def test_with_the_cache_off_every_request_looks_the_login_up(client, cast, monkeypatch):
    monkeypatch.setitem(client.application.config, "AUTH_CACHE_SECONDS", 0)
    headers = {"Authorization": f"Bearer {issue_token(cast.member_a)}"}
    assert _auth_queries(client, headers) == (200, 1)
    assert _auth_queries(client, headers) == (200, 1)


@pytest.mark.parametrize(("queue", "expected"), [(None, 2.0), ("redis://127.0.0.1:6379/0", 2.0)])
def test_a_login_is_remembered_two_seconds_by_default_with_several_processes_too(monkeypatch, tmp_path, queue,
                                                                                 expected):
    # several processes forget each other's changes through the queue (tests/core/test_login_bus.py)
    from config import Config

    monkeypatch.setenv("ECABINET_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ECABINET_AUTH_CACHE_SECONDS", raising=False)
    if queue:
        monkeypatch.setenv("ECABINET_MESSAGE_QUEUE", queue)
    else:
        monkeypatch.delenv("ECABINET_MESSAGE_QUEUE", raising=False)
    assert Config().AUTH_CACHE_SECONDS == expected


def test_logout_through_this_process_ends_the_token_at_once(client, cast):
    headers = {"Authorization": f"Bearer {issue_token(cast.chair)}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    # the logout itself runs on the remembered login: its revocation must reach the database
    assert client.post("/api/v1/auth/logout", headers=headers).status_code in (200, 204)
    assert_error(client.get("/api/v1/me", headers=headers), 401, "not_authenticated")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuthSession)
                             .where(AuthSession.revoked_at.is_not(None))) == 1


def test_a_user_deactivated_through_this_process_is_refused_at_once(client, cast):
    headers = {"Authorization": f"Bearer {issue_token(cast.member_b)}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    cast.member_b.active = False
    db.session.commit()
    assert_error(client.get("/api/v1/me", headers=headers), 401, "not_authenticated")


def test_a_bulk_revocation_forgets_every_login(client, cast):
    headers = {"Authorization": f"Bearer {issue_token(cast.member_a)}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    db.session.execute(sa.update(AuthSession).values(revoked_at=utcnow()))
    db.session.commit()
    assert_error(client.get("/api/v1/me", headers=headers), 401, "not_authenticated")


def test_another_process_revocation_is_seen_within_the_cache_time(client, cast, monkeypatch):
    monkeypatch.setitem(client.application.config, "AUTH_CACHE_SECONDS", 0.3)
    clock = [1000.0]  # the memory's clock, moved by the test: a slow machine's pauses do not count
    monkeypatch.setattr(loader, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    token = issue_token(cast.member_a)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with db.engine.begin() as other:  # a write this process's ORM never sees, as from another server
        other.execute(sa.update(AuthSession).values(revoked_at=utcnow()))
    db.session.remove()  # the test's requests share one session: start afresh, as a request does
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # remembered for 0.3 s at most
    clock[0] += 0.31
    assert_error(client.get("/api/v1/me", headers=headers), 401, "not_authenticated")


def test_expiry_is_checked_on_every_request_even_when_remembered(client, cast, monkeypatch):
    monkeypatch.setitem(client.application.config, "AUTH_CACHE_SECONDS", 60.0)
    token = issue_token(cast.member_a)
    login = db.session.scalar(sa.select(AuthSession).where(AuthSession.user_id == cast.member_a.id))
    login.expires_at = utcnow() + timedelta(seconds=1)
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert _auth_queries(client, headers) == (200, 0)
    time.sleep(1.05)
    assert_error(client.get("/api/v1/me", headers=headers), 401, "not_authenticated")


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer "])
def test_unknown_tokens_are_never_remembered(client, cast, header):
    before = dict(loader._remembered)
    assert_error(client.get("/api/v1/me", headers={"Authorization": header}), 401, "not_authenticated")
    assert loader._remembered == before
