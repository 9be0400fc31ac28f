"""What the minutes page tells the chair before signing: the signature makes the minutes final and archives
the meeting, and the dialog's button names that act."""

from __future__ import annotations

import json

import lxml.html

from tests.meetings.test_pages import browser_login
from tests.minutes.conftest import PIN


def _page(app, who: str, meeting_id: int):
    response = browser_login(app, who).get(f"/meetings/{meeting_id}/minutes")
    assert response.status_code == 200
    return lxml.html.fromstring(response.get_data(as_text=True))


def _strings(page) -> dict[str, str]:
    """The page's own strings for its scripts (minutes.js builds the signing dialog from these)."""
    merged: dict[str, str] = {}
    for node in page.xpath("//script[@type='application/json'][@data-i18n]"):
        merged.update(json.loads(node.text))
    return merged


def test_the_chair_is_told_that_signing_archives_the_meeting_for_good(app, closed_session):
    clients, meeting_id = closed_session.clients, closed_session.meeting_id
    assert clients["secretary"].post(f"/meetings/{meeting_id}/minutes").status_code == 201
    assert clients["secretary"].post(f"/meetings/{meeting_id}/minutes/sign", json={"pin": PIN}).status_code == 200
    page = _page(app, "chair", meeting_id)
    assert page.get_element_by_id("sign").get("data-role") == "chair"
    strings = _strings(page)
    assert strings["sign_title_chair"] == "Ký biên bản và lưu trữ phiên họp?"
    assert strings["sign_body_chair"] == (
        "Sau khi đồng chí ký, biên bản là bản chính thức và phiên họp được đưa vào lưu trữ: chương trình, hồ sơ, "
        "kết quả biểu quyết và biên bản không thể thay đổi nữa. Không thể hoàn tác.")
    assert strings["sign_confirm_chair"] == "Ký và lưu trữ"
    # said on the page too, before either way of signing (the PIN or the own token)
    notice = page.get_element_by_id("chair-archives")
    assert "đưa phiên họp vào lưu trữ" in notice.text_content()
    assert notice.getnext().get("class") == "row actions"


def test_signed_minutes_without_a_narrative_say_what_they_hold(app, closed_session):
    clients, meeting_id = closed_session.clients, closed_session.meeting_id
    assert clients["secretary"].post(f"/meetings/{meeting_id}/minutes").status_code == 201
    for signer in ("secretary", "chair"):
        assert clients[signer].post(f"/meetings/{meeting_id}/minutes/sign", json={"pin": PIN}).status_code == 200
    empty = [" ".join(node.text_content().split()) for node in _page(app, "chair", meeting_id).find_class("empty-state")]
    assert empty == ["Biên bản không có phần tường thuật, chỉ gồm nội dung lấy từ diễn biến phiên họp."]


def test_before_the_minutes_are_drawn_up_the_chair_is_told_who_does_what(app, closed_session):
    empty = [" ".join(node.text_content().split())
             for node in _page(app, "chair", closed_session.meeting_id).find_class("empty-state")]
    assert empty == ["Biên bản chưa được lập. Văn phòng Chính phủ lập biên bản từ diễn biến phiên họp; "
                     "thư ký ký trước, sau đó đến chủ tọa."]
