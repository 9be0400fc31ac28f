"""Meetings API: lifecycle, participants, agenda, pre-session positions, invisibility."""

from __future__ import annotations

import pytest

from ecabinet.audit import AuditRecord
from ecabinet.database import db
from ecabinet.realtime import MeetingEvent
from tests.conftest import assert_error, audit_actions
from tests.meetings.factories import create_meeting, prepared_meeting


def events(meeting_id: int) -> list[str]:
    return [e.type for e in db.session.query(MeetingEvent).filter_by(meeting_id=meeting_id).order_by(MeetingEvent.seq)]


def test_secretary_creates_a_draft_meeting(api, cast):
    meeting = create_meeting(api(cast.secretary), cast)
    assert meeting["status"] == "draft"
    assert meeting["starts_at"] == "2026-12-03T08:30:00+07:00"
    assert meeting["chair"]["full_name"] == cast.chair.full_name
    assert audit_actions()[-1] == "meeting.created"


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "weekly"}, "kind"),
    ({"starts_at": "2026-12-03T08:30:00"}, "starts_at"),
    ({"title": ""}, "title"),
    ({"confidentiality": "very"}, "confidentiality"),
])
def test_invalid_meeting_is_refused(api, cast, body, field):
    base = {"title": "Phiên họp", "kind": "regular", "starts_at": "2026-12-03T08:30:00+07:00",
            "chair_id": cast.chair.id}
    error = assert_error(api(cast.secretary).post("/meetings", json={**base, **body}), 422, "validation_error")
    assert field in str(error.get("fields"))


@pytest.mark.parametrize("who", ["chair", "member_a", "admin", "guest"])
def test_only_the_secretariat_creates(api, cast, who):
    before = len(audit_actions())
    error = assert_error(create_response(api(getattr(cast, who)), cast), 403, "secretariat_only")
    assert error["message"]
    assert [a for a in audit_actions()[before:] if a != "access.refused"] == []


def create_response(client, cast):
    return client.post("/meetings", json={"title": "X", "kind": "regular", "starts_at": "2026-12-03T08:30:00+07:00",
                                          "chair_id": cast.chair.id})


def test_idempotency_key_creates_once(api, cast):
    sec = api(cast.secretary)
    body = {"title": "Phiên họp", "kind": "regular", "starts_at": "2026-12-03T08:30:00+07:00", "chair_id": cast.chair.id}
    first = sec.post("/meetings", json=body, headers={"Idempotency-Key": "k-1"})
    again = sec.post("/meetings", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]
    assert len(sec.get("/meetings").get_json()["meetings"]) == 1
    assert_error(sec.post("/meetings", json={**body, "title": "Khác"}, headers={"Idempotency-Key": "k-1"}),
                 409, "idempotency_key_reused")


def test_publish_notifies_and_makes_visible(api, cast):
    m = prepared_meeting(api, cast, publish=False)
    member = api(cast.member_a)
    assert_error(member.get(f"/meetings/{m['id']}"), 404, "not_found")
    assert member.get("/meetings").get_json()["meetings"] == []
    sec = api(cast.secretary)
    published = sec.post(f"/meetings/{m['id']}/publish").get_json()
    assert published["status"] == "published"
    assert events(m["id"]) == ["meeting.published"]
    assert [x["id"] for x in member.get("/meetings").get_json()["meetings"]] == [m["id"]]
    assert_error(sec.post(f"/meetings/{m['id']}/publish"), 409, "meeting_already_published")


def test_editing_a_published_meeting_notifies(api, cast):
    m = prepared_meeting(api, cast)
    response = api(cast.secretary).patch(f"/meetings/{m['id']}", json={"location": "Phòng họp số 2"})
    assert response.status_code == 200
    assert response.get_json()["location"] == "Phòng họp số 2"
    assert events(m["id"])[-1] == "meeting.updated"
    assert_error(api(cast.chair).patch(f"/meetings/{m['id']}", json={"location": "X"}), 403, "secretariat_only")


def test_outsider_and_admin_cannot_tell_it_exists(api, cast):
    m = prepared_meeting(api, cast)
    for user in (cast.outsider, cast.admin):
        client = api(user)
        assert client.get("/meetings").get_json()["meetings"] == []
        assert_error(client.get(f"/meetings/{m['id']}"), 404, "not_found")
        assert_error(client.get(f"/documents/{m['docs'][0]['id']}"), 404, "not_found")
    assert_error(api(cast.outsider).get("/meetings/999999"), 404, "not_found")


def test_guest_sees_only_invited_items(api, cast):
    m = prepared_meeting(api, cast)
    body = api(cast.guest).get(f"/meetings/{m['id']}").get_json()
    assert [i["id"] for i in body["agenda"]] == [m["items"][1]["id"]]
    assert_error(api(cast.guest).get(f"/documents/{m['docs'][0]['id']}"), 404, "not_found")
    assert api(cast.guest).get(f"/documents/{m['docs'][1]['id']}").status_code == 200


def test_delegate_record_shows_both_names_and_needs_approval(api, cast):
    m = prepared_meeting(api, cast, publish=False)
    sec = api(cast.secretary)
    sec.post(f"/meetings/{m['id']}/publish")
    delegate = api(cast.delegate)
    assert_error(delegate.get(f"/documents/{m['docs'][0]['id']}/content"), 403, "delegate_not_approved")
    assert_error(api(cast.member_a).post(f"/meetings/{m['id']}/participants/{m['delegate']['id']}/approve"),
                 403, "chair_only")
    approved = api(cast.chair).post(f"/meetings/{m['id']}/participants/{m['delegate']['id']}/approve").get_json()
    assert approved["approved"] is True
    assert approved["user"]["full_name"] == cast.delegate.full_name
    assert approved["represents"]["full_name"] == cast.member_b.full_name
    assert delegate.get(f"/documents/{m['docs'][0]['id']}/content").status_code == 200


def test_delegate_must_represent_a_member_of_the_meeting(api, cast):
    sec = api(cast.secretary)
    meeting = create_meeting(sec, cast)
    error = assert_error(sec.post(f"/meetings/{meeting['id']}/participants",
                                  json={"user_id": cast.delegate.id, "role": "delegate",
                                        "represents_user_id": cast.outsider.id}), 422, "represented_not_member")
    assert error["message"]
    assert_error(sec.post(f"/meetings/{meeting['id']}/participants",
                          json={"user_id": cast.guest.id, "role": "guest"}), 422, "guest_items_required")


def test_agenda_reorder(api, cast):
    sec = api(cast.secretary)
    mid = create_meeting(sec, cast)["id"]
    ids = [sec.post(f"/meetings/{mid}/agenda", json={"title": f"Nội dung {n}", "presenter": "Bộ Y tế",
                                                     "duration_minutes": 10}).get_json()["id"] for n in range(1, 4)]
    moved = sec.patch(f"/meetings/{mid}/agenda/{ids[2]}", json={"position": 1})
    assert moved.status_code == 200 and moved.get_json()["position"] == 1
    agenda = sec.get(f"/meetings/{mid}").get_json()["agenda"]
    assert [(i["id"], i["position"]) for i in agenda] == [(ids[2], 1), (ids[0], 2), (ids[1], 3)]
    renamed = sec.patch(f"/meetings/{mid}/agenda/{ids[0]}", json={"title": "Nội dung mới"}).get_json()
    assert renamed["title"] == "Nội dung mới"


def test_positions_and_tally(api, cast):
    m = prepared_meeting(api, cast)
    item = m["items"][0]["id"]
    path = f"/meetings/{m['id']}/agenda/{item}/position"
    assert api(cast.member_a).put(path, json={"stance": "agree"}).status_code == 200
    assert api(cast.member_b).put(path, json={"stance": "objection"}).status_code == 200
    assert api(cast.member_b).put(path, json={"stance": "wish_to_speak"}).status_code == 200
    assert_error(api(cast.guest).put(f"/meetings/{m['id']}/agenda/{m['items'][1]['id']}/position",
                                     json={"stance": "agree"}), 403, "position_not_allowed")
    assert_error(api(cast.member_a).put(path, json={"stance": "maybe"}), 422, "validation_error")
    mine = api(cast.member_a).get(f"/meetings/{m['id']}").get_json()["agenda"][0]
    assert mine["my_position"] == "agree" and "tally" not in mine
    tally = api(cast.chair).get(f"/meetings/{m['id']}/positions").get_json()["items"][0]
    assert (tally["agree"], tally["objection"], tally["wish_to_speak"]) == (1, 0, 1)
    assert api(cast.secretary).get(f"/meetings/{m['id']}").get_json()["agenda"][0]["tally"]["agree"] == 1
    assert_error(api(cast.member_a).get(f"/meetings/{m['id']}/positions"), 403, "chair_or_secretariat_only")


def test_every_change_is_audited_once(api, cast):
    prepared_meeting(api, cast)
    actions = [a for a in audit_actions() if a != "access.refused"]
    assert actions.count("meeting.published") == 1
    # the chair became a member with the meeting itself (meeting.created), the four others were added
    assert actions.count("participant.added") == 4
    assert db.session.query(AuditRecord).count() >= 10


def test_openapi_lists_the_contract(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/meetings", "/api/v1/meetings/{meeting_id}/publish",
                 "/api/v1/meetings/{meeting_id}/agenda/{item_id}/documents", "/api/v1/documents/{document_id}/content",
                 "/api/v1/documents/{document_id}/notes", "/api/v1/paper-saved"):
        assert path in paths
