"""The viewer's private highlights and ink; a member's objection to the consent block; the secretariat's
conclusion form only while an item is discussed; the hall screen moved by the meeting's stream, not by
polling. At a laptop, an iPad in portrait and a phone: axe-core, width and console checked at each step."""

from __future__ import annotations

import signal

import pytest

from tests.browser.conftest import login
from tests.browser.journey import Screen, shots_folder
from tests.conftest import TEST_PASSWORD, issue_token
from tests.live.harness import Http, ServerProcess
from tests.meetings.factories import prepared_meeting

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = {"laptop": {"width": 1280, "height": 800}, "ipad": {"width": 768, "height": 1024},
         "phone": {"width": 390, "height": 844}}


def marks(screen: Screen) -> int:
    return int(screen.page.get_attribute("#mark-layer", "data-marks") or 0)


def wait_marks(screen: Screen, count: int) -> None:
    screen.page.wait_for_selector(f"#mark-layer[data-marks='{count}']")


def drag(screen: Screen, start: tuple[float, float], end: tuple[float, float], *, touch: bool = False) -> None:
    """A stroke over the page, in fractions of the drawn page (within the part on the screen): with the mouse,
    or a finger (touch events)."""
    box = screen.page.locator("#page-canvas").bounding_box()
    points = [(box["x"] + box["width"] * (start[0] + (end[0] - start[0]) * i / 8),
               box["y"] + box["height"] * (start[1] + (end[1] - start[1]) * i / 8)) for i in range(9)]
    if touch:
        cdp = screen.context.new_cdp_session(screen.page)
        cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 1})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": points[0][0], "y": points[0][1]}]})
        for x, y in points[1:]:
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        cdp.detach()
        return
    screen.page.mouse.move(*points[0])
    screen.page.mouse.down()
    for x, y in points[1:]:
        screen.page.mouse.move(x, y)
    screen.page.mouse.up()


@pytest.mark.parametrize("size", list(SIZES))
def test_highlights_and_ink_are_private_and_come_back(app, cast, api, tmp_path, database_url, browser, size):
    meeting = prepared_meeting(api, cast)
    doc = meeting["docs"][0]["id"]
    folder = shots_folder(f"marks-{size}")
    server = ServerProcess(tmp_path, database_url).start()
    try:
        a, b = (Screen(browser, name, SIZES[size], folder) for name in ("member_a", "member_b"))
        for screen in (a, b):
            login(screen.page, server.url, screen.name, TEST_PASSWORD)
            screen.errors.clear()
        a.page.goto(f"{server.url}/documents/{doc}/view#page=1")
        a.page.wait_for_selector("#page-canvas[data-rendered-page='1']")
        # every tool of the toolbar is on the screen, none scrolled out of reach
        assert a.page.evaluate("() => { const bar = document.querySelector('.pdf-toolbar');"
                               " return bar.scrollWidth <= bar.clientWidth; }")
        a.page.click("#toggle-marks")
        assert a.page.get_attribute("#toggle-marks", "aria-pressed") == "true"
        a.page.click("#mark-highlight")
        assert a.page.get_attribute("#mark-highlight", "aria-pressed") == "true"
        drag(a, (0.1, 0.1), (0.7, 0.16))
        wait_marks(a, 1)
        a.page.wait_for_selector("#mark-status:text-is('Đã lưu')")
        # a finger's horizontal stroke with the pen draws; it does not turn the page as a swipe would
        a.page.click("#mark-ink")
        drag(a, (0.15, 0.25), (0.8, 0.28), touch=True)
        wait_marks(a, 2)
        assert a.page.get_attribute("#page-canvas", "data-rendered-page") == "1"
        a.check("marks-drawn")
        a.page.click("#mark-undo")
        wait_marks(a, 1)
        drag(a, (0.2, 0.33), (0.6, 0.38))
        wait_marks(a, 2)
        # the eraser takes the mark it touches, only that one
        a.page.click("#mark-erase")
        drag(a, (0.3, 0.13), (0.31, 0.13))
        wait_marks(a, 1)
        assert a.page.locator("#mark-layer polyline").count() == 1
        a.page.wait_for_selector("#mark-status:text-is('Đã lưu')")
        # with no tool in hand a tap on the page's edge turns the page again
        a.page.click("#mark-erase")
        a.page.click("#next")
        a.page.wait_for_selector("#page-canvas[data-rendered-page='2']")
        wait_marks(a, 0)
        a.page.goto(f"{server.url}/documents/{doc}/view?reopened=1#page=1")  # a new load, not a jump in the page
        a.page.wait_for_selector("#page-canvas[data-rendered-page='1']")
        wait_marks(a, 1)
        assert a.page.locator("#mark-layer polyline").count() == 1
        a.check("marks-restored")
        # offline: the stroke stays on the page and on the device, is said to be unsaved, and goes when back online
        a.page.click("#toggle-marks")
        a.page.click("#mark-ink")
        a.context.set_offline(True)
        drag(a, (0.2, 0.2), (0.5, 0.22))
        wait_marks(a, 2)
        a.page.wait_for_selector("#mark-status:has-text('Chưa lưu được')")
        a.check("marks-offline", offline=True)
        a.context.set_offline(False)
        a.page.wait_for_selector("#mark-status:text-is('Đã lưu')")
        a.forgive("ERR_INTERNET_DISCONNECTED")
        # another member's viewer of the same page carries none of them
        b.page.goto(f"{server.url}/documents/{doc}/view#page=1")
        b.page.wait_for_selector("#page-canvas[data-rendered-page='1']")
        b.page.wait_for_selector("#mark-layer[data-marks='0']")
        b.check("marks-not-shared")
        # clearing a page asks first, and says undo brings the marks back
        a.page.click("#mark-clear")
        dialog = a.page.locator("dialog[open]")
        assert "Hoàn tác" in dialog.inner_text()
        a.check("marks-clear-dialog")
        dialog.locator(".dialog-actions button").last.click()
        wait_marks(a, 0)
        a.page.click("#mark-undo")
        wait_marks(a, 2)
        a.page.wait_for_selector("#mark-status:text-is('Đã lưu')")
        a.page.goto(f"{server.url}/documents/{doc}/view?again=1#page=1")
        a.page.wait_for_selector("#page-canvas[data-rendered-page='1']")
        wait_marks(a, 2)
    finally:
        server.stop(signal.SIGKILL)


@pytest.mark.parametrize("size", list(SIZES))
def test_an_objection_the_conclusion_form_and_the_hall_on_the_stream(app, cast, api, tmp_path, database_url, browser,
                                                                     size):
    meeting = prepared_meeting(api, cast)
    mid = meeting["id"]
    first, second = meeting["items"]
    assert api(cast.secretary).patch(f"/meetings/{mid}/agenda/{second['id']}",
                                     json={"consent_block": True}).status_code == 200
    token = api(cast.secretary).post(f"/meetings/{mid}/displays", json={"name": "Máy chiếu"}).get_json()["token"]
    chair_token = issue_token(cast.chair)
    folder = shots_folder(f"room-{size}")
    server = ServerProcess(tmp_path, database_url).start()
    try:
        chair = Http(server.url, chair_token)
        for user in (cast.chair, cast.member_a, cast.member_b):
            assert Http(server.url, issue_token(user)).post(f"/meetings/{mid}/checkin").status_code in (200, 201)
        assert chair.post(f"/meetings/{mid}/session/start").status_code == 200
        people = {name: Screen(browser, name, SIZES[size], folder) for name in ("chair", "member_a", "secretary")}
        for name, screen in people.items():
            login(screen.page, server.url, name, TEST_PASSWORD)
            screen.errors.clear()
            screen.page.goto(f"{server.url}/meetings/{mid}/live")
            screen.page.wait_for_selector("#sync-state.ok")
        hall = Screen(browser, "hall", {"width": 1920, "height": 1080}, folder)
        reads: list[str] = []
        hall.page.on("request", lambda r: reads.append(r.url) if "/hall/state" in r.url else None)
        hall.page.goto(f"{server.url}/hall#token={token}")
        hall.page.wait_for_selector("#hall-status:text-is('Đang họp')")
        chair_page, a, sec = people["chair"], people["member_a"], people["secretary"]

        # the hall is moved by the stream: nothing is read while nothing happens, the change arrives at once
        hall.page.wait_for_timeout(2500)
        idle = len(reads)
        hall.page.wait_for_timeout(2500)
        assert len(reads) == idle, reads
        assert chair.post(f"/meetings/{mid}/agenda/{first['id']}/activate").status_code == 200
        hall.page.wait_for_selector(f"#hall-item:has-text('{first['title']}')", timeout=3000)
        assert len(reads) <= idle + 2
        hall.check("moved-by-the-stream")

        # a member objects to the consent block's item, after a dialog that states the consequence
        objection = f"#agenda li[data-item-id='{second['id']}'] [data-action=object]"
        a.page.wait_for_selector(objection)
        chair_page.page.wait_for_selector("[data-action=consent]:visible")
        a.check("consent-item-offered")
        a.page.click(objection)
        dialog = a.page.locator("dialog[open]")
        dialog.wait_for()
        assert "sẽ được thảo luận" in dialog.inner_text() and second["title"] in dialog.inner_text()
        a.check("objection-dialog")
        dialog.locator(".dialog-actions button").last.click()
        withdrawn = f"#agenda li[data-item-id='{second['id']}'] .badge.warn"
        a.page.wait_for_selector(withdrawn)
        chair_page.page.wait_for_selector(withdrawn)
        assert a.page.locator(objection).is_hidden()
        chair_page.page.wait_for_selector("[data-action=consent]", state="hidden")
        a.check("objection-recorded")

        # the conclusion form while an item is discussed, and not once the session is closed
        sec.page.wait_for_selector("#conclusion-form:visible")
        sec.page.fill("#conclusion-text", "Thống nhất thông qua.")
        sec.page.click("#conclusion-form button[type=submit]")
        sec.check("conclusion-while-discussed")
        assert chair.post(f"/meetings/{mid}/session/close").status_code == 200
        sec.page.wait_for_selector("#session-state:text-is('Đã bế mạc')")
        assert sec.page.locator("#conclusion-form").is_hidden()
        assert a.page.locator(objection).is_hidden()
        hall.page.wait_for_selector("#hall-status:text-is('Đã bế mạc')", timeout=3000)
        sec.check("closed-no-conclusion-form")
        hall.check("closed")
    finally:
        server.stop(signal.SIGKILL)
