"""What the meeting pages tell the secretariat and the participants before they act: who publishing notifies
and what is not ready yet, why a session cannot be entered, what an empty list is waiting for, the date
format a date field means."""

from __future__ import annotations

from datetime import timedelta

import lxml.html
import pytest

from ecabinet.database import db, utcnow
from meetings.models import Meeting
from tests.meetings.factories import create_meeting, prepared_meeting
from tests.meetings.test_pages import browser_login


def _page(app, who: str, path: str):
    response = browser_login(app, who).get(path)
    assert response.status_code == 200
    return lxml.html.fromstring(response.get_data(as_text=True))


def _text(node) -> str:
    return " ".join(node.text_content().split())


def _publish_dialog(page) -> str:
    """The body the Publish confirmation shows (meetings.js clones this template into the dialog)."""
    template = page.get_element_by_id("publish-summary")
    return " ".join(" ".join(lxml.html.tostring(child, encoding="unicode", method="text") for child in template)
                    .split())


def test_publishing_says_who_is_notified_by_role_and_what_they_receive(app, api, cast):
    meeting = prepared_meeting(api, cast, publish=False)
    assert api(cast.secretary).post(f"/meetings/{meeting['id']}/participants", json={
        "user_id": cast.outsider.id, "role": "member"}).status_code == 201  # 4 of the 5 members: the quorum
    page = _page(app, "secretary", f"/meetings/{meeting['id']}")
    body = _publish_dialog(page)
    # the chair, member_a, member_b and the outsider; a delegate for member_b; a guest for item 2
    assert "6 người sẽ nhận thông báo: 4 thành viên, 1 người được ủy quyền, 1 đại biểu mời." in body
    assert "chương trình họp (2 nội dung) và hồ sơ kèm theo (2 tài liệu)" in body
    assert "Chưa chuẩn bị đủ" not in body  # nothing open on the checklist: no warning


def test_publishing_lists_the_checklists_open_warnings_and_stays_possible(app, api, cast):
    sec = api(cast.secretary)
    mid = create_meeting(sec, cast)["id"]  # the chair alone is invited
    assert sec.post(f"/meetings/{mid}/agenda", json={"title": "Dự án Luật Đầu tư công"}).status_code == 201
    page = _page(app, "secretary", f"/meetings/{mid}")
    body = _publish_dialog(page)
    assert "Chưa chuẩn bị đủ:" in body
    assert "Chưa có hồ sơ cho: Dự án Luật Đầu tư công" in body
    assert ("Số thành viên được mời chưa đủ để bảo đảm số thành viên tối thiểu: Đã mời 1 thành viên; "
            "số thành viên tối thiểu là 4 trên tổng số 5 thành viên Chính phủ.") in body
    assert "1 người sẽ nhận thông báo: 1 thành viên." in body
    # no checklist item is a rule of the Government's working regulation: publishing stays possible
    assert page.get_element_by_id("publish").get("disabled") is None


def _room(page) -> tuple[bool, str]:
    head = page.find_class("meeting-head")[0]
    entered = any(a.get("href", "").endswith("/live") for a in head.iter("a"))
    closed = page.xpath("//*[@id='room-closed']")
    return entered, _text(closed[0]) if closed else ""


@pytest.mark.parametrize("who", ["chair", "member_a", "secretary"])
def test_a_postponed_meeting_offers_no_session_until_its_new_day_and_says_why(app, api, cast, who):
    mid = prepared_meeting(api, cast)["id"]
    assert _room(_page(app, who, f"/meetings/{mid}")) == (True, "")
    assert api(cast.secretary).post(f"/meetings/{mid}/postpone", json={
        "reason": "Chờ ý kiến Bộ Chính trị", "starts_at": "2027-01-05T08:30:00+07:00"}).status_code == 200
    entered, why = _room(_page(app, who, f"/meetings/{mid}"))
    assert not entered
    assert why == "Có thể vào phiên họp từ ngày 05/01/2027."
    said = _text(_page(app, who, f"/meetings/{mid}").get_element_by_id("status-reason"))
    assert "sang 05/01/2027 08:30. Lý do: Chờ ý kiến Bộ Chính trị Có thể vào phiên họp từ ngày 05/01/2027." in said
    # the new day has come: the room opens again
    db.session.get(Meeting, mid).starts_at = utcnow()
    db.session.commit()
    assert _room(_page(app, who, f"/meetings/{mid}")) == (True, "")


def test_a_cancelled_meeting_offers_no_session_and_says_why(app, api, cast):
    mid = prepared_meeting(api, cast)["id"]
    assert api(cast.secretary).post(f"/meetings/{mid}/cancel", json={"reason": "Thay đổi lịch"}).status_code == 200
    page = _page(app, "member_a", f"/meetings/{mid}")
    assert _room(page) == (False, "Phiên họp sẽ không diễn ra.")
    assert _text(page.get_element_by_id("status-reason")).endswith("Lý do: Thay đổi lịch Phiên họp sẽ không diễn ra.")


def test_empty_lists_say_what_is_missing_and_the_secretariat_what_to_do(app, api, cast):
    sec = api(cast.secretary)
    mid = create_meeting(sec, cast)["id"]
    assert sec.post(f"/meetings/{mid}/agenda", json={"title": "Dự án Luật Đầu tư công"}).status_code == 201
    page = _page(app, "secretary", f"/meetings/{mid}")
    empty = [_text(node) for node in page.find_class("empty-state")]
    assert "Chưa có tài liệu. Tải lên tệp PDF ở mục “Thêm hồ sơ cho nội dung này” bên dưới để đưa vào hồ sơ." in empty
    assert ("Chưa có nhóm nào được lưu. Sau khi mời thành viên, lưu họ thành một nhóm ở bên dưới để mời cùng lúc "
            "vào phiên họp khác.") in empty

    other = create_meeting(sec, cast, title="Phiên họp chưa có nội dung")["id"]
    empty = [_text(node) for node in _page(app, "secretary", f"/meetings/{other}").find_class("empty-state")]
    assert ("Chương trình họp chưa có nội dung nào. Thêm nội dung đầu tiên ở mục “Thêm nội dung chương trình” "
            "bên dưới, sau đó tải lên hồ sơ.") in empty

    # a member is told what is missing, never given the secretariat's instructions
    assert sec.post(f"/meetings/{mid}/participants", json={"user_id": cast.member_a.id, "role": "member"}
                    ).status_code == 201
    assert sec.post(f"/meetings/{mid}/publish").status_code == 200
    empty = [_text(node) for node in _page(app, "member_a", f"/meetings/{mid}").find_class("empty-state")]
    assert empty == ["Nội dung này chưa có tài liệu."]
    listing = _page(app, "member_b", "/meetings")
    assert [_text(node) for node in listing.find_class("empty-state")] == ["Đồng chí chưa được mời dự phiên họp nào."]


def test_each_date_and_time_field_says_its_format_under_it(app, api, cast):
    mid = create_meeting(api(cast.secretary), cast)["id"]
    fields = [*_page(app, "secretary", "/meetings").xpath("//input[@type='datetime-local']"),
              *_page(app, "secretary", f"/meetings/{mid}").xpath("//input[@type='datetime-local']")]
    assert len(fields) == 3  # the new meeting's start, the edited start, the postponed start
    for field in fields:
        hint = field.getnext()
        assert hint is not None and hint.get("class") == "hint", lxml.html.tostring(field.getparent())
        assert _text(hint) == "Giờ Hà Nội; ngày đã chọn hiện bên dưới theo ngày/tháng/năm"


def test_a_published_meeting_whose_day_has_passed_still_opens_its_session(app, api, cast):
    mid = prepared_meeting(api, cast)["id"]
    db.session.get(Meeting, mid).starts_at = utcnow() - timedelta(days=2)  # a session running late is entered
    db.session.commit()
    assert _room(_page(app, "chair", f"/meetings/{mid}")) == (True, "")
