"""Ballot events go through each user's own stream (ecabinet.realtime): stored, numbered, replayed on join,
sent after commit. The board is the secretariat's stream; a recipient's tablet gets its issues and reminders."""

from __future__ import annotations

import time
from typing import Any

from ecabinet.database import db
from ecabinet.extensions import socketio
from ecabinet.realtime import UserEvent
from tests.conftest import issue_token

from .conftest import PIN, answers_for


def _stream(app: Any, token: str, last_seq: int | None = None) -> tuple[Any, dict[str, Any]]:
    client = socketio.test_client(app, auth={"token": token})
    assert client.is_connected()
    ack = client.emit("join", {"stream": "user", "last_seq": last_seq}, callback=True)
    return client, ack


def _events(client: Any, count: int = 0) -> list[dict[str, Any]]:
    """The events received: waited for until there are ``count`` (the replay runs in a background task),
    or those that came within 0.3 s when none is expected."""
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + (30 if count else 0.3)
    while True:
        events += [e["args"][0] for e in client.get_received() if e["name"] == "event"]
        if (count and len(events) >= count) or time.monotonic() >= deadline:
            return events
        time.sleep(0.01)


def test_the_board_receives_answers_in_the_secretariat_stream(app: Any, api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    ballot_id, body, member_id = ballot.id, {"answers": answers_for(ballot), "pin": PIN}, cast.member_a.id
    member = api(cast.member_a)
    # the socket handlers end the session (they run in this thread here): tokens and plain values first
    board, ack = _stream(app, issue_token(cast.secretary))
    assert ack["ok"] is True
    _events(board)
    assert member.post(f"/ballots/{ballot_id}/responses", body).status_code == 201
    [event] = _events(board, 1)
    assert (event["stream"], event["type"], event["seq"]) == ("user", "ballot.answered", ack["seq"] + 1)
    assert event["data"]["ballot_id"] == ballot_id and event["data"]["user_id"] == member_id
    board.disconnect()


def test_a_member_never_sees_the_board_and_a_stream_is_only_ones_own(app: Any, api: Any, cast: Any,
                                                                      make_ballot: Any) -> None:
    ballot = make_ballot()
    ballot_id, body = ballot.id, {"answers": answers_for(ballot), "pin": PIN}
    member_a, member_b_id, secretary_id = api(cast.member_a), cast.member_b.id, cast.secretary.id
    member_b, _ = _stream(app, issue_token(cast.member_b))
    _events(member_b)
    assert member_a.post(f"/ballots/{ballot_id}/responses", body).status_code == 201
    assert _events(member_b) == []
    # a stream is named by the socket's login, never by the payload
    ack = member_b.emit("join", {"stream": "user", "user_id": secretary_id, "last_seq": 0}, callback=True)
    assert ack["ok"] is True
    assert all(e["user_id"] == member_b_id for e in _events(member_b))
    for legacy in ("join_ballot", "join_ballots", "join_tasks"):
        assert member_b.emit(legacy, {"ballot_id": ballot_id}, callback=True) is None
    member_b.disconnect()


def test_a_failed_answer_broadcasts_and_stores_nothing(app: Any, api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    ballot_id, body = ballot.id, {"answers": answers_for(ballot), "pin": "000000"}
    before = db.session.query(UserEvent).count()
    member = api(cast.member_a)
    board, _ = _stream(app, issue_token(cast.secretary))
    _events(board)
    assert member.post(f"/ballots/{ballot_id}/responses", body).status_code == 403
    assert _events(board) == []
    assert db.session.query(UserEvent).count() == before
    board.disconnect()


def test_issue_reaches_each_recipient_and_is_replayed_after_a_reconnect(app: Any, api: Any, cast: Any,
                                                                         make_ballot: Any) -> None:
    """The member's tablet was away when the ballot was issued: joining with its last seq replays it once."""
    token, secretary = issue_token(cast.member_a), api(cast.secretary)
    ballot_id = make_ballot(issue=False).id
    tablet, ack = _stream(app, token)
    seen = ack["seq"]
    tablet.disconnect()
    assert secretary.post(f"/ballots/{ballot_id}/issue").status_code == 200  # while the tablet is away
    again, ack = _stream(app, token, last_seq=seen)
    replayed = _events(again, ack["seq"] - seen)
    issued = [e for e in replayed if e["type"] == "ballot.issued"]
    assert [e["data"]["ballot_id"] for e in issued] == [ballot_id]
    assert [e["seq"] for e in replayed] == list(range(seen + 1, ack["seq"] + 1))
    # joining "from now" (no last seq) replays nothing
    fresh, _ = _stream(app, token)
    assert _events(fresh) == []
    for client in (again, fresh):
        client.disconnect()
