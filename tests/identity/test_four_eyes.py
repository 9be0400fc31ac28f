"""Four eyes: raising a clearance or granting the secretariat or administrator role is asked by one
administrator and carried out only when another approves; both are audited."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ecabinet.auth.models import Role, User
from ecabinet.database import db
from tests.conftest import TEST_PASSWORD, assert_error, make_user
from tests.identity.helpers import audit_actions

ALL = ["clearance.raise", "role.secretary", "role.admin", "office_key.revoke", "notice.issue"]


@pytest.fixture(autouse=True)
def four_eyes(app: Any) -> None:
    app.config["FOUR_EYES"] = ALL


@pytest.fixture
def second_admin(cast: Any) -> User:
    return make_user("admin2", roles=[Role.ADMIN], full_name="Vũ Thị Mai")


def reload(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


@pytest.mark.parametrize(("change", "kinds"), [
    ({"clearance": "top_secret"}, ["clearance.raise"]),
    ({"roles": ["member", "secretary"]}, ["role.secretary"]),
    ({"roles": ["admin"], "clearance": "secret"}, ["clearance.raise", "role.admin"]),
])
def test_a_guarded_change_waits_for_another_administrator(api, cast, second_admin, change, kinds):
    asked = api(cast.admin).patch(f"/admin/users/{cast.member_b.id}", json=change)
    assert asked.status_code == 202, asked.get_json()
    request = asked.get_json()["approval_request"]
    assert (request["kinds"], request["status"], request["payload"]) == (kinds, "pending", change)
    user = reload(cast.member_b)
    assert (user.roles, user.clearance) == (["member"], "normal")
    assert audit_actions()[-1] == "approval.requested"
    assert_error(api(cast.admin).post(f"/approvals/{request['id']}/approve"), 403, "approval_by_another")
    assert reload(cast.member_b).clearance == "normal"
    assert [r["id"] for r in api(second_admin).get("/approvals").get_json()["approval_requests"]] == [
        request["id"]]
    approved = api(second_admin).post(f"/approvals/{request['id']}/approve")
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    user = reload(cast.member_b)
    for field, value in change.items():
        assert getattr(user, field) == (sorted(value, key=[str(r) for r in Role].index) if field == "roles" else value)
    assert audit_actions()[-2:] == ["approval.approved", "user.updated"]
    assert_error(api(second_admin).post(f"/approvals/{request['id']}/approve"), 409, "approval_not_pending")


def test_unguarded_changes_apply_at_once(api, cast):
    lowered = api(cast.admin).patch(f"/admin/users/{cast.member_a.id}", json={"clearance": "normal",
                                                                              "email": "long@mof.gov.vn"})
    assert lowered.status_code == 200 and lowered.get_json()["clearance"] == "normal"
    assert "approval.requested" not in audit_actions()


def test_a_refused_request_changes_nothing(api, cast, second_admin):
    request = api(cast.admin).patch(f"/admin/users/{cast.member_b.id}",
                                    json={"roles": ["admin"]}).get_json()["approval_request"]
    refused = api(second_admin).post(f"/approvals/{request['id']}/reject")
    assert refused.get_json()["status"] == "rejected"
    assert reload(cast.member_b).roles == ["member"]
    assert audit_actions()[-1] == "approval.rejected"
    assert api(second_admin).get("/approvals").get_json()["approval_requests"] == []


def test_only_administrators_decide(api, cast):
    request = api(cast.admin).patch(f"/admin/users/{cast.member_b.id}",
                                    json={"clearance": "secret"}).get_json()["approval_request"]
    assert_error(api(cast.secretary).post(f"/approvals/{request['id']}/approve"), 404, "not_found")
    assert api(cast.secretary).get("/approvals").get_json()["approval_requests"] == []
    assert reload(cast.member_b).clearance == "normal"


def test_the_command_line_is_the_operator_and_is_not_asked(app, cast):
    result = app.test_cli_runner().invoke(args=["ecabinet", "users", "set", "--username", "member_b",
                                                "--clearance", "top_secret"])
    assert result.exit_code == 0, result.output
    assert reload(cast.member_b).clearance == "top_secret"


def test_the_page_sends_for_approval_and_another_admin_approves(app, cast, second_admin):
    def logged_in(username: str) -> tuple[Any, str]:
        browser = app.test_client()
        page = browser.get("/login").get_data(as_text=True)
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        browser.post("/login", data={"username": username, "password": TEST_PASSWORD, "csrf_token": csrf})
        page = browser.get("/").get_data(as_text=True)
        return browser, re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)

    first, csrf = logged_in("admin")
    response = first.post(f"/admin/users/{cast.member_b.id}", data={"csrf_token": csrf, "roles": ["member"],
                                                                    "clearance": "secret", "active": "on"})
    assert "Đã gửi đề nghị phê duyệt" in first.get(response.headers["Location"]).get_data(as_text=True)
    assert reload(cast.member_b).clearance == "normal"
    own = first.get("/admin/users").get_data(as_text=True)
    assert "Chờ phê duyệt" in own and "/approve" not in own  # one's own request: refuse only
    second, csrf2 = logged_in("admin2")
    page = second.get("/admin/users").get_data(as_text=True)
    action = re.search(r'action="(/admin/approvals/\d+/approve)"', page).group(1)
    second.post(action, data={"csrf_token": csrf2})
    assert reload(cast.member_b).clearance == "secret"


def test_a_conclusion_notice_is_issued_only_when_another_secretary_approves(app, api, cast):
    from tests.notices.conftest import run_session, tasks_for

    cast.member_a.organisation, cast.member_b.organisation = "Bộ Tài chính", "Bộ Y tế"
    db.session.commit()
    second_secretary = make_user("secretary2", roles=[Role.SECRETARY], full_name="Đặng Thu Hà")
    session = run_session(cast, api)
    secretary = session.clients["secretary"]
    notice_id = secretary.post(f"/meetings/{session.meeting_id}/notices",
                               json={"intro": "Văn phòng Chính phủ thông báo kết luận như sau.",
                                     "tasks": tasks_for(cast, session)}).get_json()["id"]
    asked = secretary.post(f"/notices/{notice_id}/issue")
    assert asked.status_code == 202, asked.get_json()
    request = asked.get_json()["approval_request"]
    assert (request["action"], request["kinds"]) == ("notice.issue", ["notice.issue"])
    assert secretary.get(f"/notices/{notice_id}").get_json()["status"] == "draft"
    assert_error(secretary.post(f"/approvals/{request['id']}/approve"), 403, "approval_by_another")
    assert_error(api(cast.admin).post(f"/approvals/{request['id']}/approve"), 404, "not_found")
    approved = api(second_secretary).post(f"/approvals/{request['id']}/approve")
    assert approved.status_code == 200, approved.get_json()
    notice = secretary.get(f"/notices/{notice_id}").get_json()
    assert notice["status"] == "issued"
    assert audit_actions().index("approval.approved") < audit_actions().index("notice.issued")


def test_a_new_account_gets_a_guarded_role_only_when_another_administrator_approves(api, cast, second_admin):
    created = api(cast.admin).post("/admin/users", json={
        "username": "cv.vpcp", "full_name": "Chuyên viên mới", "roles": ["secretary"], "clearance": "secret",
        "password": "mat-khau-ban-dau-2026"})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["roles"], body["clearance"]) == (["guest"], "normal")
    request = body["approval_request"]
    assert request["kinds"] == ["clearance.raise", "role.secretary"]
    assert api(second_admin).post(f"/approvals/{request['id']}/approve").status_code == 200
    user = reload(db.session.get(User, body["id"]))
    assert (user.roles, user.clearance) == (["secretary"], "secret")


def test_without_four_eyes_a_new_account_gets_everything_at_once(app, api, cast):
    app.config["FOUR_EYES"] = []
    created = api(cast.admin).post("/admin/users", json={
        "username": "cv.khac", "full_name": "Chuyên viên khác", "roles": ["secretary"], "clearance": "secret",
        "password": "mat-khau-ban-dau-2026"}).get_json()
    assert (created["roles"], created["clearance"]) == (["secretary"], "secret")
    assert "approval_request" not in created
