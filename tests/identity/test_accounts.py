"""Accounts from the CLI and the API: list, set (roles, clearance, e-mail, active), reset-password,
create --email; each change audited, a deactivated account logged out at once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ecabinet.auth.models import AuthSession, User
from ecabinet.database import db
from tests.conftest import TEST_PASSWORD, assert_error, issue_token
from tests.identity.helpers import audit_actions

NEW_PASSWORD = "tam-thoi-doi-ngay-2026"


def cli(app, *args: str, input: str | None = None):
    return app.test_cli_runner().invoke(args=["ecabinet", "users", *args], input=input)


def reload(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def test_users_list_prints_one_line_per_account(app, cast):
    cast.member_b.email = "hong@moh.gov.vn"
    cast.member_b.active = False
    db.session.commit()
    result = cli(app, "list")
    assert result.exit_code == 0, result.output
    lines = {line.split("\t")[0]: line.split("\t") for line in result.output.splitlines()}
    assert set(lines) == {"chair", "secretary", "member_a", "member_b", "delegate", "guest", "admin", "outsider"}
    assert lines["chair"] == ["chair", "chair,member", "secret", "active", "no-mfa"]
    assert lines["member_b"] == ["member_b", "member", "normal", "inactive", "no-mfa"]


def test_users_set_replaces_roles_and_changes_clearance_and_email(app, cast):
    before = len(audit_actions())
    result = cli(app, "set", "--username", "member_b", "--role", "member", "--role", "secretary",
                 "--clearance", "top_secret", "--email", "hong@moh.gov.vn")
    assert result.exit_code == 0, result.output
    assert "roles member -> secretary,member" in result.output
    user = reload(cast.member_b)
    assert user.roles == ["secretary", "member"]
    assert user.clearance == "top_secret"
    assert user.email == "hong@moh.gov.vn"
    assert audit_actions()[before:] == ["user.updated"]
    again = cli(app, "set", "--username", "member_b", "--clearance", "top_secret")
    assert "nothing to change" in again.output
    assert audit_actions()[before:] == ["user.updated"]


def test_users_set_inactive_ends_the_members_logins_at_once(app, client, cast):
    token = issue_token(cast.member_a)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # remembered by this process now
    result = cli(app, "set", "--username", "member_a", "--inactive")
    assert result.exit_code == 0, result.output
    assert_error(client.get("/api/v1/me", headers=headers), 401, "not_authenticated")
    assert db.session.scalar(sa.select(AuthSession.revoked_at).where(AuthSession.user_id == cast.member_a.id))
    assert audit_actions()[-2:] == ["user.updated", "user.deactivated"]
    login = client.post("/api/v1/auth/token", json={"username": "member_a", "password": TEST_PASSWORD})
    assert_error(login, 401, "invalid_credentials")
    assert cli(app, "set", "--username", "member_a", "--active").exit_code == 0
    assert "user.reactivated" in audit_actions()
    again = client.post("/api/v1/auth/token", json={"username": "member_a", "password": TEST_PASSWORD})
    assert again.status_code == 200


def test_users_set_unknown_user_or_bad_value_changes_nothing(app, cast):
    before = audit_actions()
    result = cli(app, "set", "--username", "nobody", "--clearance", "secret")
    assert result.exit_code != 0 and "not_found" in result.output
    result = cli(app, "set", "--username", "member_a", "--clearance", "ultra")
    assert result.exit_code != 0
    result = cli(app, "set", "--username", "member_a", "--email", "not-an-address")
    assert result.exit_code != 0 and "invalid_email" in result.output
    assert reload(cast.member_a).email == ""
    assert audit_actions() == before


def test_reset_password_makes_the_member_choose_a_new_one(app, client, cast):
    token = issue_token(cast.member_a)
    result = cli(app, "reset-password", "--username", "member_a", "--password-stdin", input=f"{NEW_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert audit_actions()[-1] == "user.password_reset"
    assert_error(client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}), 401, "not_authenticated")
    assert_error(client.post("/api/v1/auth/token", json={"username": "member_a", "password": TEST_PASSWORD}),
                 401, "invalid_credentials")
    issued = client.post("/api/v1/auth/token", json={"username": "member_a", "password": NEW_PASSWORD}).get_json()
    headers = {"Authorization": f"Bearer {issued['token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    error = assert_error(client.get("/api/v1/meetings", headers=headers), 403, "password_change_required")
    assert error["message"] == "Vui lòng đặt mật khẩu mới trước khi tiếp tục."
    wrong = client.post("/api/v1/me/password", headers=headers,
                        json={"current_password": "not-the-password", "new_password": "mot-mat-khau-moi-2026"})
    assert_error(wrong, 403, "password_wrong")
    same = client.post("/api/v1/me/password", headers=headers,
                       json={"current_password": NEW_PASSWORD, "new_password": NEW_PASSWORD})
    assert_error(same, 422, "password_unchanged")
    changed = client.post("/api/v1/me/password", headers=headers,
                          json={"current_password": NEW_PASSWORD, "new_password": "mot-mat-khau-moi-2026"})
    assert changed.status_code == 204
    assert client.get("/api/v1/meetings", headers=headers).status_code == 200
    assert audit_actions()[-1] == "user.password_changed"
    assert not reload(cast.member_a).must_change_password


def test_reset_password_refuses_a_weak_one(app, cast):
    before = audit_actions()
    result = cli(app, "reset-password", "--username", "member_a", "--password-stdin", input="aaaaaaaaaaaa\n")
    assert result.exit_code != 0 and "password_predictable" in result.output
    assert audit_actions() == before
    assert not reload(cast.member_a).must_change_password


def test_users_create_takes_an_email(app, cast):
    result = cli(app, "create", "--username", "bt.gd", "--full-name", "Bộ trưởng Giáo dục", "--role", "member",
                 "--email", "bt@moet.gov.vn", "--password-stdin", input="mat-khau-rat-dai-2026\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.username == "bt.gd"))
    assert user.email == "bt@moet.gov.vn"


# --- the API -------------------------------------------------------------------------------------

def test_admin_lists_accounts_without_secrets(api, cast):
    body = api(cast.admin).get("/admin/users").get_json()
    by_name = {user["username"]: user for user in body["users"]}
    assert by_name["chair"]["roles"] == ["chair", "member"]
    assert by_name["chair"]["active"] is True and by_name["chair"]["mfa"] is False
    assert all("password_hash" not in user and "totp_secret" not in user for user in body["users"])


@pytest.mark.parametrize("who", ["secretary", "chair", "member_a", "guest"])
@pytest.mark.parametrize(("method", "path", "body"), [
    ("get", "/admin/users", None),
    ("post", "/admin/users", {"username": "x1", "full_name": "X", "roles": ["member"], "password": NEW_PASSWORD}),
    ("patch", "/admin/users/{id}", {"roles": ["admin"]}),
    ("post", "/admin/users/{id}/reset-password", {"password": NEW_PASSWORD}),
    ("get", "/admin/certs", None),
])
def test_only_an_administrator_manages_accounts(api, cast, who, method, path, body):
    before = audit_actions()
    client = api(getattr(cast, who))
    url = path.format(id=cast.member_b.id)
    response = getattr(client, method)(url, json=body) if body is not None else getattr(client, method)(url)
    assert_error(response, 403, "admin_only")
    assert reload(cast.member_b).roles == ["member"]
    assert audit_actions() == before


def test_admin_changes_an_account_through_the_api(api, client, cast):
    admin = api(cast.admin)
    token = issue_token(cast.member_b)
    headers = {"Authorization": f"Bearer {token}"}
    response = admin.patch(f"/admin/users/{cast.member_b.id}",
                           json={"roles": ["member", "chair"], "clearance": "secret", "email": "h@moh.gov.vn"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["roles"] == ["chair", "member"]
    assert response.get_json()["clearance"] == "secret"
    assert client.get("/api/v1/me", headers=headers).get_json()["roles"] == ["chair", "member"]
    response = admin.patch(f"/admin/users/{cast.member_b.id}", json={"active": False})
    assert response.get_json()["active"] is False
    assert_error(client.get("/api/v1/me", headers=headers), 401, "not_authenticated")


@pytest.mark.parametrize(("body", "code"), [
    ({"roles": ["emperor"]}, "validation_error"),
    ({"clearance": "ultra"}, "validation_error"),
    ({"email": "nope"}, "invalid_email"),
    ({"active": "maybe"}, "validation_error"),
])
def test_admin_update_refuses_bad_values(api, cast, body, code):
    before = audit_actions()
    assert_error(api(cast.admin).patch(f"/admin/users/{cast.member_b.id}", json=body), 422, code)
    user = reload(cast.member_b)
    assert (user.roles, user.clearance, user.email, user.active) == (["member"], "normal", "", True)
    assert audit_actions() == before


def test_an_administrator_cannot_lock_themselves_out(api, cast):
    admin = api(cast.admin)
    assert_error(admin.patch(f"/admin/users/{cast.admin.id}", json={"active": False}), 409, "cannot_lock_out_self")
    assert_error(admin.patch(f"/admin/users/{cast.admin.id}", json={"roles": ["member"]}), 409, "cannot_lock_out_self")
    assert reload(cast.admin).active and reload(cast.admin).roles == ["admin"]


def test_the_last_administrator_stays(app, cast):
    result = cli(app, "set", "--username", "admin", "--inactive")
    assert result.exit_code != 0 and "last_admin" in result.output
    assert reload(cast.admin).active


def test_admin_creates_and_resets_through_the_api(api, client, cast):
    admin = api(cast.admin)
    created = admin.post("/admin/users", json={"username": "Bt.Xd", "full_name": "Bộ trưởng Xây dựng",
                                               "roles": ["member"], "email": "bt@moc.gov.vn",
                                               "password": "mat-khau-ban-dau-2026"})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["username"] == "bt.xd" and created.get_json()["email"] == "bt@moc.gov.vn"
    weak = admin.post("/admin/users", json={"username": "weak", "full_name": "W", "roles": ["member"],
                                            "password": "a" * 129})
    error = assert_error(weak, 422, "password_too_long")
    assert error["message"] == "Mật khẩu chỉ được có tối đa 128 ký tự."
    assert db.session.scalar(sa.select(User).where(User.username == "weak")) is None
    reset = admin.post(f"/admin/users/{created.get_json()['id']}/reset-password", json={"password": NEW_PASSWORD})
    assert reset.status_code == 204
    assert reload(db.session.scalar(sa.select(User).where(User.username == "bt.xd"))).must_change_password
