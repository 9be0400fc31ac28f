"""The notice editor, the task list and tracker, and the links from the meeting and home pages."""

from __future__ import annotations

import pytest

from tests.live.scenario import published_meeting
from tests.meetings.test_pages import browser_login

from .conftest import issued_notice, tasks_for


def test_the_secretariat_creates_the_draft_from_the_meeting_page(app, concluded):
    client = browser_login(app, "secretary")
    meeting_page = client.get(f"/meetings/{concluded.meeting_id}").get_data(as_text=True)
    assert f"/meetings/{concluded.meeting_id}/notice" in meeting_page and "Thông báo kết luận" in meeting_page
    page = client.get(f"/meetings/{concluded.meeting_id}/notice").get_data(as_text=True)
    assert 'id="create-notice"' in page and "Lập dự thảo" in page and "notices.js" in page
    script = client.get("/static/notices/notices.js")
    assert script.status_code == 200 and "javascript" in script.mimetype
    script.close()


def test_the_editor_shows_the_draft_with_its_tasks(app, concluded, cast):
    concluded.clients["secretary"].post(f"/meetings/{concluded.meeting_id}/notices",
                                        json={"tasks": tasks_for(cast, concluded)})
    page = browser_login(app, "secretary").get(f"/meetings/{concluded.meeting_id}/notice").get_data(as_text=True)
    for expected in ('id="intro-form"', 'id="task-form"', 'id="issue-notice"', "Bộ Tài chính", "Xem trước (PDF)",
                     "Chính phủ thống nhất trình Quốc hội"):
        assert expected in page, expected


@pytest.mark.parametrize(("who", "sees"), [("member_a", True), ("guest", False)])
def test_members_read_the_issued_notice(app, concluded, cast, who, sees):
    issued_notice(cast, concluded)
    page = browser_login(app, who).get(f"/meetings/{concluded.meeting_id}/notice").get_data(as_text=True)
    assert ("01/TB-VPCP" in page) is sees
    assert 'id="issue-notice"' not in page and 'id="task-form"' not in page


def test_the_member_sees_their_tasks_and_the_secretariat_all(app, concluded, cast):
    issued_notice(cast, concluded)
    member = browser_login(app, "member_a")
    mine = member.get("/tasks").get_data(as_text=True)
    assert "Hoàn thiện hồ sơ dự án Luật trình Quốc hội" in mine and "Rà soát chi phí" not in mine
    assert "Nhiệm vụ của tôi" in mine and 'data-action="done"' not in mine and "Báo cáo tiến độ" in mine
    home = member.get("/").get_data(as_text=True)
    assert "Nhiệm vụ của tôi" in home and "Hoàn thiện hồ sơ dự án Luật" in home
    tracker = browser_login(app, "secretary").get("/tasks?status=open").get_data(as_text=True)
    assert "Rà soát chi phí" in tracker and 'data-action="done"' in tracker
    assert browser_login(app, "secretary").get("/notices").status_code == 200


def test_no_notice_link_before_the_session_closes(app, cast):
    meeting_id = published_meeting(cast).meeting.id
    client = browser_login(app, "secretary")
    assert f"/meetings/{meeting_id}/notice" not in client.get(f"/meetings/{meeting_id}").get_data(as_text=True)
    page = client.get(f"/meetings/{meeting_id}/notice").get_data(as_text=True)
    assert 'id="create-notice"' not in page
    assert browser_login(app, "outsider").get(f"/meetings/{meeting_id}/notice").status_code == 404
