"""Conclusion notice and follow-up tasks from the pages alone, at each screen size: the secretariat draws up the
notice of a closed meeting, gives it tasks and issues it; the owner reports progress; past its deadline the task
is flagged overdue in the tracker, which filters by owner and state and shows each task's history."""

from __future__ import annotations

import signal
from datetime import timedelta

import pytest

from ecabinet.database import db
from meetings.notices import service
from meetings.notices.models import NoticeTask
from tests.browser.conftest import login
from tests.browser.screens import SIZES, Screens, open_section
from tests.conftest import TEST_PASSWORD
from tests.live.harness import ServerProcess
from tests.notices.conftest import ministries, run_session  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
INTRO = "Ngày 05 tháng 12 năm 2026, Chính phủ họp phiên thường kỳ. Văn phòng Chính phủ thông báo kết luận như sau."
LAW_TASK = "Hoàn thiện hồ sơ dự án Luật Đất đai (sửa đổi) trình Quốc hội"
HEALTH_TASK = "Rà soát chi phí khám chữa bệnh trong dự thảo Nghị định"
PROGRESS = "Đã gửi dự thảo lần 2 cho Bộ Tư pháp thẩm định."


def _add_task(page, description: str, owner_id: int, days: int, *, item: bool) -> None:
    form = "#task-form"
    page.fill(f"{form} textarea[name=description]", description)
    if item:
        page.select_option(f"{form} select[name=agenda_item_id]", index=1)
    page.select_option(f"{form} select[name=owner_user_id]", str(owner_id))
    deadline = service.today() + timedelta(days=days)
    page.fill(f"{form} input[name=deadline]", deadline.isoformat())
    assert page.inner_text(f"{form} .dt-echo") == f"Đã chọn: {deadline:%d/%m/%Y}"  # whatever the browser draws
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector(f"#notice-tasks li:has-text('{description}')")


@pytest.mark.parametrize("size", list(SIZES))
def test_notice_to_tasks_progress_overdue_and_the_tracker(cast, api, ministries, database_url, tmp_path,  # noqa: F811
                                                          browser, size):
    meeting_id = run_session(cast, api).meeting_id
    server = ServerProcess(tmp_path, database_url).start()
    try:
        _secretariat_issues_the_notice(browser, server.url, size, meeting_id, cast)
        _owner_reports_progress(browser, server.url, size)
        db.session.rollback()  # see what the server process wrote
        task = db.session.query(NoticeTask).filter_by(description=LAW_TASK).one()
        task.deadline = service.today() - timedelta(days=1)  # the deadline passes
        db.session.commit()
        _tracker_flags_filters_and_shows_history(browser, server.url, size, task.id, cast)
    finally:
        server.stop(signal.SIGKILL)


def _secretariat_issues_the_notice(browser, url: str, size: str, meeting_id: int, cast) -> None:
    screens = Screens(browser, "tasks-secretariat", size)
    page = screens.page()
    login(page, url, "secretary", TEST_PASSWORD)
    page.goto(f"{url}/meetings/{meeting_id}/notice")
    screens.check(page, "no notice yet")
    page.click("#create-notice")
    page.wait_for_selector("#intro-form")
    page.fill("#intro-form textarea[name=intro]", INTRO)
    with page.expect_navigation():  # saved, the page reloads with the text from the server
        page.click("#intro-form button[type=submit]")
    assert page.input_value("#intro-form textarea[name=intro]") == INTRO
    _add_task(page, LAW_TASK, cast.member_a.id, 30, item=True)
    _add_task(page, HEALTH_TASK, cast.member_b.id, 45, item=False)
    screens.check(page, "draft notice with its tasks")
    page.click("#issue-notice")
    page.wait_for_selector(".notice-intro")
    intro, conclusions = page.locator(".notice-intro").bounding_box(), page.locator(".conclusions").bounding_box()
    assert intro["y"] < conclusions["y"]  # in the order of the document: the opening text first
    assert page.inner_text(".notice-intro") == INTRO
    screens.check(page, "issued notice")
    page.click(".notice-doc ~ section a[href='/tasks']")
    page.wait_for_selector("#tasks")
    assert page.locator("#tasks li[data-task-id]").count() == 2
    screens.check(page, "the tracker")
    screens.close()


def _owner_reports_progress(browser, url: str, size: str) -> None:
    screens = Screens(browser, "tasks-owner", size)
    page = screens.page()
    login(page, url, "member_a", TEST_PASSWORD)
    open_section(page, "/tasks")
    cards = page.locator("#tasks li[data-task-id]")
    assert cards.count() == 1 and LAW_TASK in cards.first.inner_text()  # only the owner's own task
    assert "Chưa thực hiện" in cards.first.locator(".status").inner_text()
    screens.check(page, "my tasks")
    cards.first.locator("textarea[name=note]").fill(PROGRESS)
    cards.first.locator(".progress-form button[type=submit]").click()
    page.wait_for_selector(f"#tasks .note:has-text('{PROGRESS}')")
    card = page.locator("#tasks li[data-task-id]").first
    assert "Đang thực hiện" in card.locator(".status").inner_text()
    card.locator("details summary").click()
    history = card.locator("ol.history").inner_text()
    assert "Báo cáo tiến độ" in history and PROGRESS in history
    screens.check(page, "progress reported, its history")
    screens.close()


def _tracker_flags_filters_and_shows_history(browser, url: str, size: str, task_id: int, cast) -> None:
    screens = Screens(browser, "tasks-tracker", size)
    page = screens.page()
    login(page, url, "secretary", TEST_PASSWORD)
    page.goto(f"{url}/tasks")
    late = page.locator(f"#task-{task_id}")
    assert "overdue" in (late.get_attribute("class") or "")
    assert late.locator(".status").inner_text() == "⚠ Quá hạn"
    screens.check(page, "an overdue task flagged")

    page.select_option("#tasks-filter select[name=owner]", str(cast.member_a.id))
    page.click("#tasks-filter button[type=submit]")
    page.wait_for_url(f"**/tasks?owner={cast.member_a.id}*")
    shown = [page.locator("#tasks li[data-task-id] .task-meta").nth(i).inner_text()
             for i in range(page.locator("#tasks li[data-task-id]").count())]
    assert len(shown) == 1 and cast.member_a.full_name in shown[0]
    screens.check(page, "filtered by owner")

    page.select_option("#tasks-filter select[name=owner]", "")
    page.select_option("#tasks-filter select[name=status]", "overdue")
    page.click("#tasks-filter button[type=submit]")
    page.wait_for_url("**/tasks?owner=&status=overdue")
    assert [page.locator("#tasks li[data-task-id]").nth(i).get_attribute("data-task-id")
            for i in range(page.locator("#tasks li[data-task-id]").count())] == [str(task_id)]
    late.locator("details summary").click()
    assert PROGRESS in late.locator("ol.history").inner_text()
    screens.check(page, "filtered by state, the history open")

    late.locator("[data-action=done]").click()
    page.wait_for_selector("#tasks li[data-task-id]", state="detached")  # done: no longer among the overdue
    page.goto(f"{url}/tasks?status=done")
    done = page.locator(f"#task-{task_id}")
    assert done.locator(".status").inner_text() == "Đã hoàn thành"
    done.locator("details summary").click()
    assert done.locator("ol.history li").count() == 2
    screens.check(page, "marked done")
    screens.close()
