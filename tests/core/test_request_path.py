"""What every request goes through, kept to what it needs: the security headers, the login, the cookie
session, the rate limiter's hooks (bench/json_api.py measures the cost; these hold the behaviour)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Response

from ecabinet import security
from ecabinet.database import db
from tests.conftest import TEST_PASSWORD, issue_token
from tests.core.test_browser_session import browser_login

SECURITY_HEADERS = {
    "Content-Security-Policy": security.CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def in_own_context(client: Any, path: str, **kwargs: Any) -> Any:
    """A request as a server makes it: in a thread of its own, so the request pushes its own app context
    (the tests' requests otherwise share the test's)."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(client.get(path, **kwargs)))
    thread.start()
    thread.join(30)
    return result[0]


def test_an_api_answer_carries_every_security_header_once(client, cast):
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {issue_token(cast.member_a)}"})
    assert response.status_code == 200
    for name, value in {**SECURITY_HEADERS, "Cache-Control": "no-store"}.items():
        assert response.headers.getlist(name) == [value], name
    assert "Strict-Transport-Security" not in response.headers


def test_a_view_keeps_its_own_policy_and_cache_control_but_never_its_own_framing():
    app_config = {"PRODUCTION": True}
    hook = security.security_headers(type("App", (), {"config": app_config})())  # type: ignore[arg-type]
    from flask import Flask

    with Flask(__name__).test_request_context("/api/v1/anything"):
        response = hook(Response("x", headers={"content-security-policy": "sandbox", "X-Frame-Options": "SAMEORIGIN",
                                               "Cache-Control": "private, max-age=60"}))
    assert response.headers.getlist("Content-Security-Policy") == ["sandbox"]
    assert response.headers.getlist("X-Frame-Options") == ["DENY"]
    assert response.headers.getlist("Cache-Control") == ["private, max-age=60"]
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_a_remembered_login_needs_no_database_session_when_nothing_is_queried(app, client, cast):
    headers = {"Authorization": f"Bearer {issue_token(cast.member_a)}"}
    assert in_own_context(client, "/api/v1/me", headers=headers).status_code == 200  # looked up, remembered
    checkouts: list[object] = []

    def count(*args: object) -> None:
        checkouts.append(args)

    sa.event.listen(db.engine, "checkout", count)
    try:
        response = in_own_context(client, "/api/v1/me", headers=headers)
    finally:
        sa.event.remove(db.engine, "checkout", count)
    assert response.status_code == 200 and response.get_json()["username"] == "member_a"
    assert checkouts == []


def test_a_remembered_user_joins_the_request_session_when_it_is_made(app, client, cast):
    from flask_login import current_user

    token, member_id = issue_token(cast.member_b), cast.member_b.id
    assert in_own_context(client, "/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    seen: list[object] = []

    def request_changing_the_user_before_any_query() -> None:
        with app.test_request_context("/api/v1/me", headers={"Authorization": f"Bearer {token}"}):
            user = current_user._get_current_object()  # remembered: no session made for it
            seen.append(db.session.registry.has())
            user.title = "Bộ trưởng Bộ Y tế (mới)"  # changed before any query, kept by the session made later
            seen.append(db.session.get(type(user), user.id) is user)
            db.session.commit()
            db.session.remove()

    thread = threading.Thread(target=request_changing_the_user_before_any_query)
    thread.start()
    thread.join(30)
    assert seen == [False, True]
    db.session.remove()
    assert db.session.get(type(cast.member_b), member_id).title == "Bộ trưởng Bộ Y tế (mới)"


def test_flask_login_writes_nothing_into_the_cookie_session(client, cast):
    browser_login(client)
    assert client.get("/").status_code == 200
    with client.session_transaction() as session:
        assert set(session) <= {"_permanent", "sid", "csrf_token", "lang"}  # no _fresh, _id, _user_id or _remember


def test_an_api_request_without_a_cookie_gets_no_cookie_and_no_vary(client, cast):
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {issue_token(cast.member_a)}"})
    assert "Set-Cookie" not in response.headers and "Cookie" not in response.headers.get("Vary", "")


def test_rate_limit_headers_only_where_a_limit_was_checked(client, cast):
    login = client.post("/api/v1/auth/token", json={"username": "member_a", "password": TEST_PASSWORD})
    assert login.status_code == 200 and login.headers["X-RateLimit-Limit"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {login.get_json()['token']}"})
    assert me.status_code == 200 and "X-RateLimit-Limit" not in me.headers


@pytest.mark.parametrize(("url", "ping"), [("sqlite:////tmp/x.sqlite", False),
                                           ("postgresql+psycopg://postgres@127.0.0.1/x", True)])
def test_pooled_connections_are_pinged_only_where_they_can_go_stale(tmp_path, url, ping):
    from config import TestingConfig

    assert TestingConfig(tmp_path, url).SQLALCHEMY_ENGINE_OPTIONS["pool_pre_ping"] == ping


def test_requests_served_at_once_reuse_the_pooled_connections(app):
    """A process serving many requests at once keeps their connections for the next ones: a connection
    opened per request costs a new PostgreSQL server process each time."""
    at_once = 15
    opened: list[object] = []
    sa.event.listen(db.engine, "connect", lambda *_: opened.append(1))

    failures: list[BaseException] = []

    def wave() -> int:
        before = len(opened)
        together = threading.Barrier(at_once)

        def request() -> None:
            try:
                with app.app_context():
                    db.session.execute(sa.text("SELECT 1"))
                    together.wait(timeout=10)
                    db.session.remove()
            except BaseException as failure:  # a thread's error would otherwise vanish with it
                failures.append(failure)

        threads = [threading.Thread(target=request) for _ in range(at_once)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures
        return len(opened) - before

    wave()
    assert wave() == 0
