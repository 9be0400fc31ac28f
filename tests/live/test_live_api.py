"""The live session over HTTP: who may do what, the state it leaves, the events and audit it writes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ecabinet.database import db
from ecabinet.realtime import MeetingEvent
from tests.conftest import assert_error, audit_actions
from tests.live.scenario import published_meeting


def events(meeting_id: int) -> list[tuple[int, str]]:
    return list(db.session.execute(sa.select(MeetingEvent.seq, MeetingEvent.type)
                                   .where(MeetingEvent.meeting_id == meeting_id).order_by(MeetingEvent.seq)))


@pytest.fixture
def room(cast, api):
    scenario = published_meeting(cast)
    return scenario, {name: api(getattr(cast, name)) for name in
                      ("chair", "secretary", "member_a", "member_b", "delegate", "guest", "outsider", "admin")}


def start(room):
    scenario, clients = room
    assert clients["chair"].post(f"/meetings/{scenario.meeting.id}/session/start").status_code == 200
    return scenario.meeting.id


def check_in(room, *names):
    scenario, clients = room
    for name in names:
        assert clients[name].post(f"/meetings/{scenario.meeting.id}/checkin").status_code == 201


def test_only_the_chair_starts_the_session(room):
    scenario, clients = room
    meeting_id = scenario.meeting.id
    before = len(audit_actions())
    assert_error(clients["member_a"].post(f"/meetings/{meeting_id}/session/start"), 403, "chair_only")
    assert_error(clients["outsider"].post(f"/meetings/{meeting_id}/session/start"), 404, "not_found")
    assert events(meeting_id) == []
    assert [a for a in audit_actions()[before:] if a != "access.refused"] == []
    start(room)
    assert events(meeting_id) == [(1, "session.started")]
    assert_error(clients["chair"].post(f"/meetings/{meeting_id}/session/start"), 409, "meeting_not_published")


def test_checkin_quorum_and_receipt(room, cast):
    meeting_id = start(room)
    _, clients = room
    quorum = clients["member_a"].get(f"/meetings/{meeting_id}/quorum").get_json()
    assert quorum == {"present": 0, "total_members": 3, "required": 2, "reached": False, "delegates_present": 0}
    answer = clients["member_a"].post(f"/meetings/{meeting_id}/checkin")
    assert answer.status_code == 201
    receipt = answer.get_json()["receipt"]
    assert receipt["act"] == "checkin" and receipt["seq"] == 2 and len(receipt["sha256"]) == 64
    clients["delegate"].post(f"/meetings/{meeting_id}/checkin")
    quorum = clients["chair"].get(f"/meetings/{meeting_id}/quorum").get_json()
    assert quorum["present"] == 1 and quorum["delegates_present"] == 1 and not quorum["reached"]
    # the secretariat checks the chair in on his behalf; a member cannot do that for another
    assert_error(clients["member_a"].post(f"/meetings/{meeting_id}/attendance",
                                          json={"user_id": cast.chair.id, "present": True}), 403, "secretariat_only")
    clients["secretary"].post(f"/meetings/{meeting_id}/attendance", json={"user_id": cast.chair.id, "present": True})
    assert clients["chair"].get(f"/meetings/{meeting_id}/quorum").get_json()["reached"] is True
    absent = clients["secretary"].post(f"/meetings/{meeting_id}/attendance",
                                       json={"user_id": cast.member_b.id, "present": False,
                                             "absence_reason": "Công tác nước ngoài"})
    assert absent.status_code == 200
    state = clients["member_a"].get(f"/meetings/{meeting_id}/live").get_json()
    row = next(r for r in state["attendance"] if r["user_id"] == cast.member_b.id)
    assert row["absence_reason"] == "Công tác nước ngoài" and row["present"] is False
    assert next(r for r in state["attendance"] if r["user_id"] == cast.delegate.id)["represents"] == "Lê Thị Hồng"
    seqs = [seq for seq, _ in events(meeting_id)]
    assert seqs == list(range(1, len(seqs) + 1))


def test_agenda_speakers_and_conclusion(room, cast):
    meeting_id = start(room)
    scenario, clients = room
    item = scenario.items[0]
    assert_error(clients["member_a"].post(f"/meetings/{meeting_id}/agenda/{item.id}/activate"), 403,
                 "chair_or_secretariat_only")
    assert clients["chair"].post(f"/meetings/{meeting_id}/agenda/{item.id}/activate").status_code == 200
    first = clients["member_a"].post(f"/meetings/{meeting_id}/speakers").get_json()
    assert first["receipt"]["act"] == "speaker.requested"
    assert_error(clients["member_a"].post(f"/meetings/{meeting_id}/speakers"), 409, "already_requested_floor")
    second = clients["member_b"].post(f"/meetings/{meeting_id}/speakers").get_json()["speaker"]
    assert_error(clients["member_b"].post(f"/meetings/{meeting_id}/speakers/{first['speaker']['id']}/grant"),
                 403, "chair_only")
    granted = clients["chair"].post(f"/meetings/{meeting_id}/speakers/{first['speaker']['id']}/grant").get_json()
    assert granted["status"] == "granted"
    # granting the next speaker ends the current turn
    clients["chair"].post(f"/meetings/{meeting_id}/speakers/{second['id']}/grant")
    rows = {r["id"]: r for r in clients["delegate"].get(f"/meetings/{meeting_id}/speakers").get_json()["speakers"]}
    # the guest is invited to item 2 only: the speakers of item 1 are not theirs to see
    assert clients["guest"].get(f"/meetings/{meeting_id}/speakers").get_json()["speakers"] == []
    assert rows[first["speaker"]["id"]]["status"] == "finished"
    assert rows[first["speaker"]["id"]]["seconds_spoken"] >= 0
    assert rows[second["id"]]["status"] == "granted"
    assert clients["member_b"].post(f"/meetings/{meeting_id}/speakers/{second['id']}/finish").status_code == 200
    third = clients["member_a"].post(f"/meetings/{meeting_id}/speakers").get_json()["speaker"]
    assert_error(clients["member_b"].delete(f"/meetings/{meeting_id}/speakers/{third['id']}"), 403, "forbidden")
    assert clients["member_a"].delete(f"/meetings/{meeting_id}/speakers/{third['id']}").get_json()["status"] == "withdrawn"
    assert_error(clients["member_a"].put(f"/meetings/{meeting_id}/agenda/{item.id}/conclusion",
                                         json={"text": "x"}), 403, "secretariat_only")
    text = "Chính phủ thống nhất trình Quốc hội dự án Luật."
    answer = clients["secretary"].put(f"/meetings/{meeting_id}/agenda/{item.id}/conclusion", json={"text": text})
    assert answer.get_json()["conclusion"] == text
    types = [t for _, t in events(meeting_id)]
    assert types == ["session.started", "agenda.activated", "speaker.requested", "speaker.requested",
                     "speaker.granted", "speaker.finished", "speaker.granted", "speaker.finished",
                     "speaker.requested", "speaker.withdrawn", "conclusion.set"]


def test_named_vote_counts_against_all_members_and_shows_names_after_close(room, cast):
    meeting_id = start(room)
    _, clients = room
    check_in(room, "chair", "member_a", "delegate", "guest")
    vote = clients["chair"].post(f"/meetings/{meeting_id}/votes", json={"question": "Thông qua dự thảo?", "secret": False})
    assert vote.status_code == 201
    vote_id = vote.get_json()["id"]
    assert clients["member_a"].post(f"/votes/{vote_id}/cast", json={"choice": "agree"}).status_code == 201
    assert_error(clients["member_a"].post(f"/votes/{vote_id}/cast", json={"choice": "disagree"}), 409, "already_voted")
    # a vote on no item of theirs does not exist for a guest
    assert_error(clients["guest"].post(f"/votes/{vote_id}/cast", json={"choice": "agree"}), 404, "not_found")
    assert_error(clients["delegate"].post(f"/votes/{vote_id}/cast", json={"choice": "agree"}), 403,
                 "not_entitled_to_vote")
    assert_error(clients["outsider"].post(f"/votes/{vote_id}/cast", json={"choice": "agree"}), 404, "not_found")
    assert_error(clients["member_b"].post(f"/votes/{vote_id}/cast", json={"choice": "maybe"}), 422, "validation_error")
    open_view = clients["member_b"].get(f"/votes/{vote_id}").get_json()
    assert open_view["cast"] == 1 and "names" not in open_view
    assert_error(clients["member_a"].post(f"/votes/{vote_id}/close"), 403, "chair_only")
    result = clients["chair"].post(f"/votes/{vote_id}/close").get_json()
    # one agree out of three members is not more than half of ALL members
    assert result == {"vote_id": vote_id, "agree": 1, "disagree": 0, "abstain": 0, "not_voted": 2, "total_members": 3,
                      "passed": False, "tie": False, "decided_by_chair": False}
    assert_error(clients["member_b"].post(f"/votes/{vote_id}/cast", json={"choice": "agree"}), 409, "vote_closed")
    closed = clients["member_b"].get(f"/votes/{vote_id}").get_json()
    assert closed["names"] == [{"user_id": cast.member_a.id, "full_name": "Trần Đức Long", "choice": "agree"}]


def test_secret_vote_never_reveals_who_chose_what(room, cast):
    meeting_id = start(room)
    _, clients = room
    check_in(room, "chair", "member_a", "member_b")
    vote_id = clients["chair"].post(f"/meetings/{meeting_id}/votes",
                                    json={"question": "Bỏ phiếu kín", "secret": True}).get_json()["id"]
    clients["member_a"].post(f"/votes/{vote_id}/cast", json={"choice": "agree"})
    clients["member_b"].post(f"/votes/{vote_id}/cast", json={"choice": "disagree"})
    clients["chair"].post(f"/votes/{vote_id}/cast", json={"choice": "agree"})
    result = clients["chair"].post(f"/votes/{vote_id}/close").get_json()
    assert (result["agree"], result["disagree"], result["passed"]) == (2, 1, True)
    assert "names" not in clients["member_a"].get(f"/votes/{vote_id}").get_json()
    from ecabinet.audit import AuditRecord
    from meetings.live.models import VoteParticipation

    assert all(row.choice is None for row in db.session.scalars(sa.select(VoteParticipation)))
    stored = " ".join(r.data for r in db.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "vote.cast")))
    assert "agree" not in stored and "disagree" not in stored
    # check-ins name who is present; no vote event names who voted
    payloads = " ".join(e.data for e in db.session.scalars(sa.select(MeetingEvent).where(
        MeetingEvent.meeting_id == meeting_id, MeetingEvent.type.like("vote.%"))))
    assert str(cast.member_a.id) not in _user_fields(payloads)


def _user_fields(payloads: str) -> str:
    import re

    return " ".join(re.findall(r'"user_id": ?(\d+)', payloads))


def test_close_session_requires_closed_votes_and_freezes_writes(room):
    meeting_id = start(room)
    scenario, clients = room
    check_in(room, "chair", "member_a")
    vote_id = clients["chair"].post(f"/meetings/{meeting_id}/votes", json={"question": "Q", "secret": False}).get_json()["id"]
    assert_error(clients["chair"].post(f"/meetings/{meeting_id}/session/close"), 409, "votes_still_open")
    clients["chair"].post(f"/votes/{vote_id}/close")
    assert clients["chair"].post(f"/meetings/{meeting_id}/session/close").get_json()["status"] == "closed"
    assert_error(clients["member_a"].post(f"/meetings/{meeting_id}/speakers"), 409, "session_not_in_progress")
    assert_error(clients["chair"].post(f"/meetings/{meeting_id}/agenda/{scenario.items[0].id}/activate"), 409,
                 "session_not_in_progress")


def test_events_catch_up_over_http(room):
    meeting_id = start(room)
    _, clients = room
    clients["member_a"].post(f"/meetings/{meeting_id}/checkin")
    caught = clients["member_b"].get(f"/meetings/{meeting_id}/events?after=1").get_json()["events"]
    assert [(e["seq"], e["type"]) for e in caught] == [(2, "attendance.changed")]
    assert_error(clients["outsider"].get(f"/meetings/{meeting_id}/events"), 404, "not_found")


@pytest.mark.parametrize(("secret", "chair_choice", "passed", "decided_by_chair"), [
    (False, "agree", True, True),
    (False, "disagree", False, True),
    # a secret vote keeps no one's choice, the chair's included, so nothing can break the tie: it does not pass
    # (and announcing the chair's side as the winner would itself reveal how the chair voted)
    (True, "agree", False, False),
    (True, "disagree", False, False),
])
def test_a_tie_follows_the_chair_in_a_named_vote_only(room, cast, secret, chair_choice, passed, decided_by_chair):
    from meetings.live.models import VoteParticipation
    from meetings.models import Participant, ParticipantRole

    scenario, clients = room
    # a fourth member makes an even room: chair and member_a against member_b and the outsider, or the reverse
    db.session.add(Participant(meeting_id=scenario.meeting.id, user_id=cast.outsider.id, role=ParticipantRole.MEMBER))
    db.session.commit()
    meeting_id = start(room)
    check_in(room, "chair", "member_a", "member_b", "outsider")
    vote_id = clients["chair"].post(f"/meetings/{meeting_id}/votes",
                                    json={"question": "Hoà phiếu", "secret": secret}).get_json()["id"]
    other = "disagree" if chair_choice == "agree" else "agree"
    for name, choice in (("chair", chair_choice), ("member_a", chair_choice), ("member_b", other), ("outsider", other)):
        assert clients[name].post(f"/votes/{vote_id}/cast", json={"choice": choice}).status_code == 201
    result = clients["chair"].post(f"/votes/{vote_id}/close").get_json()
    assert (result["agree"], result["disagree"], result["total_members"]) == (2, 2, 4)
    assert (result["tie"], result["passed"], result["decided_by_chair"]) == (True, passed, decided_by_chair)
    stored = [row.choice for row in db.session.scalars(sa.select(VoteParticipation)
                                                       .where(VoteParticipation.vote_id == vote_id))]
    assert all(choice is None for choice in stored) if secret else all(choice is not None for choice in stored)
