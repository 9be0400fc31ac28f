"""Tablet pages: the member's answer form and receipt, the secretariat's board and editor, who the list and the
menu entry are for, and what an empty group says."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.conftest import TEST_PASSWORD

from .conftest import PIN, answers_for


def _login(app: Any, username: str) -> Any:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = client.post("/login", data={"username": username, "password": TEST_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


def test_member_sees_the_form_then_the_receipt(app: Any, api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    ballot_id, body = ballot.id, {"answers": answers_for(ballot), "pin": PIN}
    member_api = api(cast.member_a)
    browser = _login(app, "member_a")
    assert f"/ballots/{ballot_id}" in browser.get("/").get_data(as_text=True)  # home: "cần trả lời"
    page = browser.get(f"/ballots/{ballot_id}").get_data(as_text=True)
    assert 'id="answer-form"' in page and 'name="pin"' in page and 'type="password"' in page
    receipt = member_api.post(f"/ballots/{ballot_id}/responses", body).get_json()
    page = browser.get(f"/ballots/{ballot_id}").get_data(as_text=True)
    assert receipt["sha256"] in page and f"/responses/{receipt['id']}/pdf" in page
    assert 'id="answer-form" novalidate hidden' in page  # the form waits behind "Change my answer"
    assert f"/ballots/{ballot_id}" not in browser.get("/").get_data(as_text=True)
    listing = browser.get("/ballots").get_data(as_text=True)
    answered = listing.index("Đã trả lời, phiếu còn mở")
    assert listing.index(f"/ballots/{ballot_id}") > answered


def test_secretariat_sees_the_board_and_the_editor(app: Any, cast: Any, make_ballot: Any) -> None:
    ballot_id = make_ballot().id
    browser = _login(app, "secretary")
    page = browser.get(f"/ballots/{ballot_id}").get_data(as_text=True)
    assert 'id="board"' in page and "Trần Đức Long" in page
    assert browser.get("/ballots/new").status_code == 200


def test_outsider_gets_not_found(app: Any, cast: Any, make_ballot: Any) -> None:
    ballot_id = make_ballot().id
    assert _login(app, "outsider").get(f"/ballots/{ballot_id}").status_code == 404


def test_the_board_shows_the_other_opinions_and_the_chair_sees_only_the_fixed_result(
        app: Any, api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    ballot_id = ballot.id
    written = "Đề nghị lùi hiệu lực đến ngày 01/7/2027."
    body = {"answers": answers_for(ballot, "agree", "other", comment=written), "pin": PIN}
    assert api(cast.member_a).post(f"/ballots/{ballot_id}/responses", body).status_code == 201
    board = _login(app, "secretary").get(f"/ballots/{ballot_id}").get_data(as_text=True)
    opinions = board[board.index('id="board-comments"'):]
    assert written in opinions and "Trần Đức Long" in opinions and "Ý kiến khác" in opinions
    chair = _login(app, "chair")
    page = chair.get(f"/ballots/{ballot_id}").get_data(as_text=True)
    assert 'id="tally"' not in page and written not in page  # no running result for the chair
    assert api(cast.secretary).post(f"/ballots/{ballot_id}/close").status_code == 200
    page = chair.get(f"/ballots/{ballot_id}").get_data(as_text=True)
    assert 'id="tally"' in page and 'data-label="Không trả lời"' in page and "Kết thúc lúc" in page
    counts = page[page.index('id="board-counts"'):page.index('id="board-progress"')]
    assert "không trả lời" in counts and "chưa trả lời" not in counts  # once closed, nobody is still "pending"
    assert written not in page  # the opinions stay with the Government Office


def test_closed_ballots_say_whether_i_answered(app: Any, api: Any, cast: Any, make_ballot: Any) -> None:
    answered, missed = make_ballot(title="Phiếu đã trả lời"), make_ballot(title="Phiếu bỏ lỡ")
    ids = answered.id, missed.id
    body = {"answers": answers_for(answered), "pin": PIN}
    assert api(cast.member_a).post(f"/ballots/{ids[0]}/responses", body).status_code == 201
    for ballot_id in ids:
        assert api(cast.secretary).post(f"/ballots/{ballot_id}/close").status_code == 200
    listing = _login(app, "member_a").get("/ballots").get_data(as_text=True)
    closed = listing[listing.index('id="g-closed"'):]
    first, second = closed[closed.index("Phiếu đã trả lời"):], closed[closed.index("Phiếu bỏ lỡ"):]
    assert "Đã trả lời lúc" in first[:first.index("</li>")]
    assert "Không trả lời" in second[:second.index("</li>")]


def test_the_answer_form_links_the_dossier_and_the_pin_error_has_its_place(
        app: Any, api: Any, cast: Any, make_ballot: Any) -> None:
    from tests.meetings.factories import prepared_meeting

    document_id = prepared_meeting(api, cast)["docs"][0]["id"]
    ballot_id = make_ballot(document_ids=[document_id]).id
    page = _login(app, "member_a").get(f"/ballots/{ballot_id}").get_data(as_text=True)
    step = page[page.index('id="step-answer"'):page.index('id="step-review"')]
    assert f'href="/documents/{document_id}/view"' in step
    assert 'id="pin-error"' in page and 'aria-describedby="pin-error pin-hint"' in page


def test_the_editor_offers_only_dossiers_within_the_secretarys_clearance(app: Any, api: Any, cast: Any) -> None:
    from ecabinet.auth.models import Confidentiality, Role
    from tests.conftest import make_user
    from tests.meetings.factories import create_meeting, upload

    make_user("sec_low", roles=[Role.SECRETARY], clearance=Confidentiality.CONFIDENTIAL)
    sec = api(cast.secretary)
    meeting_id = create_meeting(sec, cast, confidentiality="secret")["id"]
    item = sec.post(f"/meetings/{meeting_id}/agenda", json={"title": "Quốc phòng"}).get_json()
    assert upload(sec, meeting_id, item["id"], title="Đề án tuyệt mật A", confidentiality="secret").status_code == 201
    assert upload(sec, meeting_id, item["id"], title="Báo cáo thường B").status_code == 201
    high = _login(app, "secretary").get("/ballots/new").get_data(as_text=True)
    assert "Đề án tuyệt mật A" in high and "Báo cáo thường B" in high
    assert "Phiên họp Chính phủ thường kỳ tháng 12</small>" in high  # each dossier says which meeting it is from
    low = _login(app, "sec_low").get("/ballots/new").get_data(as_text=True)
    assert "Đề án tuyệt mật A" not in low and "Báo cáo thường B" in low


@pytest.mark.parametrize(("username", "allowed"), [("secretary", True), ("chair", True), ("member_a", True),
                                                   ("guest", False), ("admin", False)])
def test_the_menu_offers_ballots_to_exactly_those_the_list_lets_in(app: Any, cast: Any, username: str,
                                                                    allowed: bool) -> None:
    browser = _login(app, username)
    home = browser.get("/").get_data(as_text=True)
    menu = home[home.index('class="topnav-links"'):home.index("</ul>", home.index('class="topnav-links"'))]
    assert ('href="/ballots"' in menu) is allowed
    assert ('href="/ballots"' in home) is allowed  # nor a home-page link to a page that refuses them
    # nor an empty "ballots to answer" card for someone who is never asked
    assert ("Phiếu lấy ý kiến cần trả lời" in home or "Phiếu đang lấy ý kiến" in home) is allowed
    listing = browser.get("/ballots")
    assert listing.status_code == (200 if allowed else 403)
    if not allowed:
        assert "Phiếu lấy ý kiến do Văn phòng Chính phủ gửi đến các thành viên Chính phủ" in listing.get_data(as_text=True)


def test_the_receipt_says_in_plain_words_that_the_signature_is_valid_and_keeps_the_terms_for_auditors(
        app: Any, api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    receipt = api(cast.member_a).post(f"/ballots/{ballot.id}/responses",
                                      {"answers": answers_for(ballot), "pin": PIN}).get_json()
    page = _login(app, "member_a").get(f"/ballots/{ballot.id}").get_data(as_text=True)
    section = page[page.index('id="receipt"'):page.index("</section>", page.index('id="receipt"'))]
    audit = section[section.index('<details class="details" id="receipt-audit">'):section.index("</details>")]
    plain = section.replace(audit, "")
    assert "Chữ ký số hợp lệ, đã gắn vào phiếu." in plain
    assert "PAdES" not in plain and "SHA-256" not in plain and receipt["sha256"] not in plain
    assert "<details class=\"details\" id=\"receipt-audit\">" in section and "open" not in audit[:60]  # closed at first
    assert f"PAdES {receipt['level']}" in audit and "Mã kiểm tra của tệp" in audit and "(SHA-256)" in audit
    assert f'<code class="hash">{receipt["sha256"]}</code>' in audit


def test_the_close_confirmation_says_it_cannot_be_undone_and_counts_against_all(
        app: Any, cast: Any, make_ballot: Any) -> None:
    page = _login(app, "secretary").get(f"/ballots/{make_ballot().id}").get_data(as_text=True)
    strings = json.loads(re.findall(r'<script type="application/json" data-i18n>(.*?)</script>', page, re.S)[0])
    assert "Thao tác này không thể hoàn tác." in strings["close_final"]
    assert strings["close_pending"] == "%(pending)s trên %(total)s thành viên chưa trả lời:"
    assert strings["close_confirm"] == "Kết thúc lấy ý kiến ngay"
    assert "vẫn chưa đến" in strings["close_early"]


def test_empty_groups_say_what_is_missing_and_what_to_do(app: Any, cast: Any) -> None:
    member = _login(app, "member_a").get("/ballots").get_data(as_text=True)
    assert "Không có." not in member
    assert "Đồng chí sẽ nhận được thông báo khi Văn phòng Chính phủ gửi phiếu lấy ý kiến." in member
    assert "Chưa có phiếu nào đồng chí đã trả lời mà còn hạn." in member
    assert "Chưa có phiếu nào gửi đồng chí đã kết thúc." in member
    assert 'href="/ballots/new"' not in member  # nothing offered that a member cannot do
    secretariat = _login(app, "secretary").get("/ballots").get_data(as_text=True)
    assert "Không có." not in secretariat
    drafts = secretariat[secretariat.index('id="g-draft"'):secretariat.index("</section>", secretariat.index('id="g-draft"'))]
    assert "Không có bản nháp." in drafts and '<a href="/ballots/new">Tạo phiếu lấy ý kiến</a>' in drafts
    assert "hoặc sớm hơn khi đồng chí kết thúc lấy ý kiến" in secretariat
