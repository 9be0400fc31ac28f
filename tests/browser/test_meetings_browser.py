"""The secretariat uploads a dossier and publishes; a member opens it and PDF.js paints the first page."""

from __future__ import annotations

import signal

import pytest

from tests.browser.conftest import login
from tests.conftest import TEST_PASSWORD
from tests.documents import corpus
from tests.live.harness import ServerProcess
from tests.meetings.factories import create_meeting

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAINTED = """() => {
  const c = document.getElementById('page-canvas');
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let dark = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && data[i] < 128) dark++;
  return {width: c.width, dark};
}"""


def test_secretariat_uploads_and_publishes_member_reads(app, cast, api, tmp_path, database_url, browser):
    sec = api(cast.secretary)
    meeting = create_meeting(sec, cast)
    mid = meeting["id"]
    sec.post(f"/meetings/{mid}/agenda", json={"title": "Tờ trình dự án Luật Đầu tư công (sửa đổi)",
                                              "presenter": "Bộ Tài chính", "duration_minutes": 30})
    sec.post(f"/meetings/{mid}/participants", json={"user_id": cast.member_a.id, "role": "member"})
    pdf_path = tmp_path / "to-trinh.pdf"
    pdf_path.write_bytes(corpus.valid_pdf(2))
    server = ServerProcess(tmp_path, database_url).start()
    try:
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        login(page, server.url, "secretary", TEST_PASSWORD)
        page.goto(f"{server.url}/meetings/{mid}")
        form = page.locator(".upload-form").first
        form.locator("input[type=file]").set_input_files(str(pdf_path))
        form.locator("input[name=title]").fill("Tờ trình số 398/TTr-BTC")
        form.locator("button[type=submit]").click()
        page.wait_for_selector("a.doc-link:has-text('Tờ trình số 398/TTr-BTC')")
        page.click("#publish")
        page.wait_for_selector("#meeting-status:text-is('Đã phát hành')")

        tablet = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        login(tablet, server.url, "member_a", TEST_PASSWORD)
        tablet.goto(f"{server.url}/meetings/{mid}")
        tablet.wait_for_selector(".badge-new")
        tablet.click("a.doc-link")
        tablet.wait_for_selector("#page-canvas[data-rendered-page='1']", timeout=20000)
        painted = tablet.evaluate(PAINTED)
        assert painted["width"] > 100 and painted["dark"] > 500, painted
        tablet.click("#next")
        tablet.wait_for_selector("#page-canvas[data-rendered-page='2']")
        tablet.fill("#note-text", "Cần làm rõ nguồn vốn")
        tablet.click("#note-save")
        tablet.wait_for_selector("#note-status:text-is('✓')")
    finally:
        server.stop(signal.SIGKILL)
