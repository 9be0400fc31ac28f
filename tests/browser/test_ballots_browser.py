"""A member answers an opinion ballot on the tablet page with the PIN while the secretariat's board
updates live; the receipt's hash is the hash of the signed slip the member downloads."""

from __future__ import annotations

import hashlib
import signal
from datetime import timedelta

import pytest

from ballots import service
from ecabinet import keystore
from ecabinet.database import utcnow
from tests.browser.conftest import login
from tests.conftest import TEST_PASSWORD
from tests.live.harness import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PIN = "135792"


def test_member_signs_an_answer_and_the_board_sees_it_live(app, cast, database_url, tmp_path, browser):
    app.config["PIN_KDF_ROUNDS"] = 1000  # the production cost only slows the test; the format is the same
    for user in (cast.member_a, cast.member_b):
        keystore.issue_credential(user, PIN, actor=None)
    ballot = service.create_ballot(title="Dự thảo Nghị định về chuyển đổi số", summary="Văn phòng Chính phủ xin ý kiến.",
                                   questions=["Đồng ý ban hành?", "Đồng ý hiệu lực từ 01/01/2027?"],
                                   recipient_ids=[cast.member_a.id, cast.member_b.id],
                                   deadline=utcnow() + timedelta(days=2), actor=cast.secretary)
    service.issue_ballot(ballot, actor=cast.secretary)
    server = ServerProcess(tmp_path, database_url).start()
    try:
        board = browser.new_context().new_page()
        member = browser.new_context().new_page()
        login(board, server.url, "secretary", TEST_PASSWORD)
        login(member, server.url, "member_a", TEST_PASSWORD)
        page = f"{server.url}/ballots/{ballot.id}"
        board.goto(page)
        board.wait_for_selector("#board-state.ok:text-is('Cập nhật trực tiếp')")
        row = f"#board li[data-user-id='{cast.member_a.id}'] .status"
        assert board.inner_text(row) == "Chưa trả lời"

        member.goto(page)
        questions = member.locator("#answer-form fieldset")
        assert questions.count() == 2
        questions.nth(0).locator("input[value=agree]").check()
        questions.nth(1).locator("input[value=other]").check()
        questions.nth(1).locator("textarea").fill("Đề nghị lùi hiệu lực đến ngày 01/7/2027 để các bộ chuẩn bị.")
        member.fill("input[name=pin]", "999999")
        member.click("#answer-form button[type=submit]")
        member.wait_for_selector("#answer-status:text-is('Mã PIN không đúng.')")
        assert member.input_value("input[name=pin]") == ""  # never left in the form
        assert board.inner_text(row) == "Chưa trả lời"

        member.fill("input[name=pin]", PIN)
        member.click("#answer-form button[type=submit]")
        member.wait_for_selector("#answer-status:has-text('✓ v1')")
        board.wait_for_selector(f"{row}:has-text('✓')")
        assert board.inner_text(f"#board li[data-user-id='{cast.member_b.id}'] .status") == "Chưa trả lời"

        member.wait_for_selector("#receipt")  # the page reloads with the receipt
        receipt_hash = member.inner_text("#receipt code")
        slip = member.request.get(server.url + member.get_attribute("#receipt a.btn", "href"))
        assert slip.ok and slip.body().startswith(b"%PDF")
        assert hashlib.sha256(slip.body()).hexdigest() == receipt_hash

        board.reload()  # a board opened later shows the answer from the page itself
        assert board.inner_text(row) == "Đã trả lời"
    finally:
        server.stop(signal.SIGKILL)
