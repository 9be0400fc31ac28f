"""The live board: only the secretariat joins a ballot's room; answers arrive there after commit."""

from __future__ import annotations

from typing import Any

from ecabinet.extensions import socketio
from tests.conftest import issue_token

from .conftest import PIN, answers_for


def _socket(app: Any, user: Any) -> Any:
    return _connect(app, issue_token(user))


def _connect(app: Any, token: str) -> Any:
    client = socketio.test_client(app, auth={"token": token})
    assert client.is_connected()
    return client


def test_board_receives_answers(app: Any, api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    # the socket handlers end the session (they run in this thread here): keep plain values
    ballot_id, body, member_id = ballot.id, {"answers": answers_for(ballot), "pin": PIN}, cast.member_a.id
    member = api(cast.member_a)
    board = _socket(app, cast.secretary)
    ack = board.emit("join_ballot", {"ballot_id": ballot_id}, callback=True)
    assert ack == {"ok": True, "answered": 0}
    board.get_received()
    assert member.post(f"/ballots/{ballot_id}/responses", body).status_code == 201
    events = [e for e in board.get_received() if e["name"] == "ballot.answered"]
    assert len(events) == 1 and events[0]["args"][0]["user_id"] == member_id
    board.disconnect()


def test_members_cannot_watch_the_board(app: Any, cast: Any, make_ballot: Any) -> None:
    ballot_id = make_ballot().id
    tokens = [issue_token(cast.member_a), issue_token(cast.outsider)]
    member, outsider = (_connect(app, token) for token in tokens)
    ack = member.emit("join_ballot", {"ballot_id": ballot_id}, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "secretariat_only"
    assert outsider.emit("join_ballot", {"ballot_id": ballot_id}, callback=True)["error"]["code"] == "not_found"
    member.disconnect()
    outsider.disconnect()


def test_a_failed_answer_broadcasts_nothing(app: Any, api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    ballot_id, body = ballot.id, {"answers": answers_for(ballot), "pin": "000000"}
    member = api(cast.member_a)
    board = _socket(app, cast.secretary)
    board.emit("join_ballot", {"ballot_id": ballot_id}, callback=True)
    board.get_received()
    member.post(f"/ballots/{ballot_id}/responses", body)
    assert board.get_received() == []
    board.disconnect()
