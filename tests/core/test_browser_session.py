"""Cookie sessions: CSRF on writes, logout ends the session for real, security headers."""

from __future__ import annotations

import re

import pytest

from tests.conftest import TEST_PASSWORD, assert_error


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def browser_login(client, username: str = "member_a") -> str:
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": username, "password": TEST_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return csrf_from(client.get("/").get_data(as_text=True))


def test_login_page_is_vietnamese_even_for_an_english_tablet(client):
    assert "Đăng nhập" in client.get("/login", headers={"Accept-Language": "en-US,en"}).get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client, cast):
    response = client.post("/login", data={"username": "member_a", "password": TEST_PASSWORD},
                           headers={"Accept": "application/json"})
    assert_error(response, 403, "csrf_failed")


def test_home_requires_login_and_lists_sections(client, cast):
    assert client.get("/").status_code == 302
    browser_login(client)
    page = client.get("/").get_data(as_text=True)
    assert "Trần Đức Long" in page


def test_cookie_write_without_csrf_is_refused_and_with_it_accepted(client, cast):
    csrf = browser_login(client)
    assert_error(client.post("/api/v1/auth/logout"), 403, "csrf_failed")
    assert client.post("/api/v1/auth/logout", headers={"X-CSRFToken": csrf}).status_code == 204


def test_cookie_captured_before_logout_no_longer_works(client, cast):
    csrf = browser_login(client)
    captured = client.get_cookie("ecabinet_session").value
    assert client.get("/api/v1/me").status_code == 200
    client.post("/logout", data={"csrf_token": csrf})
    replay = client.application.test_client()
    replay.set_cookie("ecabinet_session", captured)
    assert_error(replay.get("/api/v1/me"), 401, "not_authenticated")


def test_session_cookie_flags(client, cast):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "member_a", "password": TEST_PASSWORD, "csrf_token": token})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("path", ["/login", "/api/v1/me", "/api/v1/openapi.json", "/nowhere"])
def test_security_headers_on_every_response(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"]


def test_html_error_page_for_browsers(client):
    response = client.get("/nowhere", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "Không tìm thấy" in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_language_switch_is_remembered(client, cast):
    csrf = csrf_from(client.get("/login").get_data(as_text=True))
    client.post("/lang/en", data={"csrf_token": csrf, "next": "/login"})
    assert "Log in" in client.get("/login").get_data(as_text=True)
