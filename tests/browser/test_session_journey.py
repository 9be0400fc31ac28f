"""A whole session in separate browsers at once: the chair, two members, the secretariat, a guest and the
hall screen, from opening to closing, at a laptop, an iPad in portrait and a phone. Each step passes
axe-core, fits its screen and logs no console error; the screenshots are written per size."""

from __future__ import annotations

import re
import signal

import pytest

from ecabinet.database import db
from meetings.models import ItemPosition, Stance
from tests.browser.conftest import login
from tests.browser.journey import Screen, shots_folder
from tests.conftest import TEST_PASSWORD
from tests.live.harness import ServerProcess
from tests.meetings.factories import prepared_meeting

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = {"laptop": {"width": 1280, "height": 800}, "ipad": {"width": 768, "height": 1024},
         "phone": {"width": 390, "height": 844}}
HALL = {"width": 1920, "height": 1080}


def confirm(screen: Screen, label: str, expected: str) -> None:
    """The dialog for an irreversible act states its consequence; it is checked, then confirmed."""
    dialog = screen.page.locator("dialog[open]")
    dialog.wait_for()
    assert expected in dialog.inner_text(), dialog.inner_text()
    assert screen.page.evaluate("() => document.activeElement.closest('dialog') !== null")
    screen.check(label)
    dialog.locator(".dialog-actions button").last.click()
    dialog.wait_for(state="detached")


@pytest.mark.parametrize("size", list(SIZES))
def test_a_whole_session_on_every_screen(app, cast, api, tmp_path, database_url, browser, size):
    meeting = prepared_meeting(api, cast)
    mid = meeting["id"]
    first_item, second_item = meeting["items"]
    # the secretariat marks the second item for the consent block before the session
    assert api(cast.secretary).patch(f"/meetings/{mid}/agenda/{second_item['id']}",
                                     json={"consent_block": True}).status_code == 200
    db.session.add(ItemPosition(agenda_item_id=first_item["id"], user_id=cast.member_b.id, stance=Stance.WISH_TO_SPEAK))
    db.session.commit()
    token = api(cast.secretary).post(f"/meetings/{mid}/displays", json={"name": "Máy chiếu"}).get_json()["token"]
    folder = shots_folder(size)
    server = ServerProcess(tmp_path, database_url).start()
    try:
        viewport = SIZES[size]
        people = {name: Screen(browser, name, viewport, folder)
                  for name in ("chair", "member_a", "member_b", "secretary", "guest")}
        for name, screen in people.items():
            login(screen.page, server.url, name, TEST_PASSWORD)
            screen.errors.clear()  # the login and home pages (not this journey's) ask for a /favicon.ico
            screen.page.goto(f"{server.url}/meetings/{mid}/live")
            screen.page.wait_for_selector("#sync-state.ok")
        hall = Screen(browser, "hall", HALL, folder)
        hall.page.goto(f"{server.url}/hall#token={token}")
        hall.page.wait_for_selector("#hall[data-ready]")
        chair, a, b, sec, guest = (people[n] for n in ("chair", "member_a", "member_b", "secretary", "guest"))

        # before the session: the state in words, only the controls that apply
        assert a.page.inner_text("#session-state") == "Chưa khai mạc"
        assert a.page.locator("[data-action=speak]").is_hidden()
        assert a.page.locator("#sync-state").inner_text().startswith("Đã cập nhật")
        for screen in people.values():
            screen.check("before")
        hall.check("before")

        a.page.click("[data-action=checkin]")
        a.page.wait_for_selector("#my-attendance:has-text('Đã điểm danh lúc')")
        sec.page.click(f"#attendance tr[data-user-id='{cast.chair.id}'] button")
        chair.page.wait_for_selector("#my-attendance:has-text('Đã điểm danh lúc')")
        b.page.click("[data-action=checkin]")
        sec.page.wait_for_selector("#quorum:has-text('3 có mặt')")
        chair.page.wait_for_selector("#quorum:has-text('3 có mặt')")

        chair.page.click("[data-action=start]")
        confirm(chair, "open-dialog", "3/3")
        for screen in (a, b, guest, sec):
            screen.page.wait_for_selector("#session-state:text-is('Đang họp')")
        assert chair.page.locator("[data-action=start]").is_hidden()
        hall.page.wait_for_selector("#hall-status:text-is('Đang họp')")

        chair.page.click(f"#agenda li[data-item-id='{first_item['id']}'] [data-action=activate]")
        a.page.wait_for_selector(f"#current-item:has-text('{first_item['title']}')")
        assert a.page.locator("#agenda [data-action=activate]").count() == 0

        # speaking: the queue with positions, the pre-session wish offered to the chair, the floor and a timer
        a.page.click("[data-action=speak]")
        a.page.wait_for_selector("#my-queue:has-text('1/1')")
        chair.page.wait_for_selector("#wishes-list li:has-text('Lê Thị Hồng')")
        assert chair.page.is_visible("#wishes-list .speaker-name:text-is('Lê Thị Hồng')")
        assert chair.page.is_visible("#speakers .speaker-name:has-text('Trần Đức Long')")
        chair.check("queue-and-wishes")
        chair.page.click("#wishes-list li:has-text('Lê Thị Hồng') button")
        b.page.wait_for_selector("#my-queue:has-text('2/2')")
        chair.page.select_option("#speaking-time", "180")
        chair.page.click("#speakers li:has-text('Trần Đức Long') [data-action=grant]")
        a.page.wait_for_selector("#floor-banner:has-text('Mời đồng chí phát biểu')")
        a.page.wait_for_selector("#floor-banner .timer:has-text('còn lại')")
        b.page.wait_for_selector("#my-queue:has-text('1/1')")
        hall.page.wait_for_selector("#hall-speaker:has-text('Trần Đức Long')")
        a.check("floor")
        b.check("queue")
        hall.check("speaker")

        # a vote: unmissable, the member's choice confirmed, closed after a dialog counting against entitled
        chair.page.fill("#vote-question", "Thông qua Tờ trình về dự án Luật?")
        chair.page.click("#vote-form button[type=submit]")
        a.page.wait_for_selector("#vote-live:has-text('Thông qua Tờ trình')")
        assert a.page.inner_text("#vote-live-kind").lower() == "biểu quyết công khai"
        assert a.page.locator("#vote-live [data-choice=agree]").inner_text() == "Tán thành"
        assert guest.page.locator("#vote-live [data-choice]").count() == 0
        a.check("vote-open")
        a.page.click("#vote-live [data-choice=agree]")
        a.page.wait_for_selector("#my-vote:has-text('Tán thành')")
        assert a.page.locator("#vote-live [data-choice=agree]").get_attribute("aria-pressed") == "true"
        assert a.page.locator("#vote-live [data-choice=disagree]").is_disabled()
        # a tap while offline is shown with a retry; the retry counts once
        b.context.set_offline(True)
        b.page.click("#vote-live [data-choice=disagree]")
        b.page.wait_for_selector("#vote-error:visible")
        # the choice kept is shown as chosen, and said to be not sent yet
        assert b.page.locator("#vote-live [data-choice=disagree]").get_attribute("aria-pressed") == "true"
        assert "chưa gửi được" in b.page.inner_text("#my-vote")
        b.check("vote-offline", offline=True)
        b.context.set_offline(False)
        b.page.click("[data-action=retry-vote]")
        b.page.wait_for_selector("#my-vote:has-text('Không tán thành')")
        assert b.page.locator("#vote-error").is_hidden()
        b.page.wait_for_selector("#sync-state.ok")
        b.forgive("ERR_INTERNET_DISCONNECTED")
        a.check("voted")
        hall.page.wait_for_selector("#hall-vote:has-text('2')")
        hall.check("vote-open")
        chair.page.click("[data-action=close-vote]")
        confirm(chair, "close-vote-dialog", "2/3 đã biểu quyết")
        a.page.wait_for_selector("#votes li[data-status=closed] .result-verdict")
        verdict = a.page.inner_text("#votes li[data-status=closed] .result-verdict")
        assert verdict == "Không thông qua: 1/3 tổng số thành viên", verdict
        assert "Không tán thành" in a.page.inner_text("#votes li[data-status=closed] .result-counts")
        assert "disagree" not in a.page.inner_text("#votes")
        assert a.page.locator("#vote-live").is_hidden()
        hall.page.wait_for_selector("#hall-result:has-text('Không thông qua')")
        a.check("vote-result")
        hall.check("vote-result")
        assert hall.page.evaluate("() => document.documentElement.scrollHeight <= window.innerHeight")
        guest.check("in-session")
        sec.check("in-session")

        # the secretariat issues a hall screen credential (shown once) and revokes it after a confirmation
        sec.page.fill("#display-name", "Màn hình phòng chờ")
        sec.page.click("#display-form button[type=submit]")
        sec.page.wait_for_selector("#display-issued code:has-text('/hall#token=')")
        sec.page.click("#displays li:has-text('Màn hình phòng chờ') button")
        confirm(sec, "revoke-display-dialog", "“Màn hình phòng chờ”")
        sec.page.wait_for_selector("#displays li:has-text('Màn hình phòng chờ · Đã thu hồi')")

        # the viewer and follow-the-presenter: the chair presents page 1, then page 2; a member follows,
        # leaves to read elsewhere and returns with one tap; an unsaved note is never lost silently
        doc = meeting["docs"][0]["id"]
        chair.page.goto(f"{server.url}/documents/{doc}/view")
        chair.page.wait_for_selector("#page-canvas[data-rendered-page='1']")
        chair.page.wait_for_selector("#present-here:visible")
        chair.page.click("#present-here")
        a.page.wait_for_selector("#presentation-card:has-text('Trang 1')")
        a.check("presentation")
        a.page.click("#presentation-follow")
        a.page.wait_for_selector("#page-canvas[data-rendered-page='1']")
        a.page.wait_for_selector("#follow-text:has-text('Đang theo dõi')")
        # fit width: the page fills the reading area (the whole screen on a tablet or phone, notes folded)
        drawn, area = a.page.evaluate("() => [document.getElementById('page-canvas').getBoundingClientRect().width,"
                                      " document.getElementById('stage').clientWidth]")
        assert drawn >= area - 40, (drawn, area)
        if viewport["width"] <= 900:
            assert area >= viewport["width"] - 2, area
        a.check("viewer-following")
        chair.page.click("#next")
        chair.page.wait_for_selector("#page-canvas[data-rendered-page='2']")
        chair.page.click("#present-here")
        a.page.wait_for_selector("#page-canvas[data-rendered-page='2']")
        chair.check("viewer-presenting")
        a.page.click("#next")
        a.page.wait_for_selector("#page-canvas[data-rendered-page='3']")
        a.page.wait_for_selector("#follow-return:visible")
        a.check("viewer-away")
        a.page.click("#follow-return")
        a.page.wait_for_selector("#page-canvas[data-rendered-page='2']")
        a.page.wait_for_selector("#follow-return", state="hidden")
        if a.page.locator("#notes").is_hidden():
            a.page.click("#toggle-notes")
        a.page.fill("#note-text", "Cần làm rõ nguồn vốn")
        a.page.click("#next")
        confirm(a, "viewer-unsaved-note", "chưa được lưu")
        a.page.wait_for_selector("#page-canvas[data-rendered-page='3']")
        a.page.click("#prev")
        a.page.wait_for_function("() => document.getElementById('note-text').value === 'Cần làm rõ nguồn vốn'")
        a.page.click("#toggle-notes")
        a.page.click("#toggle-find")
        a.page.fill("#find-input", "uy ban nhan dan")
        a.page.press("#find-input", "Enter")
        a.page.wait_for_selector("#find-status:has-text('trang')")
        a.page.click("#toggle-thumbs")
        a.page.wait_for_selector("#thumb-list button[aria-current=page]")
        a.check("viewer-find-thumbs")
        last = a.page.get_attribute("#page-canvas", "data-rendered-page")
        assert last != "1"
        a.page.goto(f"{server.url}/documents/{doc}/view")  # the last page read, remembered per document
        a.page.wait_for_selector(f"#page-canvas[data-rendered-page='{last}']")
        hall.page.wait_for_selector("#hall-doc:has-text('Trang 2')")
        hall.page.wait_for_selector("#hall-page:visible")  # the presented page itself, drawn on the projector
        hall.check("presented")
        a.page.goto(f"{server.url}/meetings/{mid}/live")
        chair.page.goto(f"{server.url}/meetings/{mid}/live")
        chair.page.wait_for_selector("#sync-state.ok")
        a.page.wait_for_selector("#sync-state.ok")

        # the consent block lists the items it will adopt; closing says what is still open
        chair.page.click("[data-action=consent]")
        confirm(chair, "consent-dialog", second_item["title"])
        a.page.wait_for_selector(f"#agenda li[data-item-id='{second_item['id']}'] .badge.ok")
        chair.page.wait_for_selector(f"#agenda li[data-item-id='{second_item['id']}'] [data-action=activate]", state="hidden")
        chair.page.click("[data-action=close]")
        confirm(chair, "close-dialog", "kết thúc 1 lượt đăng ký phát biểu")
        for screen in (a, b, guest, sec, chair):
            screen.page.wait_for_selector("#session-state:text-is('Đã bế mạc')")
        assert a.page.locator("[data-action=speak]").is_hidden()
        assert a.page.locator("[data-action=checkin]").is_hidden()
        assert chair.page.locator("[data-action=close]").is_hidden()
        assert chair.page.locator("#vote-form").is_hidden()
        assert chair.page.locator("#chair-panel").is_hidden()
        assert guest.page.locator("#votes details").count() == 0
        hall.page.wait_for_selector("#hall-status:text-is('Đã bế mạc')")
        # after closing nothing is being discussed or presented; the request closing ended is still named
        assert chair.page.locator("#agenda li.current").count() == 0
        assert chair.page.locator("#current-item").is_hidden()
        chair.page.wait_for_selector("#unheard li")
        assert hall.page.locator("#hall-item").is_hidden() and hall.page.locator("#hall-doc-card").is_hidden()
        for screen in people.values():
            screen.check("closed")
        hall.check("closed")
        hall.page.set_viewport_size({"width": 3840, "height": 2160})
        hall.check("closed-4k")
        # the projector never scrolls: everything is on the screen at once
        assert hall.page.evaluate("() => document.documentElement.scrollHeight <= window.innerHeight")
        # the event number is shown on demand only (a tap on the sync state), never beside it by default
        assert not re.search(r"Sự kiện số \d+", a.page.inner_text("#sync-state"))
        a.page.click("#sync-state")
        assert re.search(r"Sự kiện số \d+", a.page.inner_text("#sync-state"))
    finally:
        server.stop(signal.SIGKILL)
