"""Opinion ballots walked through the pages at the three screen sizes: a member answers (errors summarised,
a review before signing, a wrong PIN with the attempts left, the receipt and the signed slip); the secretariat's
board counts, reminds and closes with a confirmation; the chair follows the progress; the secretariat writes a
ballot with a dossier attached in the editor and issues it after a confirmation."""

from __future__ import annotations

import hashlib
import json
import re
import signal
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from ballots import service
from ballots.models import Ballot
from ecabinet import keystore
from ecabinet.audit import AuditRecord
from ecabinet.database import db, utcnow
from tests.browser.conftest import login
from tests.browser.screens import SIZES, Screens, open_section
from tests.conftest import TEST_PASSWORD
from tests.live.harness import ServerProcess
from tests.meetings.factories import prepared_meeting

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PIN = "135792"
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
COMMENT = "Đề nghị lùi hiệu lực đến ngày 01/7/2027 để các bộ chuẩn bị."


def test_ballot_journeys_at_every_screen_size(app, cast, database_url, tmp_path, browser):
    app.config["PIN_KDF_ROUNDS"] = 1000  # the production cost only slows the test; the format is the same
    for user in (cast.member_a, cast.member_b, cast.chair):
        keystore.issue_credential(user, PIN, actor=None)
    ballots = {}
    for size in SIZES:
        ballot = service.create_ballot(title=f"Dự thảo Nghị định về chuyển đổi số ({size})",
                                       summary="Văn phòng Chính phủ xin ý kiến.",
                                       questions=["Đồng ý ban hành?", "Đồng ý hiệu lực từ 01/01/2027?"],
                                       recipient_ids=[cast.member_a.id, cast.member_b.id, cast.chair.id],
                                       deadline=utcnow() + timedelta(days=2), actor=cast.secretary)
        service.issue_ballot(ballot, actor=cast.secretary)
        ballots[size] = ballot.id
    server = ServerProcess(tmp_path, database_url).start()
    try:
        for size, ballot_id in ballots.items():
            _member_answers(browser, server.url, size, ballot_id)
            _secretariat_reminds_and_closes(browser, server.url, size, ballot_id, cast)
    finally:
        server.stop(signal.SIGKILL)
    db.session.rollback()  # see what the server process wrote
    reminders = db.session.query(AuditRecord).filter(AuditRecord.action == "ballot.reminded").all()
    assert len(reminders) == len(SIZES)
    assert all(sorted(json.loads(r.data)["user_ids"]) == sorted([cast.member_b.id, cast.chair.id]) for r in reminders)


def _member_answers(browser, url: str, size: str, ballot_id: int) -> None:
    # each size starts with every attempt: whether the last size's wrong PIN was forgiven depends on how long
    # its journey took (PIN_FORGIVE_SECONDS), which is not what this journey is about
    db.session.rollback()
    db.session.execute(update(keystore.SigningCredential).values(failed_attempts=0, pin_last_wrong_at=None))
    db.session.commit()
    screens = Screens(browser, "ballot-member", size)
    page = screens.page()
    login(page, url, "member_a", TEST_PASSWORD)
    assert page.locator(f"a[href='/ballots/{ballot_id}']").count() == 1  # home: "cần trả lời"
    # how many ballots wait is information, not an alarm: a neutral count, red is kept for failures and overdue
    counts = page.locator("main .count").evaluate_all("els => els.map(e => getComputedStyle(e).backgroundColor)")
    assert counts and set(counts) == {"rgb(230, 233, 238)"}
    screens.check(page, "home with the ballot to answer")
    open_section(page, "/ballots")
    assert "Không có." not in page.inner_text("main")  # an empty group says what is missing
    assert page.inner_text("section[aria-labelledby=g-done] .empty-state").startswith(
        "Chưa có phiếu nào đồng chí đã trả lời mà còn hạn.")
    screens.check(page, "ballot list")
    page.click(f"a[href='/ballots/{ballot_id}']")
    screens.check(page, "answer form")

    page.click("#to-review")
    page.wait_for_selector("#error-summary:visible")
    assert page.locator("#error-summary li").count() == 2
    screens.check(page, "error summary")

    questions = page.locator("#answer-form fieldset.question")
    questions.nth(0).locator("label.choice:has(input[value=agree])").click()  # the label itself is the target
    assert questions.nth(0).locator("input[value=agree]").is_checked()
    questions.nth(1).locator("label.choice:has(input[value=other])").click()
    page.click("#to-review")
    assert page.inner_text("#error-summary li") == "Ghi rõ ý kiến khác cho câu hỏi 2"
    questions.nth(1).locator("textarea").fill(COMMENT)
    page.click("#to-review")
    page.wait_for_selector("#step-review:visible")
    review = page.inner_text("#review-list")
    assert "Đồng ý" in review and "Ý kiến khác" in review and COMMENT in review
    assert page.inner_text("#pin-hint") == "Còn 5 lần nhập trước khi chức năng ký bị khóa."
    screens.check(page, "check answers before signing")

    page.fill("#pin", "999999")
    page.click("#sign")
    page.wait_for_selector("#error-summary:has-text('Mã PIN không đúng')")
    assert "Mã PIN không đúng" in page.inner_text("#pin-error")  # next to the field too, not only at the top
    assert page.input_value("#pin") == ""  # never left in the form
    assert page.inner_text("#pin-hint") == "Còn 4 lần nhập trước khi chức năng ký bị khóa."
    screens.check(page, "wrong PIN", refused=403)

    page.fill("#pin", PIN)
    page.click("#sign")
    page.wait_for_selector("#receipt")
    assert page.is_hidden("#answer-form")  # no blank form under the receipt as if nothing was taken
    assert "Ý kiến của đồng chí đã được ký số và ghi nhận" in page.inner_text("#receipt")
    assert COMMENT in page.inner_text("#receipt .summary-list")
    # plain words first; the standard's name and the file's fingerprint wait in the auditors' disclosure
    assert page.inner_text("#receipt-check") == "✓ Chữ ký số hợp lệ, đã gắn vào phiếu."
    assert "PAdES" not in page.inner_text("#receipt") and page.is_hidden("#receipt code.hash")
    screens.check(page, "receipt")
    page.click("#receipt details summary")
    assert "PAdES B-B" in page.inner_text("#receipt-audit") and "Mã kiểm tra của tệp" in page.inner_text("#receipt-audit")
    receipt_hash = page.inner_text("#receipt code.hash")
    screens.check(page, "receipt details")
    slip = page.request.get(url + page.get_attribute("#slip-download", "href"))
    assert slip.ok and hashlib.sha256(slip.body()).hexdigest() == receipt_hash

    page.goto(f"{url}/ballots/{ballot_id}/own-signature")
    assert page.inner_text("#choose-file") == "Chọn tệp PDF đã ký" and page.inner_text("#file-name") == "Chưa chọn tệp nào"
    with page.expect_file_chooser() as chooser:
        page.click("#choose-file")
    chooser.value.set_files({"name": "phieu-da-ky.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7"})
    assert page.inner_text("#file-name") == "Đã chọn: phieu-da-ky.pdf"
    screens.check(page, "sign with my own token")
    screens.close()


def _secretariat_reminds_and_closes(browser, url: str, size: str, ballot_id: int, cast) -> None:
    screens = Screens(browser, "ballot-secretariat", size)
    page = screens.page()
    login(page, url, "secretary", TEST_PASSWORD)
    page.goto(f"{url}/ballots/{ballot_id}")
    page.wait_for_selector("#board-state.ok")
    assert page.inner_text("#count-answered") == "1" and page.inner_text("#count-pending") == "2"
    assert page.locator("#tally tbody tr").nth(1).locator("td").nth(2).inner_text() == "1"  # one "other opinion"
    pending = page.locator(f"#board li[data-user-id='{cast.member_b.id}'] .status")
    assert pending.inner_text() == "Chưa trả lời"
    assert COMMENT in page.inner_text("#board-comments")  # the other opinion as written, not only counted
    screens.check(page, "board")

    page.click("[data-action=remind]")
    page.wait_for_selector("#board-status:has-text('Đã gửi lời nhắc đến 2 thành viên.')")
    screens.check(page, "reminder sent")

    page.click("[data-action=close]")
    page.wait_for_selector("dialog[open]")
    dialog = page.inner_text("dialog[open]")
    assert "vẫn chưa đến" in dialog  # the deadline is still days away
    assert page.inner_text("#close-pending") == "2 trên 3 thành viên chưa trả lời:"
    assert page.locator("dialog[open] .dialog-names li").all_inner_texts() == sorted([cast.member_b.full_name,
                                                                                      cast.chair.full_name])
    assert "Thao tác này không thể hoàn tác." in dialog
    confirm = page.locator("dialog[open] .dialog-actions .btn-danger")
    assert confirm.inner_text() == "Kết thúc lấy ý kiến ngay"
    # filled, unlike the outlined Cancel beside it and the button that opened the dialog
    assert confirm.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(140, 15, 19)"
    assert confirm.evaluate("b => getComputedStyle(b).color") == "rgb(255, 255, 255)"
    screens.check(page, "confirm closing")
    confirm.click()
    page.wait_for_selector("#ballot-status:has-text('Đã kết thúc')")
    assert pending.inner_text() == "Không trả lời"  # never "not answered yet" once closed
    screens.check(page, "closed with the result")
    screens.close()

    chair = Screens(browser, "ballot-chair", size)
    page = chair.page()
    login(page, url, "chair", TEST_PASSWORD)
    page.goto(f"{url}/ballots/{ballot_id}")
    assert page.inner_text("#count-answered") == "1"
    assert page.locator("#tally tbody tr").count() == 2 and "Kết thúc lúc" in page.inner_text("#ballot")
    chair.check(page, "chair's progress view")
    chair.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_the_secretariat_writes_a_ballot_with_a_dossier_and_issues_it(app, api, cast, database_url, tmp_path,
                                                                       browser, size):
    document = prepared_meeting(api, cast)["docs"][0]
    title = f"Dự thảo Nghị định về dữ liệu mở ({size})"
    deadline = (utcnow() + timedelta(days=3)).astimezone(HANOI).strftime("%Y-%m-%dT%H:%M")
    server = ServerProcess(tmp_path, database_url).start()
    try:
        screens = Screens(browser, "ballot-editor", size)
        page = screens.page()
        login(page, server.url, "secretary", TEST_PASSWORD)
        open_section(page, "/ballots")
        screens.check(page, "the secretariat's ballot list")
        page.click("a[href='/ballots/new']")
        screens.check(page, "empty editor")
        page.fill("#ballot-editor input[name=title]", title)
        page.fill("#ballot-editor textarea[name=summary]", "Văn phòng Chính phủ xin ý kiến thành viên Chính phủ.")
        page.fill("#ballot-editor textarea[name=questions]", "Đồng ý ban hành Nghị định?\n\nĐồng ý hiệu lực từ 01/7/2027?")
        page.fill("#ballot-editor input[name=deadline]", deadline)
        page.click(f"#ballot-editor label.check:has(input[name=document][value='{document['id']}'])")
        assert page.is_checked(f"input[name=document][value='{document['id']}']")
        page.click("#select-all-recipients")  # none, then only the two ministers this ballot is for
        for user in (cast.member_a, cast.member_b):
            page.click(f"#ballot-editor label.check:has(input[name=recipient][value='{user.id}'])")
        screens.check(page, "editor filled in")
        page.click("#ballot-editor button[type=submit]")
        page.wait_for_url(re.compile(r"/ballots/\d+$"))
        ballot_id = int(page.url.rsplit("/", 1)[1])
        assert page.inner_text("#ballot-status") == "Dự thảo"
        assert page.locator(f"#ballot a[href='/documents/{document['id']}/view']").count() == 1
        screens.check(page, "draft with its dossier")

        page.click("[data-action=issue]")
        page.wait_for_selector("dialog[open]")
        assert "Không thể sửa câu hỏi sau khi phát hành" in page.inner_text("dialog[open]")
        screens.check(page, "confirm issuing")
        page.click("dialog[open] .btn-primary")
        page.wait_for_selector("#ballot-status:text-is('Đang lấy ý kiến')")
        assert page.inner_text("#count-pending") == "2"
        screens.check(page, "issued")
        screens.close()

        member = Screens(browser, "ballot-editor-recipient", size)
        page = member.page()
        login(page, server.url, "member_a", TEST_PASSWORD)
        page.goto(f"{server.url}/ballots/{ballot_id}")
        assert page.locator(f"#answer-dossiers a[href='/documents/{document['id']}/view']").count() == 1
        member.check(page, "the recipient sees the dossier to read")
        member.close()
    finally:
        server.stop(signal.SIGKILL)
    db.session.rollback()  # see what the server process wrote
    ballot = db.session.get(Ballot, ballot_id)
    assert (ballot.title, ballot.status, ballot.document_ids) == (title, "issued", [document["id"]])
    assert [q.text for q in ballot.questions] == ["Đồng ý ban hành Nghị định?", "Đồng ý hiệu lực từ 01/7/2027?"]
    assert sorted(r.user_id for r in ballot.recipients) == sorted([cast.member_a.id, cast.member_b.id])
