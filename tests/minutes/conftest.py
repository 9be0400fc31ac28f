"""A closed meeting played through the live-session API: attendance, an item, a speaker, a named vote,
a conclusion; the secretary and the chair hold certificates under PIN 123456."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pytest

from ecabinet import keystore
from tests.documents import corpus
from tests.live.scenario import published_meeting
from tests.meetings.factories import upload

PIN = "123456"


@pytest.fixture(autouse=True)
def fast_pin_kdf(app: Any) -> None:
    # the production PBKDF2 cost only slows the suite; the key format is the same
    app.config["PIN_KDF_ROUNDS"] = 1000


@dataclass
class Session:
    meeting_id: int
    items: list[Any]
    clients: dict[str, Any]
    vote_id: int


CONCLUSION = "Chính phủ thống nhất trình Quốc hội dự án Luật Đất đai (sửa đổi)."


@pytest.fixture
def closed_session(cast: Any, api: Any) -> Session:
    scenario = published_meeting(cast)
    clients = {name: api(getattr(cast, name)) for name in
               ("chair", "secretary", "member_a", "member_b", "delegate", "guest", "outsider", "admin")}
    for user in (cast.secretary, cast.chair):
        keystore.issue_credential(user, PIN, actor=None)
    meeting_id = scenario.meeting.id
    item = scenario.items[0]
    chair, secretary = clients["chair"], clients["secretary"]
    document = upload(secretary, meeting_id, item.id, corpus.valid_pdf(2), title="Tờ trình dự án Luật Đất đai")
    assert document.status_code == 201
    revised = secretary.post(f"/documents/{document.get_json()['id']}/versions", content_type="multipart/form-data",
                             data={"file": (io.BytesIO(corpus.valid_pdf(3)), "to-trinh-v2.pdf")})
    assert revised.status_code == 201
    assert chair.post(f"/meetings/{meeting_id}/session/start").status_code == 200
    for name in ("chair", "member_a", "delegate", "guest"):
        assert clients[name].post(f"/meetings/{meeting_id}/checkin").status_code == 201
    assert secretary.post(f"/meetings/{meeting_id}/attendance", json={
        "user_id": cast.member_b.id, "present": False, "absence_reason": "Công tác nước ngoài"}).status_code == 200
    assert chair.post(f"/meetings/{meeting_id}/agenda/{item.id}/activate").status_code == 200
    speaker = clients["member_a"].post(f"/meetings/{meeting_id}/speakers").get_json()["speaker"]
    chair.post(f"/meetings/{meeting_id}/speakers/{speaker['id']}/grant")
    clients["member_a"].post(f"/meetings/{meeting_id}/speakers/{speaker['id']}/finish")
    vote_id = chair.post(f"/meetings/{meeting_id}/votes", json={
        "agenda_item_id": item.id, "question": "Thông qua dự án Luật?", "secret": False}).get_json()["id"]
    clients["member_a"].post(f"/votes/{vote_id}/cast", json={"choice": "agree"})
    chair.post(f"/votes/{vote_id}/cast", json={"choice": "agree"})
    assert chair.post(f"/votes/{vote_id}/close").get_json()["passed"] is True
    secretary.put(f"/meetings/{meeting_id}/agenda/{item.id}/conclusion", json={"text": CONCLUSION})
    assert chair.post(f"/meetings/{meeting_id}/session/close").get_json()["status"] == "closed"
    return Session(meeting_id, scenario.items, clients, vote_id)



