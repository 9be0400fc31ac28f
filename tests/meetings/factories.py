"""Meeting factories that go through the real API (what a tablet or the secretariat tool does)."""

from __future__ import annotations

import io
from typing import Any

from tests.documents import corpus

STARTS_AT = "2026-12-03T08:30:00+07:00"


def create_meeting(sec_api: Any, cast: Any, **overrides: Any) -> dict[str, Any]:
    body = {"title": "Phiên họp Chính phủ thường kỳ tháng 12", "kind": "regular", "starts_at": STARTS_AT,
            "location": "Trụ sở Chính phủ", "chair_id": cast.chair.id, "confidentiality": "normal", **overrides}
    response = sec_api.post("/meetings", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def upload(sec_api: Any, meeting_id: int, item_id: int, data: bytes | None = None, *, title: str = "Tờ trình",
           confidentiality: str = "normal", filename: str = "to-trinh.pdf", headers: dict | None = None) -> Any:
    form = {"file": (io.BytesIO(corpus.valid_pdf() if data is None else data), filename),
            "title": title, "doc_type": "Tờ trình", "confidentiality": confidentiality}
    return sec_api.post(f"/meetings/{meeting_id}/agenda/{item_id}/documents", data=form,
                        content_type="multipart/form-data", headers=headers)


def prepared_meeting(api: Any, cast: Any, *, publish: bool = True) -> dict[str, Any]:
    """Chair, two members, a delegate for member_b (approved), a guest invited to item 2 only; one doc per item."""
    sec = api(cast.secretary)
    meeting = create_meeting(sec, cast)
    mid = meeting["id"]
    items = [sec.post(f"/meetings/{mid}/agenda", json={"title": title, "presenter": "Bộ Tài chính",
                                                        "duration_minutes": 20}).get_json()
             for title in ("Tình hình kinh tế - xã hội", "Dự án Luật Đầu tư công")]
    # the chair is a member from the meeting's creation
    for user in (cast.member_a, cast.member_b):
        assert sec.post(f"/meetings/{mid}/participants", json={"user_id": user.id, "role": "member"}).status_code == 201
    delegate = sec.post(f"/meetings/{mid}/participants", json={"user_id": cast.delegate.id, "role": "delegate",
                                                                "represents_user_id": cast.member_b.id}).get_json()
    assert sec.post(f"/meetings/{mid}/participants", json={"user_id": cast.guest.id, "role": "guest",
                                                            "agenda_item_ids": [items[1]["id"]]}).status_code == 201
    docs = [upload(sec, mid, item["id"], title=f"Hồ sơ {n}").get_json() for n, item in enumerate(items, 1)]
    if publish:
        assert sec.post(f"/meetings/{mid}/publish").status_code == 200
        assert api(cast.chair).post(f"/meetings/{mid}/participants/{delegate['id']}/approve").status_code == 200
    return {"id": mid, "items": items, "docs": docs, "delegate": delegate}
