"""A socket event with a bad payload is answered with a refusal ack, never left without an answer."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from ecabinet.extensions import socketio
from tests.conftest import issue_token
from tests.live.scenario import published_meeting

HUGE = 99999999999999999999


@pytest.fixture
def tablet(app: Any, cast: Any) -> Any:
    meeting_id = published_meeting(cast).meeting.id
    client = socketio.test_client(app, auth={"token": issue_token(cast.member_a)})
    assert client.is_connected()
    yield client, meeting_id
    client.disconnect()


@pytest.mark.parametrize(("payload", "code", "message"), [
    ({"meeting_id": HUGE}, "not_found", "Không tìm thấy."),
    ({"meeting_id": 2**31}, "not_found", "Không tìm thấy."),
    ({"meeting_id": -HUGE}, "not_found", "Không tìm thấy."),
    ({"meeting_id": "1"}, "validation_error", "Một số giá trị không hợp lệ."),
    ({"meeting_id": 1.5}, "validation_error", "Một số giá trị không hợp lệ."),
    ({"meeting_id": True}, "validation_error", "Một số giá trị không hợp lệ."),
    ({"meeting_id": "{meeting}", "last_seq": HUGE}, "validation_error", "Một số giá trị không hợp lệ."),
    ({"meeting_id": "{meeting}", "last_seq": -1}, "validation_error", "Một số giá trị không hợp lệ."),
    (None, "validation_error", "Một số giá trị không hợp lệ."),
    ([1, 2], "validation_error", "Một số giá trị không hợp lệ."),
])
def test_join_with_a_bad_meeting_id_gets_a_refusal_ack(tablet: Any, payload: Any, code: str, message: str) -> None:
    client, meeting_id = tablet
    if isinstance(payload, dict) and payload.get("meeting_id") == "{meeting}":
        payload = {**payload, "meeting_id": meeting_id}
    ack = client.emit("join", payload, callback=True)
    assert ack["ok"] is False
    assert ack["error"]["code"] == code
    assert ack["error"]["message"] == message
    assert client.get_received() == []
    # the socket is still usable: the right join is answered as before
    assert client.emit("join", {"meeting_id": meeting_id, "last_seq": 0}, callback=True)["ok"] is True


def test_joining_ones_own_stream_from_a_huge_seq_gets_a_refusal_ack(app: Any, cast: Any) -> None:
    client = socketio.test_client(app, auth={"token": issue_token(cast.secretary)})
    ack = client.emit("join", {"stream": "user", "last_seq": HUGE}, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "validation_error"
    assert client.emit("join", {"stream": "user"}, callback=True)["ok"] is True
    client.disconnect()


def test_an_unexpected_failure_in_a_socket_handler_is_answered(app: Any, cast: Any, caplog: Any) -> None:
    secret = "token-9c1e-never-shown"

    def fail(payload: Any = None) -> dict[str, Any]:
        raise RuntimeError(f"database said no, with {secret}")

    socketio.on_event("_test_failure", fail)
    caplog.set_level(logging.ERROR)
    client = socketio.test_client(app, auth={"token": issue_token(cast.member_a)})
    ack = client.emit("_test_failure", {}, callback=True)
    client.disconnect()
    assert ack["ok"] is False
    assert ack["error"]["code"] == "internal_error"
    assert ack["error"]["message"] == "Hệ thống gặp sự cố. Lỗi đã được ghi lại."
    assert re.fullmatch(r"[0-9a-f]{12}", ack["error"]["reference"])
    assert ack["error"]["reference"] in caplog.text
    assert secret not in str(ack)


def test_a_failure_while_connecting_refuses_the_connection(app: Any, cast: Any, monkeypatch: Any) -> None:
    from ecabinet import realtime

    def broken(auth: Any) -> Any:
        raise RuntimeError("database unreachable")

    monkeypatch.setattr(realtime, "_authenticate", broken)
    client = socketio.test_client(app, auth={"token": issue_token(cast.member_a)})
    assert not client.is_connected()
