"""A meeting at Mật or above exists only for users cleared for its level, on every channel; nobody adds an
uncleared participant or uploads above their own clearance; minutes and notices carry the level's marking."""

from __future__ import annotations

import io
from typing import Any

import pytest
import sqlalchemy as sa

from documents.models import Document
from ecabinet.auth.models import Confidentiality, Role
from ecabinet.database import db
from ecabinet.extensions import socketio
from ecabinet.realtime import MeetingEvent, UserEvent
from meetings.access import users_who_may_see_meeting
from meetings.models import Meeting, Participant
from tests.conftest import assert_error, audit_actions, issue_token, make_user
from tests.documents import corpus
from tests.meetings.factories import create_meeting, upload

VI_NOT_CLEARED = "Người này chưa được cấp quyền tiếp cận bí mật nhà nước ở độ mật của phiên họp."


def _secret_meeting(api: Any, cast: Any, level: str = "secret") -> dict[str, Any]:
    sec = api(cast.secretary)
    meeting = create_meeting(sec, cast, confidentiality=level, title="Phiên họp chuyên đề về quốc phòng")
    mid = meeting["id"]
    item = sec.post(f"/meetings/{mid}/agenda", json={"title": "Kế hoạch phòng thủ", "presenter": "Bộ Quốc phòng",
                                                      "duration_minutes": 30}).get_json()
    for user in (cast.member_a,):  # the chair is a member from the start
        assert sec.post(f"/meetings/{mid}/participants", json={"user_id": user.id, "role": "member"}
                        ).status_code == 201
    assert sec.post(f"/meetings/{mid}/publish").status_code == 200
    return {"id": mid, "item": item["id"]}


def member_get(client: Any, path: str) -> int:
    return client.get(path).status_code


def _state(meeting_id: int) -> tuple[int, int, int]:
    participants = db.session.scalar(sa.select(sa.func.count()).select_from(Participant)
                                     .where(Participant.meeting_id == meeting_id))
    events = db.session.scalar(sa.select(sa.func.count()).select_from(MeetingEvent)
                               .where(MeetingEvent.meeting_id == meeting_id))
    return participants, events, len(audit_actions())


@pytest.mark.parametrize(("who", "role", "extra"), [("member_b", "member", {}), ("guest", "guest", "item"),
                                                     ("admin", "member", {})])
def test_adding_a_participant_below_the_level_is_refused(api, cast, who, role, extra):
    meeting = _secret_meeting(api, cast)
    before = _state(meeting["id"])
    body = {"user_id": getattr(cast, who).id, "role": role}
    if extra == "item":
        body["agenda_item_ids"] = [meeting["item"]]
    answer = api(cast.secretary).post(f"/meetings/{meeting['id']}/participants", json=body)
    error = assert_error(answer, 422, "participant_not_cleared")
    assert error["message"] == VI_NOT_CLEARED
    assert _state(meeting["id"]) == before  # no participant, no event, no audit record


def test_a_chair_below_the_level_and_a_level_above_ones_own_are_refused(api, cast):
    sec = api(cast.secretary)
    body = {"title": "Phiên họp", "kind": "thematic", "starts_at": "2026-12-20T08:00:00+07:00",
            "chair_id": cast.member_b.id, "confidentiality": "secret"}
    assert_error(sec.post("/meetings", json=body), 422, "chair_not_cleared")
    assert_error(sec.post("/meetings", json={**body, "chair_id": cast.chair.id, "confidentiality": "top_secret"}),
                 403, "classification_above_clearance")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == 0
    # raising a meeting's level over a participant's clearance is refused too
    normal = create_meeting(sec, cast)
    assert sec.post(f"/meetings/{normal['id']}/participants", json={"user_id": cast.member_b.id, "role": "member"}
                    ).status_code == 201
    assert_error(sec.patch(f"/meetings/{normal['id']}", json={"confidentiality": "confidential"}), 422,
                 "participant_not_cleared")
    assert db.session.get(Meeting, normal["id"]).confidentiality == "normal"


def test_an_uncleared_user_finds_the_meeting_on_no_channel(app, api, cast):
    """A secretary below the level, and a member whose clearance was lowered after being invited."""
    low_secretary = make_user("vpcp_thuong", roles=[Role.SECRETARY], clearance=Confidentiality.CONFIDENTIAL)
    meeting = _secret_meeting(api, cast)
    mid = meeting["id"]
    member = api(cast.member_a)
    assert member.get(f"/meetings/{mid}").status_code == 200
    cast.member_a.clearance = Confidentiality.NORMAL
    db.session.commit()
    meeting_row = db.session.get(Meeting, mid)
    assert users_who_may_see_meeting(meeting_row, {cast.member_a.id, cast.chair.id, low_secretary.id}) == \
        {cast.chair.id}
    for client in (member, api(low_secretary)):
        assert all(m["id"] != mid for m in client.get("/meetings").get_json()["meetings"])
        for path in (f"/meetings/{mid}", f"/meetings/{mid}/live", f"/meetings/{mid}/events?after=0",
                     f"/meetings/{mid}/notices"):
            assert_error(client.get(path), 404, "not_found")
        assert client.get("/search?q=phong thu").get_json()["results"] == []
    tokens = [issue_token(cast.member_a), issue_token(low_secretary)]
    for token in tokens:
        socket = socketio.test_client(app, auth={"token": token})
        ack = socket.emit("join", {"meeting_id": mid, "last_seq": 0}, callback=True)
        assert ack["ok"] is False and ack["error"]["code"] == "not_found"
        assert socket.get_received() == []
        socket.disconnect()


def test_nobody_uploads_above_their_own_clearance(api, cast):
    meeting = _secret_meeting(api, cast, level="confidential")
    sec = api(cast.secretary)  # cleared for secret
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Document))
    answer = upload(sec, meeting["id"], meeting["item"], confidentiality="top_secret")
    error = assert_error(answer, 403, "upload_above_clearance")
    assert error["message"] == "Không được tải lên tài liệu có độ mật cao hơn cấp độ tiếp cận bí mật của đồng chí."
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Document)) == before
    assert upload(sec, meeting["id"], meeting["item"], confidentiality="secret").status_code == 201
    # a version of a Tuyệt mật dossier by someone cleared for Tối mật only
    top = make_user("vpcp_tuyetmat", roles=[Role.SECRETARY], clearance=Confidentiality.TOP_SECRET)
    document = upload(api(top), meeting["id"], meeting["item"], confidentiality="top_secret").get_json()
    versioned = sec.post(f"/documents/{document['id']}/versions", content_type="multipart/form-data",
                         data={"file": (io.BytesIO(corpus.valid_pdf(2)), "v2.pdf")})
    assert_error(versioned, 403, "upload_above_clearance")
    assert db.session.get(Document, document["id"]).current_version.number == 1


def test_minutes_and_notice_of_a_classified_meeting_carry_its_marking(api, cast, pdftotext):
    low_secretary = make_user("vpcp_mat", roles=[Role.SECRETARY], clearance=Confidentiality.CONFIDENTIAL)
    meeting = _secret_meeting(api, cast)
    mid, item = meeting["id"], meeting["item"]
    chair, sec = api(cast.chair), api(cast.secretary)
    assert chair.post(f"/meetings/{mid}/session/start").status_code == 200
    assert sec.put(f"/meetings/{mid}/agenda/{item}/conclusion", json={"text": "Thống nhất kế hoạch."}
                   ).status_code == 200
    assert chair.post(f"/meetings/{mid}/session/close").status_code == 200
    assert sec.post(f"/meetings/{mid}/minutes").status_code == 201
    minutes = sec.get(f"/meetings/{mid}/minutes.pdf")
    assert minutes.status_code == 200 and "TỐI MẬT" in pdftotext(minutes.data)
    notice = sec.post(f"/meetings/{mid}/notices", json={"tasks": []})
    assert notice.status_code == 201, notice.get_json()
    notice_id = notice.get_json()["id"]
    preview = sec.get(f"/notices/{notice_id}/pdf")
    assert preview.status_code == 200 and "TỐI MẬT" in pdftotext(preview.data)
    assert sec.post(f"/notices/{notice_id}/issue").status_code == 200
    signed = sec.get(f"/notices/{notice_id}/pdf")
    assert "TỐI MẬT" in pdftotext(signed.data)
    assert member_get(api(low_secretary), f"/notices/{notice_id}") == 404
    # the notice's event reaches the secretariat's own streams only where cleared for the level
    streams = dict(db.session.execute(sa.select(UserEvent.user_id, UserEvent.type)).all())
    assert streams.get(cast.secretary.id) == "notice.issued" and low_secretary.id not in streams
    # and a normal meeting's minutes carry no marking
    normal = create_meeting(sec, cast)
    nid = normal["id"]
    sec.post(f"/meetings/{nid}/agenda", json={"title": "Mục", "presenter": "", "duration_minutes": 5})
    assert sec.post(f"/meetings/{nid}/publish").status_code == 200
    assert chair.post(f"/meetings/{nid}/session/start").status_code == 200
    assert chair.post(f"/meetings/{nid}/session/close").status_code == 200
    assert sec.post(f"/meetings/{nid}/minutes").status_code == 201
    text = pdftotext(sec.get(f"/meetings/{nid}/minutes.pdf").data)
    assert "MẬT" not in text.replace("Độc lập", "")
