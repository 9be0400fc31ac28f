"""The second factor: TOTP enrolment over the API and the page, token and browser logins with the code,
recovery codes, and roles that cannot use the system until enrolled."""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp
import pytest

from ecabinet.auth.models import User
from ecabinet.database import db
from tests.conftest import TEST_PASSWORD, assert_error
from tests.identity.helpers import audit_actions


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def enrol(api: Any, user: User) -> tuple[Any, pyotp.TOTP]:
    client = api(user)
    started = client.post("/me/mfa/totp")
    assert started.status_code == 201, started.get_json()
    totp = pyotp.TOTP(started.get_json()["secret"])
    # confirmed with the previous step's code, so the current one is still unused for the test's login
    assert client.post("/me/mfa/totp/confirm", json={"otp": previous_code(totp)}).status_code == 204
    return client, totp


def token_login(client: Any, username: str, **extra: str) -> Any:
    return client.post("/api/v1/auth/token", json={"username": username, "password": TEST_PASSWORD, **extra})


def previous_code(totp: pyotp.TOTP) -> str:
    return totp.at(time.time() - totp.interval)


def test_enrolment_then_token_login_asks_for_the_code(api, client, cast):
    started = api(cast.member_a).post("/me/mfa/totp")
    assert started.status_code == 201
    body = started.get_json()
    assert body["otpauth_uri"].startswith("otpauth://totp/e-Cabinet:member_a?secret=" + body["secret"])
    # not confirmed yet: logins are as before
    assert token_login(client, "member_a").status_code == 200
    totp = pyotp.TOTP(body["secret"])
    assert_error(api(cast.member_a).post("/me/mfa/totp/confirm", json={"otp": "000000"}), 422, "mfa_invalid")
    # a phone a little behind still works
    assert api(cast.member_a).post("/me/mfa/totp/confirm", json={"otp": previous_code(totp)}).status_code == 204
    assert audit_actions()[-3:] == ["mfa.totp_started", "auth.login", "mfa.totp_enrolled"]

    required = assert_error(token_login(client, "member_a"), 401, "mfa_required")
    assert required["message"] == "Vui lòng nhập mã từ ứng dụng xác thực."
    for wrong in ("123456", "١٢٣٤٥٦", "12 34 5", "x" * 32):
        assert_error(token_login(client, "member_a", otp=wrong), 401, "mfa_invalid")
    assert audit_actions()[-1] == "auth.login_failed"
    code = totp.now()
    issued = token_login(client, "member_a", otp=code)
    assert issued.status_code == 200, issued.get_json()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {issued.get_json()['token']}"}).status_code == 200
    # a code is accepted once, and an older one not after it (RFC 6238 section 5.2)
    assert_error(token_login(client, "member_a", otp=code), 401, "mfa_invalid")
    assert_error(token_login(client, "member_a", otp=previous_code(totp)), 401, "mfa_invalid")
    # the wrong password is still just a wrong password, code or not
    wrong = client.post("/api/v1/auth/token", json={"username": "member_a", "password": "not-the-password-1"})
    assert_error(wrong, 401, "invalid_credentials")


def test_enrolling_twice_or_confirming_unstarted_is_refused(api, cast):
    assert_error(api(cast.member_b).post("/me/mfa/totp/confirm", json={"otp": "123456"}), 409, "mfa_not_started")
    enrol(api, cast.member_b)
    before = audit_actions()
    assert_error(api(cast.member_b).post("/me/mfa/totp"), 409, "mfa_already_enrolled")
    assert audit_actions() == before


def test_recovery_codes_work_once(api, client, cast):
    member, _ = enrol(api, cast.member_a)
    codes = member.post("/me/mfa/recovery-codes").get_json()["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert token_login(client, "member_a", otp=codes[0]).status_code == 200
    assert_error(token_login(client, "member_a", otp=codes[0]), 401, "mfa_invalid")
    assert token_login(client, "member_a", otp=codes[1].upper()).status_code == 200
    assert "mfa.recovery_code_used" in audit_actions()
    db.session.expire_all()
    assert len(db.session.get(User, cast.member_a.id).recovery_codes) == 8


def test_the_browser_asks_for_the_code_on_a_second_step(api, app, cast):
    _, totp = enrol(api, cast.member_a)
    browser = app.test_client()
    page = browser.post("/login", data={"username": "member_a", "password": TEST_PASSWORD,
                                        "csrf_token": csrf_of(browser.get("/login").get_data(as_text=True))})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="otp"' in html and "Nhập mã xác thực" in html
    assert browser.get("/").status_code == 302  # not logged in yet
    wrong = browser.post("/login/otp", data={"otp": "000000", "csrf_token": csrf_of(html)})
    assert wrong.status_code == 401 and "Mã xác thực sai hoặc đã hết hạn." in wrong.get_data(as_text=True)
    done = browser.post("/login/otp", data={"otp": totp.now(), "csrf_token": csrf_of(wrong.get_data(as_text=True))})
    assert done.status_code == 302
    assert browser.get("/").status_code == 200


def test_the_second_step_needs_the_first(app, cast):
    browser = app.test_client()
    csrf = csrf_of(browser.get("/login").get_data(as_text=True))
    response = browser.post("/login/otp", data={"otp": "123456", "csrf_token": csrf})
    assert response.status_code == 401
    assert browser.get("/").status_code == 302


def test_the_enrolment_page_shows_a_local_qr_code(app, cast):
    browser = app.test_client()
    login = browser.post("/login", data={"username": "member_b", "password": TEST_PASSWORD,
                                         "csrf_token": csrf_of(browser.get("/login").get_data(as_text=True))})
    assert login.status_code == 302
    page = browser.get("/account/mfa").get_data(as_text=True)
    started = browser.post("/account/mfa", data={"csrf_token": csrf_of(page)})
    assert started.status_code == 302
    page = browser.get("/account/mfa").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page
    secret = re.search(r"<code>([A-Z2-7]{32})</code>", page).group(1)
    confirmed = browser.post("/account/mfa/confirm", data={"otp": pyotp.TOTP(secret).now(),
                                                           "csrf_token": csrf_of(page)})
    assert confirmed.status_code == 200
    codes = re.findall(r"<code>([0-9a-f]{6}-[0-9a-f]{6})</code>", confirmed.get_data(as_text=True))
    assert len(codes) == 10
    db.session.expire_all()
    assert db.session.get(User, cast.member_b.id).has_totp


@pytest.mark.parametrize("role_user", ["secretary", "admin"])
def test_required_roles_cannot_use_the_system_until_enrolled(app, api, cast, role_user):
    app.config["MFA_REQUIRED_ROLES"] = ["secretary", "admin"]
    user = getattr(cast, role_user)
    client = api(user)
    error = assert_error(client.get("/meetings"), 403, "mfa_enrolment_required")
    assert error["message"] == "Vai trò của đồng chí yêu cầu xác thực hai lớp: hãy thiết lập ứng dụng xác thực trước."
    assert client.get("/me").status_code == 200
    assert api(cast.member_a).get("/meetings").status_code == 200  # members are not asked
    browser = app.test_client()
    login = browser.post("/login", data={"username": user.username, "password": TEST_PASSWORD,
                                         "csrf_token": csrf_of(browser.get("/login").get_data(as_text=True))})
    assert login.headers["Location"].endswith("/account/mfa")
    assert browser.get("/meetings").headers["Location"].endswith("/account/mfa")
    enrol(api, user)
    assert client.get("/meetings").status_code == 200
    assert browser.get("/").status_code == 200


def test_the_default_roles_depend_on_the_environment(monkeypatch, tmp_path):
    from config import Config

    monkeypatch.setenv("ECABINET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ECABINET_ENV", "development")
    assert Config().MFA_REQUIRED_ROLES == []
    monkeypatch.setenv("ECABINET_ENV", "production")
    monkeypatch.setenv("ECABINET_SECRET_KEY", "x" * 40)
    assert Config().MFA_REQUIRED_ROLES == ["secretary", "admin"]
    monkeypatch.setenv("ECABINET_MFA_REQUIRED_ROLES", "admin")
    assert Config().MFA_REQUIRED_ROLES == ["admin"]


def test_an_administrator_removes_a_lost_second_factor(api, client, cast):
    enrol(api, cast.member_a)
    assert api(cast.admin).delete(f"/admin/users/{cast.member_a.id}/mfa").status_code == 204
    assert token_login(client, "member_a").status_code == 200
    assert "mfa.removed" in audit_actions()


def test_users_list_says_who_has_a_second_factor(app, api, cast):
    enrol(api, cast.member_a)
    lines = app.test_cli_runner().invoke(args=["ecabinet", "users", "list"]).output.splitlines()
    states = {line.split("\t")[0]: line.split("\t")[4] for line in lines}
    assert states["member_a"] == "mfa" and states["member_b"] == "no-mfa"
