"""Minutes from the pages alone, at each screen size: the secretary draws them up from the record, edits the
narrative (a new version, the change shown), signs with the PIN; the chair signs and the meeting is archived;
the archive downloads and verifies; a member reads the closed meeting's conclusions, votes and minutes, the
signed minutes in the app's own viewer."""

from __future__ import annotations

import signal

import pytest

from tests.browser.conftest import login
from tests.browser.screens import SIZES, Screens
from tests.conftest import TEST_PASSWORD
from tests.live.harness import ServerProcess
from tests.minutes.conftest import CONCLUSION, PIN, closed_session, fast_pin_kdf  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
NARRATIVE = "Phiên họp diễn ra trong không khí dân chủ, thẳng thắn."


def _sign(page) -> None:
    page.click("#sign")
    page.wait_for_selector("dialog[open] input[type=password]")
    page.fill("dialog[open] input[type=password]", PIN)
    page.click("dialog[open] button[type=submit]")


@pytest.mark.parametrize("size", list(SIZES))
def test_minutes_are_drawn_up_signed_and_archived_from_the_pages(closed_session, database_url, tmp_path, browser,  # noqa: F811
                                                                 size):
    meeting_id = closed_session.meeting_id
    server = ServerProcess(tmp_path, database_url).start()
    try:
        screens = Screens(browser, "minutes-secretary", size)
        page = screens.page()
        login(page, server.url, "secretary", TEST_PASSWORD)
        page.goto(f"{server.url}/meetings/{meeting_id}")
        assert CONCLUSION in page.inner_text(".conclusion")
        vote = page.inner_text(".vote-result")
        assert "Thông qua dự án Luật?" in vote and vote.count("Không biểu quyết") == 1  # abstained ≠ did not vote
        assert "Tán thành" in vote and "Không tham gia biểu quyết" in vote
        screens.check(page, "closed meeting")
        page.click(f"a[href='/meetings/{meeting_id}/minutes']")
        screens.check(page, "no minutes yet")
        page.click("#generate")
        page.wait_for_selector("#narrative")
        screens.check(page, "draft version 1")
        page.fill("#narrative", NARRATIVE)
        page.click("#narrative-form button[type=submit]")
        page.wait_for_selector(".versions li:has-text('Phiên bản 2')")
        assert page.inner_text(".versions > li:first-child .diff .ins").endswith(NARRATIVE)
        screens.check(page, "version 2 with what changed")
        _sign(page)
        page.wait_for_selector("#minutes-status:has-text('Thư ký đã ký')")
        assert page.locator("#narrative").count() == 0  # signed: no longer editable
        screens.check(page, "signed by the secretary")
        screens.close()

        chair = Screens(browser, "minutes-chair", size)
        page = chair.page()
        login(page, server.url, "chair", TEST_PASSWORD)
        page.goto(f"{server.url}/meetings/{meeting_id}/minutes")
        chair.check(page, "chair sees the secretary's signature")
        page.click("#sign")
        dialog = page.locator("dialog[open]")
        dialog.wait_for()
        # the chair's act archives the meeting: the dialog says so, its button names the act and is filled red
        assert dialog.locator("h2").inner_text() == "Ký biên bản và lưu trữ phiên họp?"
        assert "phiên họp được đưa vào lưu trữ" in dialog.inner_text() and "Không thể hoàn tác." in dialog.inner_text()
        button = dialog.locator("button[type=submit]")
        assert button.inner_text() == "Ký và lưu trữ"
        assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(179, 22, 27)"  # var(--red)
        chair.check(page, "chair confirms signing and archiving")
        page.fill("dialog[open] input[type=password]", PIN)
        page.click("dialog[open] button[type=submit]")
        page.wait_for_selector("#minutes-status:text-is('Đã ký')")
        archive = page.request.get(f"{server.url}/api/v1/meetings/{meeting_id}/archive.zip")
        assert archive.ok and archive.body()[:2] == b"PK"
        chair.check(page, "signed and archived")
        page.click("a[href='?verify=1#verification']")
        page.wait_for_selector("#verification.panel-ok")
        chair.check(page, "the archive verifies")
        chair.close()

        member = Screens(browser, "minutes-member", size)
        page = member.page()
        login(page, server.url, "member_a", TEST_PASSWORD)
        page.goto(f"{server.url}/meetings/{meeting_id}")
        assert page.inner_text("#meeting-status") == "Đã lưu trữ"
        assert CONCLUSION in page.inner_text(".conclusion")
        member.check(page, "archived meeting for a member")
        page.click(f"a.btn[href='/meetings/{meeting_id}/minutes']")
        assert page.locator(".versions").count() == 0  # drafts stay with the secretariat and the chair
        member.check(page, "signed minutes for a member")
        page.click("#open-minutes")  # our viewer, not the browser's PDF reader
        page.wait_for_selector("#page-canvas[data-rendered-page='1']")
        assert page.url.endswith(f"/meetings/{meeting_id}/minutes/view")
        assert page.inner_text("#page-label").startswith("/ ") and page.is_hidden("#toggle-notes")
        assert page.is_hidden("#notes")
        member.check(page, "signed minutes in the viewer")
        page.click(f".pdf-toolbar a[href='/meetings/{meeting_id}/minutes']")
        page.wait_for_selector("#open-minutes")
        member.close()
    finally:
        server.stop(signal.SIGKILL)
