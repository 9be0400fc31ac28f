"""The bell at the three screen sizes: its count rises live when a meeting is published, the list opens the
meeting and marks it read; the settings screen and the secretariat's outbox pass the same checks."""

from __future__ import annotations

import signal
from datetime import timedelta

import pytest
import requests

from ecabinet.database import db, utcnow
from meetings import service as meetings
from tests.browser.conftest import login
from tests.browser.screens import SIZES, Screens
from tests.conftest import TEST_PASSWORD, issue_token
from tests.live.harness import ServerProcess
from tests.notifications.conftest import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_bell_counts_live_and_an_opened_notification_is_read(app, cast, database_url, tmp_path, browser):
    ids = {}
    for size in SIZES:
        meeting = meetings.create_meeting(title=f"Phiên họp chuyên đề về chuyển đổi số ({size})", kind="thematic",
                                          starts_at=utcnow() + timedelta(days=3), location="Trụ sở Chính phủ",
                                          chair_id=cast.chair.id, actor=cast.secretary)
        meetings.add_participant(meeting, user_id=cast.member_a.id, role="member", actor=cast.secretary)
        ids[size] = meeting.id
    cast.member_a.email = "member_a@gov.test"
    db.session.commit()
    token = issue_token(cast.secretary)
    server = ServerProcess(tmp_path, database_url)
    # a mail server that is down: the secretariat's outbox shows each mail failed, and why
    server.env.update(ECABINET_SMTP_URL=f"smtp://127.0.0.1:{free_port()}", ECABINET_MAIL_MAX_ATTEMPTS="1")
    server.start()
    try:
        for size, meeting_id in ids.items():
            _member_sees_the_bell(browser, server.url, size, meeting_id, token)
            _secretariat_sees_the_outbox(browser, server.url, size)
    finally:
        server.stop(signal.SIGKILL)
    db.session.rollback()


def _member_sees_the_bell(browser, url: str, size: str, meeting_id: int, token: str) -> None:
    screens = Screens(browser, "notification-bell", size)
    page = screens.page()
    login(page, url, "member_a", TEST_PASSWORD)
    page.wait_for_selector("#bell[data-live]", state="attached")
    before = int(page.locator("#bell-count").text_content())
    assert page.locator("#bell-count").evaluate("e => getComputedStyle(e).backgroundColor") != "rgb(179, 22, 27)"
    screens.check(page, "home with the bell")
    with requests.Session() as http:
        published = http.post(f"{url}/api/v1/meetings/{meeting_id}/publish",
                              headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert published.status_code == 200, published.text
    page.wait_for_function(f"document.getElementById('bell-count').textContent === '{before + 1}'")
    assert page.locator("#bell-count").is_visible()
    assert f"{before + 1} chưa đọc" in page.get_attribute("#bell", "aria-label")
    page.wait_for_function("document.getElementById('announce-polite').textContent.includes('chưa đọc')")
    screens.check(page, "the bell counts the invitation live")

    page.focus("#bell")
    page.keyboard.press("Enter")  # the bell is a link: the keyboard opens it
    page.wait_for_url(f"{url}/notifications")
    item = page.locator("#notification-list li.unread").first
    assert "Phiên họp chuyên đề về chuyển đổi số" in item.text_content()
    screens.check(page, "the list with the new notification")
    item.locator("a").click()
    page.wait_for_url(f"{url}/meetings/{meeting_id}")
    page.wait_for_selector("#bell[data-live]", state="attached")
    assert page.locator("#bell-count").text_content() == str(before)
    screens.check(page, "the meeting opened from the notification")
    page.goto(f"{url}/notifications")
    assert page.locator("#notification-list li.unread").count() == before
    screens.check(page, "the list with it read")

    page.click("a[href='/notifications/settings']")
    page.select_option("select[name='channel-ballot.issued']", "app")
    page.click("#notification-settings button[type=submit]")
    page.wait_for_selector(".notice-ok")
    assert page.locator("select[name='channel-ballot.issued']").input_value() == "app"
    screens.check(page, "settings saved")
    screens.close()


def _secretariat_sees_the_outbox(browser, url: str, size: str) -> None:
    screens = Screens(browser, "notification-outbox", size)
    page = screens.page()
    login(page, url, "secretary", TEST_PASSWORD)
    page.goto(f"{url}/outbox?state=failed")
    assert page.locator("h1").text_content() == "Hộp thư đi"
    assert "ConnectionRefusedError" in page.locator(".outbox-table tbody tr").first.text_content()
    # below 900 px each mail is a card: what it is about reads across the card, not in a column a word wide
    spans = page.locator(".outbox-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.querySelector('.mail-about').getBoundingClientRect().width / r.getBoundingClientRect().width)")
    assert spans and all(share > 0.9 if size != "desktop" else share < 0.5 for share in spans), spans
    # the counts by state are neutral; only a count of failures is red, and here it sits on the chosen filter
    assert set(page.locator(".outbox-filter .count:not(.alert)").evaluate_all(
        "els => els.map(e => getComputedStyle(e).backgroundColor)")) == {"rgb(230, 233, 238)"}
    screens.check(page, "the outbox with a failed mail and why")
    screens.close()
