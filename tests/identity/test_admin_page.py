"""The administration page (server-rendered forms) and the browser's forced password change."""

from __future__ import annotations

import re
from io import BytesIO
from typing import Any

import pytest
from sqlalchemy import select

from ecabinet import keystore
from ecabinet.auth.models import User
from ecabinet.database import db
from tests.conftest import TEST_PASSWORD, issue_token
from tests.identity.helpers import audit_actions


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def logged_in(app: Any, username: str) -> tuple[Any, str]:
    browser = app.test_client()
    response = browser.post("/login", data={"username": username, "password": TEST_PASSWORD,
                                            "csrf_token": csrf_of(browser.get("/login").get_data(as_text=True))})
    assert response.status_code == 302
    return browser, csrf_of(browser.get("/").get_data(as_text=True))


def reload(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def test_the_admin_sees_every_account_and_a_link_from_home(app, cast):
    browser, _ = logged_in(app, "admin")
    assert "/admin/users" in browser.get("/").get_data(as_text=True)
    page = browser.get("/admin/users").get_data(as_text=True)
    for username in ("chair", "member_a", "member_b", "guest", "outsider"):
        assert f">{username}</a>" in page
    assert "Ngừng hoạt động" not in page  # everyone is active


@pytest.mark.parametrize("username", ["secretary", "chair", "member_a"])
def test_others_are_refused(app, cast, username):
    browser, csrf = logged_in(app, username)
    assert browser.get("/admin/users").status_code == 403
    response = browser.post(f"/admin/users/{cast.member_b.id}", data={"csrf_token": csrf, "clearance": "top_secret",
                                                                      "roles": ["admin"]})
    assert response.status_code == 403
    assert reload(cast.member_b).roles == ["member"]
    assert "/admin/users" not in browser.get("/").get_data(as_text=True)


def test_deactivating_from_the_page_logs_the_member_out(app, client, cast):
    browser, csrf = logged_in(app, "admin")
    token = issue_token(cast.member_a)
    response = browser.post(f"/admin/users/{cast.member_a.id}",
                            data={"csrf_token": csrf, "roles": ["member", "secretary"], "clearance": "top_secret",
                                  "email": "long@mof.gov.vn"})  # "active" unchecked
    assert response.status_code == 302
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã lưu tài khoản." in page
    user = reload(cast.member_a)
    assert (user.active, user.roles, user.clearance, user.email) == (
        False, ["secretary", "member"], "top_secret", "long@mof.gov.vn")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert audit_actions()[-2:] == ["user.updated", "user.deactivated"]


def test_a_refusal_is_shown_on_the_page_and_changes_nothing(app, cast):
    browser, csrf = logged_in(app, "admin")
    before = audit_actions()
    response = browser.post(f"/admin/users/{cast.member_b.id}/password", data={"csrf_token": csrf,
                                                                               "password": "aaaaaaaaaaaa"})
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "Mật khẩu này quá dễ đoán" in page
    assert not reload(cast.member_b).must_change_password
    assert audit_actions() == before


def test_a_reset_password_is_changed_at_the_next_browser_login(app, cast):
    admin, csrf = logged_in(app, "admin")
    admin.post(f"/admin/users/{cast.member_b.id}/password", data={"csrf_token": csrf,
                                                                  "password": "tam-thoi-doi-ngay-2026"})
    browser = app.test_client()
    response = browser.post("/login", data={"username": "member_b", "password": "tam-thoi-doi-ngay-2026",
                                            "csrf_token": csrf_of(browser.get("/login").get_data(as_text=True))})
    assert response.headers["Location"].endswith("/account/password")
    assert browser.get("/meetings").headers["Location"].endswith("/account/password")
    page = browser.get("/account/password").get_data(as_text=True)
    assert "Quản trị viên đã đặt lại mật khẩu" in page
    differ = browser.post("/account/password", data={"csrf_token": csrf_of(page),
                                                     "current_password": "tam-thoi-doi-ngay-2026",
                                                     "new_password": "mat-khau-cua-rieng-toi",
                                                     "confirm_password": "mat-khau-cua-rieng-toj"})
    assert differ.status_code == 422
    done = browser.post("/account/password", data={"csrf_token": csrf_of(page),
                                                   "current_password": "tam-thoi-doi-ngay-2026",
                                                   "new_password": "mat-khau-cua-rieng-toi",
                                                   "confirm_password": "mat-khau-cua-rieng-toi"})
    assert done.status_code == 302
    assert browser.get("/meetings").status_code == 200
    assert not reload(cast.member_b).must_change_password


def test_creating_an_account_from_the_page(app, cast):
    browser, csrf = logged_in(app, "admin")
    response = browser.post("/admin/users", data={"csrf_token": csrf, "username": "bt.nv", "full_name": "Bộ trưởng Nội vụ",
                                                  "title": "Bộ trưởng", "roles": ["member"], "clearance": "secret",
                                                  "email": "bt@moha.gov.vn", "password": "mat-khau-ban-dau-2026"})
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "bt.nv"))
    assert (user.roles, user.clearance, user.email) == (["member"], "secret", "bt@moha.gov.vn")


def test_certificates_from_the_page(app, cast, members, make_ballot, api):
    browser, csrf = logged_in(app, "admin")
    credential = keystore.active_credential(cast.member_a)
    ballot = make_ballot()
    from tests.identity.test_certificates import answer

    for _ in range(app.config["PIN_ATTEMPTS"]):
        answer(api, cast.member_a, ballot, pin="000000")
    page = browser.get(f"/admin/users/{cast.member_a.id}").get_data(as_text=True)
    assert credential.serial in page and "Đã khóa" in page
    browser.post(f"/admin/certs/{credential.id}/unlock", data={"csrf_token": csrf})
    db.session.refresh(credential)
    assert not credential.locked
    browser.post(f"/admin/certs/{credential.id}/revoke", data={"csrf_token": csrf, "reason": "Mất thiết bị"})
    db.session.refresh(credential)
    assert credential.revoked_at is not None
    assert "Đã thu hồi" in browser.get(f"/admin/users/{cast.member_a.id}").get_data(as_text=True)
    response = browser.post("/admin/crls", data={"csrf_token": csrf, "crl": (BytesIO(keystore.builtin_ca().crl()), "c.crl")},
                            content_type="multipart/form-data")
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã nhập danh sách thu hồi." in page
    assert "crl.imported" in audit_actions()
