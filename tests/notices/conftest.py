"""A meeting played through the live-session API up to its close, with a conclusion on each item.

member_a answers for the Ministry of Finance, member_b for the Ministry of Health (their organisations).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from ecabinet.database import db
from meetings.notices import service
from tests.live.scenario import published_meeting

CONCLUSIONS = ["Chính phủ thống nhất trình Quốc hội dự án Luật Đất đai (sửa đổi) tại kỳ họp gần nhất.",
               "Giao Bộ Khoa học và Công nghệ hoàn thiện dự thảo Nghị định về kinh tế số."]
ROLES = ("chair", "secretary", "member_a", "member_b", "delegate", "guest", "outsider", "admin")


@dataclass
class Concluded:
    meeting_id: int
    item_ids: list[int]
    clients: dict[str, Any]


def run_session(cast: Any, api: Any, conclusions: list[str] = CONCLUSIONS) -> Concluded:
    """Start, check in, conclude each item, close: what the chair and the secretariat do in the session."""
    scenario = published_meeting(cast)
    clients = {name: api(getattr(cast, name)) for name in ROLES}
    meeting_id, item_ids = scenario.meeting.id, [item.id for item in scenario.items]
    chair, secretary = clients["chair"], clients["secretary"]
    assert chair.post(f"/meetings/{meeting_id}/session/start").status_code == 200
    for name in ("chair", "member_a", "delegate"):
        assert clients[name].post(f"/meetings/{meeting_id}/checkin").status_code == 201
    for item_id, text in zip(item_ids, conclusions, strict=False):
        assert chair.post(f"/meetings/{meeting_id}/agenda/{item_id}/activate").status_code == 200
        answer = secretary.put(f"/meetings/{meeting_id}/agenda/{item_id}/conclusion", json={"text": text})
        assert answer.status_code == 200
    assert chair.post(f"/meetings/{meeting_id}/session/close").get_json()["status"] == "closed"
    return Concluded(meeting_id, item_ids, clients)


@pytest.fixture
def ministries(cast: Any) -> None:
    cast.member_a.organisation = "Bộ Tài chính"
    cast.member_b.organisation = "Bộ Y tế"
    db.session.commit()


@pytest.fixture
def concluded(cast: Any, api: Any, ministries: None) -> Concluded:
    return run_session(cast, api)


def in_days(days: int) -> str:
    return (service.today() + timedelta(days=days)).isoformat()


def tasks_for(cast: Any, session: Concluded) -> list[dict[str, Any]]:
    return [{"agenda_item_id": session.item_ids[0], "description": "Hoàn thiện hồ sơ dự án Luật trình Quốc hội",
             "owner_user_id": cast.member_a.id, "deadline": in_days(30)},
            {"description": "Rà soát chi phí khám chữa bệnh trong dự thảo Nghị định",
             "owner_user_id": cast.member_b.id, "deadline": in_days(45)}]


def issued_notice(cast: Any, session: Concluded) -> dict[str, Any]:
    secretary = session.clients["secretary"]
    created = secretary.post(f"/meetings/{session.meeting_id}/notices",
                             json={"intro": "Văn phòng Chính phủ thông báo kết luận như sau.",
                                   "tasks": tasks_for(cast, session)})
    assert created.status_code == 201, created.get_json()
    issued = secretary.post(f"/notices/{created.get_json()['id']}/issue")
    assert issued.status_code == 200, issued.get_json()
    return issued.get_json()
