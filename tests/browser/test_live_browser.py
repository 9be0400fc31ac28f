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
        member.goto(live)
        member.wait_for_selector("#sync-state.ok")
        chair.wait_for_selector("#sync-state.ok")

        chair.click("[data-action=start]")
        member.wait_for_selector("#sync-state:has-text('#1')")

        member.click("[data-action=checkin]")
        chair.wait_for_selector("#quorum-present:text-is('2')")  # with the chair: two of three, the quorum

        member.click("[data-action=speak]")
        chair.wait_for_selector("#speakers li[data-status=requested]:has-text('Trần Đức Long')")
        chair.click("#speakers li[data-status=requested] button")
        member.wait_for_selector("#speakers li[data-status=granted]:has-text('Trần Đức Long')")

        chair.fill("#vote-form input[name=question]", "Thông qua Tờ trình về dự án Luật?")
        chair.click("#vote-form button[type=submit]")
        member.wait_for_selector(".vote[data-status=open]")
        agree = member.locator(".vote[data-status=open] [data-choice=agree]")
        assert agree.inner_text() == "Tán thành"
        agree.click()
        chair.wait_for_selector(".vote[data-status=open] .muted:has-text('1 /')")
        assert "Biểu quyết" in member.content()
    finally:
        server.stop(signal.SIGKILL)
