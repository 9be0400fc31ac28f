"""The chair's console and a member's tablet, in two browsers, update each other live."""

from __future__ import annotations

import signal

import pytest

from tests.browser.conftest import login
from tests.conftest import TEST_PASSWORD
from tests.live.harness import ServerProcess
from tests.live.scenario import published_meeting

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_chair_and_member_pages_update_each_other(app, cast, database_url, tmp_path, browser):
    scenario = published_meeting(cast, present=[cast.chair])
    server = ServerProcess(tmp_path, database_url).start()
    try:
        chair = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        member = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        login(chair, server.url, "chair", TEST_PASSWORD)
        login(member, server.url, "member_a", TEST_PASSWORD)
        live = f"{server.url}/meetings/{scenario.meeting.id}/live"
        chair.goto(live)
        sockets: list[str] = []
        member.on("websocket", lambda ws: sockets.append(ws.url))
        member.goto(live)
        member.wait_for_selector("#sync-state.ok")
        chair.wait_for_selector("#sync-state.ok")
        # the room and the bell share the page's one connection: 50 tablets are 50 sockets, not 100
        member.wait_for_selector("#bell[data-live]", state="attached")
        assert len(sockets) == 1, sockets

        chair.click("[data-action=start]")
        chair.click("dialog[open] .dialog-actions button >> nth=-1")
        member.wait_for_selector("#sync-state[title='Sự kiện số 1']")  # the event number on demand only
        member.wait_for_selector("#session-state:text-is('Đang họp')")

        member.click("[data-action=checkin]")
        chair.wait_for_selector("#quorum:has-text('2 có mặt')")  # with the chair: two of three, the quorum

        member.click("[data-action=speak]")
        chair.wait_for_selector("#speakers li[data-status=requested]:has-text('Trần Đức Long')")
        chair.click("#speakers li[data-status=requested] [data-action=grant]")
        member.wait_for_selector("#current-speaker:has-text('Trần Đức Long')")
        member.wait_for_selector("#floor-banner:has-text('Mời đồng chí phát biểu')")

        chair.fill("#vote-question", "Thông qua Tờ trình về dự án Luật?")
        chair.click("#vote-form button[type=submit]")
        member.wait_for_selector("#vote-live:visible")
        agree = member.locator("#vote-live [data-choice=agree]")
        assert agree.inner_text() == "Tán thành"
        agree.click()
        chair.wait_for_selector("#vote-live-progress:has-text('1 phiếu')")
        assert "Biểu quyết" in member.content()
        assert len(sockets) == 1, sockets
    finally:
        server.stop(signal.SIGKILL)
