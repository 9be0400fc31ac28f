"""Every role walks every page within its reach at the three screen sizes, in Vietnamese and in English:
axe-core finds no serious or critical violation, no page is wider than the screen, the console stays clean,
and the English pages show no status or role left in Vietnamese. The menu offers only what its pages let the
role in to, and the document viewer's icon buttons each carry a tooltip and a Vietnamese name."""

from __future__ import annotations

import signal
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from ballots import service as ballots
from ecabinet.database import utcnow
from tests.browser.conftest import login
from tests.browser.screens import SIZES, Screens
from tests.conftest import TEST_PASSWORD
from tests.live.harness import ServerProcess
from tests.meetings.factories import prepared_meeting

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROLES = ["secretary", "chair", "member_a", "delegate", "guest", "admin"]
#: the roles the opinion ballots are not for: no menu entry, and the list refuses them (403)
NO_BALLOTS = {"guest", "admin"}
#: each icon-only tool of the viewer: the words of its tooltip, which are also its name for a screen reader
VIEWER_TOOLS = {"#toggle-thumbs": "Hình thu nhỏ các trang", "#prev": "Trang trước", "#next": "Trang sau",
                "#fit-width": "Vừa chiều rộng", "#fit-page": "Vừa trang", "#zoom-out": "Thu nhỏ",
                "#zoom-in": "Phóng to", "#toggle-find": "Tìm trong tài liệu", "#toggle-notes": "Ghi chú của tôi",
                "#toggle-marks": "Đánh dấu và ghi chú tay của tôi"}
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
             "member_a": ["/", f"/meetings/{meeting['id']}", "/ballots", f"/ballots/{ballot.id}", "/tasks",
                          f"/documents/{meeting['docs'][0]['id']}/view"],
             "guest": ["/", "/meetings", f"/meetings/{meeting['id']}", "/search?q=bao+cao"],
             "admin": ["/", "/meetings", "/notices", "/tasks", "/admin/users"]}
    server = ServerProcess(tmp_path, database_url).start()
    try:
        for size in SIZES:
            for role in ROLES:
                screens = Screens(browser, f"walk-{role}", size)
                page = screens.page()
                login(page, server.url, role, TEST_PASSWORD)
                _menu_and_route_agree(page, server.url, role)
                for path in pages[role]:
                    page.goto(server.url + path)
                    if path.endswith("/view"):
                        _viewer_tools_are_named(page)
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


def _menu_and_route_agree(page, url: str, role: str) -> None:
    if page.is_visible(".menu-toggle"):
        page.click(".menu-toggle")
    assert page.locator("nav.topnav a[href='/meetings']").is_visible()
    assert page.locator("nav.topnav a[href='/ballots']").count() == (0 if role in NO_BALLOTS else 1), role
    assert page.request.get(f"{url}/ballots").status == (403 if role in NO_BALLOTS else 200), role
    if role not in NO_BALLOTS:
        page.click("nav.topnav a[href='/ballots']")
        page.wait_for_url(f"{url}/ballots")


def _viewer_tools_are_named(page) -> None:
    page.wait_for_selector("#page-canvas")
    for selector, words in VIEWER_TOOLS.items():
        tool = page.locator(selector)
        assert tool.get_attribute("title") == words, selector  # a tooltip where a pointer hovers
        if tool.is_visible():  # and the same words for a screen reader (a phone leaves out some tools)
            expect(tool).to_have_accessible_name(words)
    back = page.locator(".pdf-toolbar > a.btn")
    assert back.get_attribute("title") == back.get_attribute("aria-label") == "Quay lại phiên họp"
