"""Every role walks every page within its reach at the three screen sizes, in Vietnamese and in English:
axe-core finds no serious or critical violation, no page is wider than the screen, the console stays clean,
and the English pages show no status or role left in Vietnamese."""

from __future__ import annotations

import signal
from datetime import timedelta

import pytest

from ballots import service as ballots
from ecabinet.database import utcnow
from tests.browser.conftest import login
from tests.browser.screens import SIZES, Screens
from tests.conftest import TEST_PASSWORD
from tests.live.harness import ServerProcess
from tests.meetings.factories import prepared_meeting

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROLES = ["secretary", "chair", "member_a", "delegate", "guest", "admin"]
VIETNAMESE_STATUSES = ["Đã phát hành", "Đang lấy ý kiến", "Thành viên", "Đại biểu mời", "Cần trả lời"]


def test_every_role_walks_its_pages(app, api, cast, tmp_path, database_url, browser):
    meeting = prepared_meeting(api, cast)
    ballot = ballots.create_ballot(title="Dự thảo Nghị định về thu phí", summary="Xin ý kiến.",
                                   questions=["Đồng ý ban hành?"], recipient_ids=[cast.chair.id, cast.member_a.id],
                                   deadline=utcnow() + timedelta(days=2), actor=cast.secretary)
    ballots.issue_ballot(ballot, actor=cast.secretary)
    mid = meeting["id"]
    pages = {"secretary": ["/", "/meetings", f"/meetings/{mid}", f"/meetings/{mid}/minutes", f"/meetings/{mid}/notice",
                           "/ballots", "/ballots/new", f"/ballots/{ballot.id}", "/notices", "/tasks",
                           "/search?q=nghi+dinh"],
             "delegate": ["/", "/meetings", f"/meetings/{mid}", "/ballots", "/tasks"],
             "chair": ["/", "/meetings", f"/meetings/{meeting['id']}", "/ballots", f"/ballots/{ballot.id}",
                       "/notices", "/tasks", "/search?q=nghi+dinh"],
             "member_a": ["/", f"/meetings/{meeting['id']}", "/ballots", f"/ballots/{ballot.id}", "/tasks"],
             "guest": ["/", "/meetings", f"/meetings/{meeting['id']}", "/ballots", "/search?q=bao+cao"],
             "admin": ["/", "/meetings", "/ballots", "/notices", "/tasks", "/admin/users"]}
    server = ServerProcess(tmp_path, database_url).start()
    try:
        for size in SIZES:
            for role in ROLES:
                screens = Screens(browser, f"walk-{role}", size)
                page = screens.page()
                login(page, server.url, role, TEST_PASSWORD)
                for path in pages[role]:
                    page.goto(server.url + path)
                    screens.check(page, path)
                if size == "desktop":
                    page.click("form[action^='/lang/en'] button")
                    for path in pages[role]:
                        page.goto(server.url + path)
                        body = page.inner_text("main")
                        assert not [w for w in VIETNAMESE_STATUSES if w in body], (role, path)
                        screens.check(page, f"en {path}")
                screens.close()
    finally:
        server.stop(signal.SIGKILL)
