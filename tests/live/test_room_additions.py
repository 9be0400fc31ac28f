"""The room's additions for tablets and the hall: speaking time, wishes to speak, hall display credentials."""

from __future__ import annotations

import pytest

from ecabinet.database import db
from meetings.models import ItemPosition, Stance
from tests.conftest import assert_error, audit_actions
from tests.live.test_live_api import events, start


@pytest.fixture
def room(cast, api):
    from tests.live.scenario import published_meeting

    scenario = published_meeting(cast)
    return scenario, {name: api(getattr(cast, name)) for name in
                      ("chair", "secretary", "member_a", "member_b", "guest", "outsider")}


def test_the_chair_gives_the_floor_with_a_speaking_time(room):
    meeting_id = start(room)
    _, clients = room
    speaker = clients["member_a"].post(f"/meetings/{meeting_id}/speakers").get_json()["speaker"]
    before = (len(audit_actions()), len(events(meeting_id)))
    for bad in (5, 99999, "3 phút", True):
        assert_error(clients["chair"].post(f"/meetings/{meeting_id}/speakers/{speaker['id']}/grant",
                                           json={"seconds": bad}), 422, "validation_error")
    assert (len(audit_actions()), len(events(meeting_id))) == before
    granted = clients["chair"].post(f"/meetings/{meeting_id}/speakers/{speaker['id']}/grant", json={"seconds": 180})
    assert granted.status_code == 200
    assert granted.get_json()["allotted_seconds"] == 180
    state = clients["member_b"].get(f"/meetings/{meeting_id}/live").get_json()
    assert [s["allotted_seconds"] for s in state["speakers"]] == [180]
    assert audit_actions()[-1] == "speaker.granted"


def test_wishes_to_speak_are_offered_and_the_chair_puts_them_in_the_queue(room, cast):
    scenario, clients = room
    item = scenario.items[0]
    db.session.add(ItemPosition(agenda_item_id=item.id, user_id=cast.member_b.id, stance=Stance.WISH_TO_SPEAK))
    scenario.items[1].consent_block = True  # marked by the secretariat before the session
    db.session.commit()
    meeting_id = start(room)
    state = clients["chair"].get(f"/meetings/{meeting_id}/live").get_json()
    assert state["wishes_to_speak"] == [{"agenda_item_id": item.id, "user_id": cast.member_b.id,
                                         "full_name": cast.member_b.full_name}]
    assert state["consent_candidates"] == [scenario.items[1].id]
    before = len(events(meeting_id))
    assert_error(clients["member_a"].post(f"/meetings/{meeting_id}/speakers/enqueue",
                                          json={"user_id": cast.member_b.id}), 403, "chair_or_secretariat_only")
    assert len(events(meeting_id)) == before
    answer = clients["chair"].post(f"/meetings/{meeting_id}/speakers/enqueue", json={"user_id": cast.member_b.id})
    assert answer.status_code == 201 and answer.get_json()["user_id"] == cast.member_b.id
    assert events(meeting_id)[-1][1] == "speaker.requested"
    assert_error(clients["chair"].post(f"/meetings/{meeting_id}/speakers/enqueue",
                                       json={"user_id": cast.member_b.id}), 409, "already_requested_floor")
    assert_error(clients["chair"].post(f"/meetings/{meeting_id}/speakers/enqueue",
                                       json={"user_id": cast.outsider.id}), 404, "not_found")


def test_a_hall_display_sees_the_projector_view_until_revoked(room, cast, client):
    meeting_id = start(room)
    _, clients = room
    assert_error(clients["member_a"].post(f"/meetings/{meeting_id}/displays", json={"name": "Máy chiếu"}),
                 403, "secretariat_only")
    assert "display.issued" not in audit_actions()
    issued = clients["secretary"].post(f"/meetings/{meeting_id}/displays", json={"name": "Máy chiếu hội trường"})
    assert issued.status_code == 201
    token = issued.get_json()["token"]
    assert audit_actions()[-1] == "display.issued"
    listed = clients["secretary"].get(f"/meetings/{meeting_id}/displays").get_json()["displays"]
    assert listed[0]["name"] == "Máy chiếu hội trường" and "token" not in listed[0]

    for member in ("member_a", "member_b", "chair"):
        clients[member].post(f"/meetings/{meeting_id}/checkin")
    vote = clients["chair"].post(f"/meetings/{meeting_id}/votes", json={"question": "Thông qua?", "secret": False})
    vote_id = vote.get_json()["id"]
    clients["member_a"].post(f"/votes/{vote_id}/cast", json={"choice": "agree"})
    clients["member_b"].post(f"/votes/{vote_id}/cast", json={"choice": "agree"})
    clients["chair"].post(f"/votes/{vote_id}/close")

    assert_error(client.get("/api/v1/hall/state"), 401, "not_authenticated")
    assert_error(client.get("/api/v1/hall/state", headers={"X-Display-Token": "guess"}), 401, "token_invalid")
    state = client.get("/api/v1/hall/state", headers={"X-Display-Token": token})
    assert state.status_code == 200
    body = state.get_json()
    assert body["meeting"]["status"] == "in_session"
    assert body["vote"]["result"]["agree"] == 2 and body["vote"]["result"]["passed"] is True
    # the projector never gets who voted how, nor the attendance list
    assert "names" not in body["vote"] and "attendance" not in body
    assert cast.member_a.full_name not in state.get_data(as_text=True)
    # the display cannot act in the room, nor read the member API
    assert client.get(f"/api/v1/meetings/{meeting_id}/live", headers={"X-Display-Token": token}).status_code == 401

    display_id = listed[0]["id"]
    assert_error(clients["member_a"].delete(f"/meetings/{meeting_id}/displays/{display_id}"), 403, "secretariat_only")
    assert clients["secretary"].delete(f"/meetings/{meeting_id}/displays/{display_id}").status_code == 200
    assert audit_actions()[-1] == "display.revoked"
    assert_error(client.get("/api/v1/hall/state", headers={"X-Display-Token": token}), 401, "token_invalid")
    assert_error(clients["secretary"].delete(f"/meetings/{meeting_id}/displays/{display_id}"), 409, "display_revoked")


def test_the_operator_of_the_room_screen_reads_the_same_projector_view(room, cast, api):
    meeting_id = start(room)
    _, clients = room
    answer = clients["chair"].get(f"/meetings/{meeting_id}/hall")
    assert answer.status_code == 200 and answer.get_json()["meeting"]["status"] == "in_session"
    assert "attendance" not in answer.get_json()
    assert_error(clients["outsider"].get(f"/meetings/{meeting_id}/hall"), 404, "not_found")


def test_the_hall_page_needs_no_person_and_carries_no_token(client):
    page = client.get("/hall")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "js/live/hall.js" in html and "topbar" not in html


def test_a_hall_display_gets_only_the_presented_page_of_a_normal_document(cast, api, client):
    import io

    from pypdf import PdfReader

    from tests.meetings.factories import prepared_meeting

    meeting = prepared_meeting(api, cast)
    mid, doc = meeting["id"], meeting["docs"][0]["id"]
    chair, secretary = api(cast.chair), api(cast.secretary)
    token = secretary.post(f"/meetings/{mid}/displays", json={"name": "Máy chiếu"}).get_json()["token"]
    headers = {"X-Display-Token": token}
    chair.post(f"/meetings/{mid}/session/start")
    assert_error(client.get("/api/v1/hall/presented.pdf", headers=headers), 404, "not_found")
    assert_error(client.get("/api/v1/hall/presented.pdf"), 401, "not_authenticated")
    assert chair.post(f"/meetings/{mid}/present", json={"document_id": doc, "page": 2}).status_code == 200
    answer = client.get("/api/v1/hall/presented.pdf", headers=headers)
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert len(PdfReader(io.BytesIO(answer.data)).pages) == 1
    assert "Trang 2" in PdfReader(io.BytesIO(answer.data)).pages[0].extract_text()
    assert audit_actions()[-1] == "document.projected"
    state = client.get("/api/v1/hall/state", headers=headers).get_json()
    assert state["presentation"] == {"title": "Hồ sơ 1", "page": 2, "pages": 3}

    from documents.models import Document

    document = db.session.get(Document, doc)
    document.confidentiality = "confidential"
    db.session.commit()
    before = len(audit_actions())
    assert_error(client.get("/api/v1/hall/presented.pdf", headers=headers), 403, "not_projectable")
    assert [a for a in audit_actions()[before:] if a != "access.refused"] == []
