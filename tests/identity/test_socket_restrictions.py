"""Sockets obey the same rule as the API: while a member must change a reset password or set up the second
factor their role requires, connecting and joining are refused with that code."""

from __future__ import annotations

import pytest
import socketio

from ecabinet.auth import service
from ecabinet.auth.models import Role, User
from ecabinet.database import db
from ecabinet.extensions import socketio as socketio_ext
from tests.conftest import TEST_PASSWORD, issue_token
from tests.identity.test_mfa import enrol
from tests.live.harness import ServerProcess

NEW_PASSWORD = "a-quite-different-phrase-42"


def test_a_member_who_must_change_the_password_connects_only_after_changing_it(app, api, cast):
    service.reset_password(cast.member_a, TEST_PASSWORD, actor=cast.admin)
    token = issue_token(cast.member_a)
    refused = socketio_ext.test_client(app, auth={"token": token})
    assert not refused.is_connected()
    assert api(cast.member_a).post("/me/password", json={"current_password": TEST_PASSWORD,
                                                         "new_password": NEW_PASSWORD}).status_code == 204
    # the change ended the member's other logins: the tablet logs in again
    admitted = socketio_ext.test_client(app, auth={"token": issue_token(cast.member_a)})
    try:
        assert admitted.is_connected()
        assert admitted.emit("join", {"stream": "user"}, callback=True)["ok"] is True
    finally:
        admitted.disconnect()


def test_a_role_that_needs_a_second_factor_granted_after_connecting_stops_joins_until_enrolled(app, api, cast):
    app.config["MFA_REQUIRED_ROLES"] = ["secretary"]
    member_id = cast.member_a.id
    socket = socketio_ext.test_client(app, auth={"token": issue_token(cast.member_a)})
    try:
        assert socket.is_connected()
        # the socket handlers end the test's database session: the member is read again
        member = db.session.get(User, member_id)
        service.update_user(member, actor=None, roles=[Role.MEMBER, Role.SECRETARY])
        refused = socket.emit("join", {"stream": "user"}, callback=True)
        assert refused["ok"] is False and refused["error"]["code"] == "mfa_enrolment_required"
        assert refused["error"]["message"] == "Vai trò của đồng chí yêu cầu xác thực hai lớp: hãy thiết lập ứng dụng xác thực trước."
        enrol(api, db.session.get(User, member_id))
        assert socket.emit("join", {"stream": "user"}, callback=True)["ok"] is True
    finally:
        socket.disconnect()


@pytest.mark.slow
def test_a_real_client_is_told_why_its_connection_is_refused(cast, database_url, tmp_path):
    service.reset_password(cast.member_b, TEST_PASSWORD, actor=cast.admin)
    token = issue_token(cast.member_b)
    server = ServerProcess(tmp_path, database_url)
    server.env["ECABINET_MFA_REQUIRED_ROLES"] = "secretary"
    server.start()
    reasons: list[object] = []
    try:
        for who in (token, issue_token(cast.secretary)):
            client = socketio.Client(reconnection=False)
            client.on("connect_error", reasons.append)
            with pytest.raises(socketio.exceptions.ConnectionError):
                client.connect(server.url, auth={"token": who}, transports=["websocket"], wait_timeout=5)
    finally:
        server.stop()
    assert [reason["message"] for reason in reasons] == ["password_change_required", "mfa_enrolment_required"]
    assert reasons[0]["data"]["error"]["message"] == "Vui lòng đặt mật khẩu mới trước khi tiếp tục."
