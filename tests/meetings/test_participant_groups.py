"""Saved participant groups: the secretariat names a set of members once and invites them together later."""

from __future__ import annotations

import pytest

from ecabinet.auth.models import Role
from ecabinet.database import db
from meetings.models import ParticipantGroup
from tests.conftest import assert_error, audit_actions
from tests.meetings.factories import create_meeting, prepared_meeting
from tests.meetings.test_meetings_api import events
from tests.meetings.test_preparation_api import _participants


def _save(sec, cast, name: str = "Thành viên Chính phủ", users=None):
    users = users if users is not None else [cast.member_a, cast.member_b, cast.delegate]
    return sec.post("/participant-groups", json={"name": name, "user_ids": [u.id for u in users]})


def test_a_group_is_saved_listed_and_audited(api, cast):
    sec = api(cast.secretary)
    response = _save(sec, cast)
    assert response.status_code == 201
    group = response.get_json()
    assert group["name"] == "Thành viên Chính phủ"
    assert group["user_ids"] == [cast.member_a.id, cast.member_b.id, cast.delegate.id]
    assert [m["full_name"] for m in group["members"]] == [cast.member_a.full_name, cast.member_b.full_name,
                                                         cast.delegate.full_name]
    assert sec.get("/participant-groups").get_json()["groups"] == [group]
    assert audit_actions()[-1] == "participant_group.created"


def test_a_group_is_invited_in_bulk_skipping_those_already_invited(api, cast):
    sec = api(cast.secretary)
    group = _save(sec, cast).get_json()
    mid = create_meeting(sec, cast)["id"]
    assert sec.post(f"/meetings/{mid}/participants", json={"user_id": cast.member_a.id, "role": "member"}
                    ).status_code == 201
    response = sec.post(f"/meetings/{mid}/participants/group", json={"group_id": group["id"]})
    assert response.status_code == 201
    added = response.get_json()["added"]
    assert sorted(p["user_id"] for p in added) == sorted([cast.member_b.id, cast.delegate.id])
    assert {p["role"] for p in added} == {"member"}
    assert _participants(mid) == sorted([cast.chair.id, cast.member_a.id, cast.member_b.id, cast.delegate.id])
    assert audit_actions()[-2:] == ["participant.added", "participant.added"]


def test_inviting_a_group_to_a_published_meeting_tells_the_participants(api, cast):
    sec = api(cast.secretary)
    meeting = prepared_meeting(api, cast)
    group = _save(sec, cast, users=[cast.outsider]).get_json()
    assert sec.post(f"/meetings/{meeting['id']}/participants/group", json={"group_id": group["id"]}).status_code == 201
    assert events(meeting["id"])[-1] == "participant.added"


def test_a_group_is_renamed_and_its_members_replaced(api, cast):
    sec = api(cast.secretary)
    group = _save(sec, cast).get_json()
    response = sec.put(f"/participant-groups/{group['id']}", json={"name": "  Ban cán sự  đảng ",
                                                                    "user_ids": [cast.delegate.id, cast.chair.id]})
    assert response.status_code == 200
    assert response.get_json()["name"] == "Ban cán sự đảng"
    assert response.get_json()["user_ids"] == [cast.delegate.id, cast.chair.id]
    assert audit_actions()[-1] == "participant_group.updated"


def test_deleting_a_group_keeps_the_participants_it_invited(api, cast):
    sec = api(cast.secretary)
    group = _save(sec, cast).get_json()
    mid = create_meeting(sec, cast)["id"]
    assert sec.post(f"/meetings/{mid}/participants/group", json={"group_id": group["id"]}).status_code == 201
    assert sec.delete(f"/participant-groups/{group['id']}").status_code == 204
    assert sec.get("/participant-groups").get_json()["groups"] == []
    assert cast.member_b.id in _participants(mid)
    assert audit_actions()[-1] == "participant_group.deleted"


def test_a_group_name_is_taken_once(api, cast):
    sec = api(cast.secretary)
    _save(sec, cast)
    before = audit_actions()
    error = assert_error(_save(sec, cast, name="Thành viên  Chính phủ"), 409, "group_name_taken")
    assert error["message"] == "Đã có một nhóm mang tên này."
    assert db.session.query(ParticipantGroup).count() == 1 and audit_actions() == before


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "Khách mời", "user_ids": []}, "user_ids"),
    ({"name": "   ", "user_ids": [1]}, "name"),
    ({"user_ids": [1]}, "name"),
])
def test_a_group_needs_a_name_and_members(api, cast, body, field):
    error = assert_error(api(cast.secretary).post("/participant-groups", json=body), 422, "validation_error")
    assert field in str(error["fields"])
    assert db.session.query(ParticipantGroup).count() == 0


def test_a_group_holds_members_only(api, cast):
    before = audit_actions()
    error = assert_error(_save(api(cast.secretary), cast, users=[cast.member_a, cast.guest]), 422, "validation_error")
    assert "user_ids" in str(error["fields"])
    assert db.session.query(ParticipantGroup).count() == 0 and audit_actions() == before


def test_a_group_leaves_out_whom_the_meeting_cannot_take_and_says_why(api, cast):
    """member_b is cleared for ordinary meetings only; the delegate has since lost the member role."""
    sec = api(cast.secretary)
    group = _save(sec, cast).get_json()
    cast.delegate.roles = [Role.GUEST]
    db.session.commit()
    mid = create_meeting(sec, cast, confidentiality="confidential")["id"]
    response = sec.post(f"/meetings/{mid}/participants/group", json={"group_id": group["id"]})
    assert response.status_code == 201
    body = response.get_json()
    assert [p["user_id"] for p in body["added"]] == [cast.member_a.id]
    assert sorted(body["skipped"], key=lambda s: s["user_id"]) == sorted(
        [{"user_id": cast.member_b.id, "reason": "not_cleared"}, {"user_id": cast.delegate.id, "reason": "not_a_member"}],
        key=lambda s: s["user_id"])
    assert _participants(mid) == sorted([cast.chair.id, cast.member_a.id])


def test_bulk_members_are_refused_above_their_clearance_too(api, cast):
    sec = api(cast.secretary)
    mid = create_meeting(sec, cast, confidentiality="confidential")["id"]
    assert_error(sec.post(f"/meetings/{mid}/participants/members", json={"user_ids": [cast.member_b.id]}), 422,
                 "participant_not_cleared")
    assert _participants(mid) == [cast.chair.id]


def test_an_unknown_group_is_not_found(api, cast):
    sec = api(cast.secretary)
    mid = create_meeting(sec, cast)["id"]
    assert_error(sec.post(f"/meetings/{mid}/participants/group", json={"group_id": 999}), 404, "not_found")
    assert_error(sec.delete("/participant-groups/999"), 404, "not_found")


@pytest.mark.parametrize(("who", "refusal"), [("chair", (403, "secretariat_only")), ("member_a", (404, "not_found")),
                                             ("guest", (404, "not_found")), ("admin", (404, "not_found"))])
def test_only_the_secretariat_keeps_groups(api, cast, who, refusal):
    """Others cannot list, save, change or use a group; a draft meeting stays invisible to non-chairs."""
    sec = api(cast.secretary)
    group = _save(sec, cast).get_json()
    mid = create_meeting(sec, cast)["id"]
    other = api(getattr(cast, who))
    before = audit_actions()
    assert_error(other.get("/participant-groups"), 403, "secretariat_only")
    assert_error(_save(other, cast, name="Khác"), 403, "secretariat_only")
    assert_error(other.put(f"/participant-groups/{group['id']}", json={"name": "Khác", "user_ids": [cast.chair.id]}),
                 403, "secretariat_only")
    assert_error(other.delete(f"/participant-groups/{group['id']}"), 403, "secretariat_only")
    assert_error(other.post(f"/meetings/{mid}/participants/group", json={"group_id": group["id"]}), *refusal)
    assert [a for a in audit_actions() if a != "access.refused"] == before
    assert _participants(mid) == [cast.chair.id]
