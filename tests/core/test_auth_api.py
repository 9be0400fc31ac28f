"""Logins, tokens, /me, logout and the error contract."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from ecabinet.adapters.limiter_hooks import skip_idle_limit_check
from tests.conftest import TEST_PASSWORD, assert_error, audit_actions


def test_token_login_returns_token_and_user(client, cast):
    response = client.post("/api/v1/auth/token", json={"username": "member_a", "password": TEST_PASSWORD})
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"]["username"] == "member_a"
    assert body["user"]["full_name"] == "Trần Đức Long"
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert set(me.get_json()) >= {"id", "username", "full_name", "title", "roles"}
    assert me.get_json()["roles"] == ["member"]
    assert "auth.login" in audit_actions()


@pytest.mark.parametrize("username", ["member_a", "nobody_here"])
def test_wrong_credentials_look_the_same_whether_or_not_the_user_exists(client, cast, username):
    response = client.post("/api/v1/auth/token", json={"username": username, "password": "wrong-password-123"})
    error = assert_error(response, 401, "invalid_credentials")
    assert error["message"] == "Sai tên đăng nhập hoặc mật khẩu."
    assert audit_actions()[-1] == "auth.login_failed"


def test_error_messages_follow_accept_language(client, cast):
    response = client.get("/api/v1/me", headers={"Accept-Language": "en"})
    assert assert_error(response, 401, "not_authenticated")["message"] == "Please log in."
    response = client.get("/api/v1/me")
    assert assert_error(response, 401, "not_authenticated")["message"] == "Vui lòng đăng nhập."


def test_logout_revokes_the_token(client, cast):
    token = client.post("/api/v1/auth/token", json={"username": "chair", "password": TEST_PASSWORD}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert_error(client.get("/api/v1/me", headers=headers), 401, "not_authenticated")
    assert "auth.logout" in audit_actions()


def test_expired_or_unknown_token_is_refused(client, cast):
    assert_error(client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"}), 401, "not_authenticated")


@pytest.mark.parametrize(("body", "content_type", "status", "code"), [
    ("{not json", "application/json", 400, "invalid_json"),
    ('{"username": 5}', "application/json", 422, "validation_error"),
    ('{"username": "a"}', "application/json", 422, "validation_error"),
    ("[]", "application/json", 422, "validation_error"),
])
def test_bad_input_gets_a_clear_error_never_a_500(client, cast, body, content_type, status, code):
    response = client.post("/api/v1/auth/token", data=body, content_type=content_type)
    assert_error(response, status, code)


def test_unknown_route_and_wrong_method(client):
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")
    assert_error(client.get("/api/v1/auth/token"), 405, "method_not_allowed")


def test_login_is_rate_limited_without_revealing_the_username(app, client, cast):
    app.config["RATELIMIT_LOGIN"] = "3 per minute"
    statuses = {}
    for username in ("member_a", "ghost_user"):
        codes = [client.post("/api/v1/auth/token", json={"username": username, "password": "wrong-password-x"},
                             environ_base={"REMOTE_ADDR": f"10.0.0.{len(statuses) + 1}"}).status_code
                 for _ in range(5)]
        statuses[username] = codes
    assert statuses["member_a"] == statuses["ghost_user"] == [401, 401, 401, 429, 429]
    response = client.post("/api/v1/auth/token", json={"username": "member_a", "password": TEST_PASSWORD},
                           environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert_error(response, 429, "rate_limited")


def _limited_app(**limiter_options: object) -> tuple[Flask, Limiter]:
    app = Flask(__name__)
    app.config["RATELIMIT_STORAGE_URI"] = "memory://"
    return app, Limiter(key_func=get_remote_address, app=app, **limiter_options)  # type: ignore[arg-type]


def test_a_limit_on_its_own_route_holds_without_the_check_before_every_request():
    app, idle = _limited_app()
    app.get("/login")(idle.limit("2 per minute")(lambda: "ok"))
    skip_idle_limit_check(app, idle)
    client = app.test_client()
    assert [client.get("/login").status_code for _ in range(3)] == [200, 200, 429]


def test_a_limit_on_every_route_keeps_the_check_before_every_request():
    app, every = _limited_app(default_limits=["2 per minute"])
    app.get("/ping")(lambda: "pong")
    skip_idle_limit_check(app, every)
    client = app.test_client()
    assert [client.get("/ping").status_code for _ in range(3)] == [200, 200, 429]


def test_passwords_and_tokens_never_reach_the_audit_chain(client, cast):
    token = client.post("/api/v1/auth/token", json={"username": "chair", "password": TEST_PASSWORD}).get_json()["token"]
    client.post("/api/v1/auth/token", json={"username": "chair", "password": "canary-password-77"})
    from ecabinet.audit import AuditRecord
    from ecabinet.database import db

    dump = " ".join(f"{r.data} {r.actor_label}" for r in db.session.query(AuditRecord).all())
    assert TEST_PASSWORD not in dump and "canary-password-77" not in dump and token not in dump


def test_openapi_document_covers_the_api(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/auth/token", "/api/v1/auth/logout", "/api/v1/me"} <= set(spec["paths"])
    assert not [path for path in spec["paths"] if not path.startswith("/api/v1/")]


def test_every_api_route_is_in_the_openapi_document(app, client):
    import re

    documented = set(client.get("/api/v1/openapi.json").get_json()["paths"])
    routes = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(rule)) for rule in app.url_map.iter_rules()
              if str(rule).startswith("/api/v1/")} - {"/api/v1/openapi.json"}
    assert routes - documented == set()
