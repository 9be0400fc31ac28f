"""The minutes never contradict the record: attendance and votes are drawn from one record, so nobody
is listed both absent and voting."""

from __future__ import annotations

from typing import Any

from tests.live.scenario import published_meeting


def _names(rows: list[dict[str, Any]]) -> list[str]:
    return [row["full_name"] for row in rows]


def test_a_member_who_voted_then_left_is_present_for_part_of_the_session(cast, api, pdftotext):
    scenario = published_meeting(cast)
    mid = scenario.meeting.id
    chair, secretary, member_a = api(cast.chair), api(cast.secretary), api(cast.member_a)
    # member_b was announced absent before the session opened, and never came
    assert secretary.post(f"/meetings/{mid}/attendance", json={
        "user_id": cast.member_b.id, "present": False, "absence_reason": "Công tác nước ngoài"}).status_code == 200
    assert chair.post(f"/meetings/{mid}/session/start").status_code == 200
    for client in (chair, member_a):
        assert client.post(f"/meetings/{mid}/checkin").status_code == 201
    vote_id = chair.post(f"/meetings/{mid}/votes", json={"agenda_item_id": scenario.items[0].id,
                                                         "question": "Thông qua dự án Luật?", "secret": False}
                         ).get_json()["id"]
    for client in (chair, member_a):
        assert client.post(f"/votes/{vote_id}/cast", json={"choice": "agree"}).status_code == 201
    assert member_b_refused(api(cast.member_b), vote_id)
    assert chair.post(f"/votes/{vote_id}/close").status_code == 200
    # member_a leaves after voting: the secretariat records the absence
    assert secretary.post(f"/meetings/{mid}/attendance", json={
        "user_id": cast.member_a.id, "present": False, "absence_reason": "Dự họp Quốc hội"}).status_code == 200
    assert chair.post(f"/meetings/{mid}/session/close").status_code == 200

    record = secretary.post(f"/meetings/{mid}/minutes").get_json()["content"]
    voters = {name["full_name"] for item in record["items"] for vote in item["votes"] for name in vote["names"]}
    assert voters == {"Phạm Minh Quang", "Trần Đức Long"}
    assert _names(record["present"]) == ["Phạm Minh Quang", "Trần Đức Long"]
    assert record["present"][1]["left_reason"] == "Dự họp Quốc hội"
    assert _names(record["absent"]) == ["Lê Thị Hồng"]
    assert not voters & set(_names(record["absent"]))
    text = " ".join(pdftotext(secretary.get(f"/meetings/{mid}/minutes.pdf").data).split())
    assert "Thành viên vắng mặt (1)" in text and "Thành viên có mặt (2)" in text
    assert "vắng mặt một phần phiên họp; lý do: Dự họp Quốc hội" in text


def member_b_refused(client: Any, vote_id: int) -> bool:
    answer = client.post(f"/votes/{vote_id}/cast", json={"choice": "disagree"})
    return answer.status_code == 409 and answer.get_json()["error"]["code"] == "voter_recorded_absent"
