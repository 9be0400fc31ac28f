"""Preparing a meeting: members in bulk, withdrawing invitations and items while lawful, cancel and postpone."""

from __future__ import annotations

import pytest

from ecabinet.database import db
from meetings.models import AgendaItem, Meeting, Participant
from tests.conftest import assert_error, audit_actions
from tests.meetings.factories import create_meeting, prepared_meeting, upload
from tests.meetings.test_meetings_api import events


def _participants(meeting_id: int) -> list[int]:
    db.session.expire_all()
    return sorted(p.user_id for p in db.session.query(Participant).filter_by(meeting_id=meeting_id))


def test_members_are_invited_in_bulk_and_those_already_invited_are_skipped(api, cast):
    sec = api(cast.secretary)
    mid = create_meeting(sec, cast)["id"]
    ids = [cast.chair.id, cast.member_a.id, cast.member_b.id, cast.member_a.id]
    response = sec.post(f"/meetings/{mid}/participants/members", json={"user_ids": ids})
    assert response.status_code == 201
    assert sorted(p["user_id"] for p in response.get_json()["added"]) == sorted([cast.member_a.id, cast.member_b.id])
    assert _participants(mid) == sorted([cast.chair.id, cast.member_a.id, cast.member_b.id])
    assert audit_actions().count("participant.added") == 2  # the chair was seated with the meeting


def test_bulk_invitation_takes_members_only_and_changes_nothing_otherwise(api, cast):
    sec = api(cast.secretary)
    mid = create_meeting(sec, cast)["id"]
    before = audit_actions()
    error = assert_error(sec.post(f"/meetings/{mid}/participants/members",
                                  json={"user_ids": [cast.member_a.id, cast.guest.id]}), 422, "validation_error")
    assert "user_ids" in str(error["fields"])
    assert _participants(mid) == [cast.chair.id] and audit_actions() == before


def test_a_participant_is_removed_before_the_session_and_told_when_published(api, cast):
    sec = api(cast.secretary)
    meeting = prepared_meeting(api, cast)
    mid = meeting["id"]
    guest = db.session.query(Participant).filter_by(meeting_id=mid, user_id=cast.guest.id).one()
    assert sec.delete(f"/meetings/{mid}/participants/{guest.id}").status_code == 204
    assert cast.guest.id not in _participants(mid)
    assert audit_actions()[-1] == "participant.removed" and events(mid)[-1] == "participant.removed"


@pytest.mark.parametrize("case", ["position", "represented"])
def test_a_participant_who_took_part_cannot_be_removed(api, cast, case):
    sec = api(cast.secretary)
    meeting = prepared_meeting(api, cast)
    mid = meeting["id"]
    if case == "position":
        target = cast.member_a
        assert api(target).put(f"/meetings/{mid}/agenda/{meeting['items'][0]['id']}/position",
                               json={"stance": "agree"}).status_code == 200
    else:
        target = cast.member_b  # a delegate attends in their place
    row = db.session.query(Participant).filter_by(meeting_id=mid, user_id=target.id).one()
    before, seen = audit_actions(), events(mid)
    error = assert_error(sec.delete(f"/meetings/{mid}/participants/{row.id}"), 409, "participant_has_acts")
    assert "không thể rút" in error["message"]
    assert target.id in _participants(mid) and audit_actions() == before and events(mid) == seen


def test_an_empty_item_is_removed_and_the_rest_renumbered(api, cast):
    sec = api(cast.secretary)
    mid = create_meeting(sec, cast)["id"]
    items = [sec.post(f"/meetings/{mid}/agenda", json={"title": t, "duration_minutes": 10}).get_json()
             for t in ("Một", "Hai", "Ba")]
    assert sec.delete(f"/meetings/{mid}/agenda/{items[0]['id']}").status_code == 204
    db.session.expire_all()
    left = db.session.query(AgendaItem).filter_by(meeting_id=mid).order_by(AgendaItem.position).all()
    assert [(i.title, i.position) for i in left] == [("Hai", 1), ("Ba", 2)]
    assert audit_actions()[-1] == "agenda_item.removed"
    assert "agenda.changed" not in events(mid)  # a draft tells no one


def test_an_item_with_a_dossier_cannot_be_removed(api, cast):
    sec = api(cast.secretary)
    mid = create_meeting(sec, cast)["id"]
    item = sec.post(f"/meetings/{mid}/agenda", json={"title": "Có hồ sơ", "duration_minutes": 10}).get_json()
    assert upload(sec, mid, item["id"]).status_code == 201
    before = audit_actions()
    assert_error(sec.delete(f"/meetings/{mid}/agenda/{item['id']}"), 409, "item_has_acts")
    assert db.session.get(AgendaItem, item["id"]) is not None and audit_actions() == before


@pytest.mark.parametrize("who", ["chair", "member_a"])
def test_only_the_secretariat_removes(api, cast, who):
    sec = api(cast.secretary)
    meeting = prepared_meeting(api, cast)
    mid = meeting["id"]
    row = db.session.query(Participant).filter_by(meeting_id=mid, user_id=cast.guest.id).one()
    assert_error(api(getattr(cast, who)).delete(f"/meetings/{mid}/participants/{row.id}"), 403, "secretariat_only")
    assert_error(api(getattr(cast, who)).delete(f"/meetings/{mid}/agenda/{meeting['items'][0]['id']}"), 403,
                 "secretariat_only")
    assert cast.guest.id in _participants(mid)
    assert sec.get(f"/meetings/{mid}").get_json()["agenda"][0]["id"] == meeting["items"][0]["id"]


def test_nothing_is_removed_once_the_session_started(api, cast):
    sec = api(cast.secretary)
    meeting = prepared_meeting(api, cast)
    mid = meeting["id"]
    assert api(cast.chair).post(f"/meetings/{mid}/session/start").status_code == 200
    row = db.session.query(Participant).filter_by(meeting_id=mid, user_id=cast.guest.id).one()
    assert_error(sec.delete(f"/meetings/{mid}/participants/{row.id}"), 409, "meeting_started")
    assert_error(sec.post(f"/meetings/{mid}/cancel", json={"reason": "Thay đổi lịch"}), 409, "meeting_started")


def test_a_published_meeting_is_cancelled_with_a_reason_and_then_refuses_changes(api, cast):
    sec = api(cast.secretary)
    mid = prepared_meeting(api, cast)["id"]
    assert_error(sec.post(f"/meetings/{mid}/cancel", json={"reason": "   "}), 422, "reason_required")
    response = sec.post(f"/meetings/{mid}/cancel", json={"reason": "Thủ tướng đi công tác nước ngoài"})
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert audit_actions()[-1] == "meeting.cancelled" and events(mid)[-1] == "meeting.cancelled"
    error = assert_error(sec.post(f"/meetings/{mid}/agenda", json={"title": "Muộn"}), 409, "meeting_cancelled")
    assert error["message"] == "Phiên họp đã bị hủy."
    assert api(cast.chair).post(f"/meetings/{mid}/session/start").status_code == 409
    assert db.session.get(Meeting, mid).status == "cancelled"


def test_postponing_moves_the_time_keeps_the_status_and_tells_the_participants(api, cast):
    sec = api(cast.secretary)
    mid = prepared_meeting(api, cast)["id"]
    response = sec.post(f"/meetings/{mid}/postpone", json={"reason": "Chờ ý kiến Bộ Chính trị",
                                                            "starts_at": "2027-01-05T08:30:00+07:00"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "published" and body["starts_at"] == "2027-01-05T08:30:00+07:00"
    assert audit_actions()[-1] == "meeting.postponed" and events(mid)[-1] == "meeting.postponed"
    before = audit_actions()
    assert_error(sec.post(f"/meetings/{mid}/postpone", json={"reason": "Lùi", "starts_at": "2020-01-05T08:30:00+07:00"}),
                 422, "starts_at_past")
    assert audit_actions() == before
