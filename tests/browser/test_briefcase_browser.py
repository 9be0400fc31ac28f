"""The offline briefcase in Debian Chromium: a member takes a meeting offline, the browser context goes offline,
the agenda and a dossier open in the viewer from the encrypted copies and a note is written; back online the
note reaches the server. A remote wipe (from the secretariat's control) and a logout each delete the copies;
a Tối mật meeting offers none and the API refuses it; the service worker keeps nobody's pages."""

from __future__ import annotations

import signal
import time

import pytest
from sqlalchemy import select

from documents.models import PageNote
from ecabinet.auth.models import Confidentiality
from ecabinet.database import db
from tests.browser.conftest import login
from tests.browser.screens import SIZES, Screens
from tests.browser.test_meetings_browser import PAINTED
from tests.conftest import TEST_PASSWORD
from tests.live.harness import ServerProcess
from tests.meetings.factories import create_meeting, prepared_meeting

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OFFLINE = "ERR_INTERNET_DISCONNECTED"  # what Chromium logs for a request made while offline
# how many rows a store of the briefcase holds, without creating the database when there is none
STORED = """async (store) => {
  if (!(await indexedDB.databases()).some((d) => d.name === 'ecabinet-briefcase')) return 0;
  return await new Promise((resolve) => {
    const request = indexedDB.open('ecabinet-briefcase');
    request.onsuccess = () => {
      const db = request.result;
      const count = db.transaction(store).objectStore(store).count();
      count.onsuccess = () => { db.close(); resolve(count.result); };
    };
  });
}"""
# the first bytes of the first stored dossier as the device keeps it
FIRST_BLOB = """async () => await new Promise((resolve) => {
  const request = indexedDB.open('ecabinet-briefcase');
  request.onsuccess = () => {
    const db = request.result;
    const cursor = db.transaction('documents').objectStore('documents').openCursor();
    cursor.onsuccess = () => {
      const bytes = new Uint8Array(cursor.result.value.pdf.data);
      db.close();
      resolve(String.fromCharCode(...bytes.slice(0, 5)));
    };
  };
})"""
CACHED = """async () => {
  const urls = [];
  for (const name of await caches.keys()) {
    for (const request of await (await caches.open(name)).keys()) urls.push(new URL(request.url).pathname);
  }
  return urls;
}"""


@pytest.fixture
def server(app, tmp_path, database_url):
    process = ServerProcess(tmp_path, database_url).start()
    yield process
    process.stop(signal.SIGKILL)


def _worker_ready(page) -> None:
    page.evaluate("async () => { await navigator.serviceWorker.ready; }")


def _take_offline(screens: Screens, page, url: str, mid: int) -> None:
    page.goto(f"{url}/meetings/{mid}")
    _worker_ready(page)
    page.click("#briefcase-take")
    page.wait_for_selector("#briefcase-open:visible", timeout=20000)
    assert "Đã có trên thiết bị này" in page.inner_text("#briefcase-state")
    screens.check(page, "meeting taken offline")


def _read_offline(screens: Screens, page, url: str, mid: int, doc_title: str) -> None:
    screens.context.set_offline(True)
    page.goto(f"{url}/meetings/{mid}")
    page.wait_for_selector("#briefcase-meeting:visible")
    assert page.inner_text("#briefcase-network").startswith("Thiết bị đang ngoại tuyến")
    assert page.locator("#briefcase-agenda .item-title").all_inner_texts() == [
        "1. Tình hình kinh tế - xã hội", "2. Dự án Luật Đầu tư công"]
    screens.errors[:] = [e for e in screens.errors if OFFLINE not in e]
    screens.check(page, "offline agenda")
    # an "online" event while the network is still down (Chromium fires such pairs; so does a flapping
    # Wi-Fi) must not reload the page and throw away the member's next tap: the server is asked first
    page.evaluate("""() => {
      window.kept = true;
      Object.defineProperty(navigator, 'onLine', { get: () => true, configurable: true });
      window.dispatchEvent(new Event('online'));
    }""")
    page.wait_for_event("requestfailed", lambda r: r.method == "HEAD" and r.url.endswith("/briefcase"), timeout=10000)
    assert page.evaluate("window.kept === true"), "the agenda reloaded on an online event without a network"
    page.evaluate("delete navigator.onLine")
    screens.errors[:] = [e for e in screens.errors if OFFLINE not in e]
    page.click(f"#briefcase-agenda a.doc-link:has-text('{doc_title}')")
    # decrypting the copy and pdf.js's first page take seconds on a loaded 2-core machine
    page.wait_for_selector("#page-canvas[data-rendered-page='1']", timeout=60000)
    painted = page.evaluate(PAINTED)
    assert painted["width"] > 100 and painted["dark"] > 500, painted
    assert page.inner_text(".pdf-title") == doc_title


def _note_offline(screens: Screens, page, text: str) -> None:
    if page.is_hidden("#notes"):
        page.click("#toggle-notes")
    page.fill("#note-text", text)
    page.click("#note-save")
    page.wait_for_selector("#note-status:has-text('Đã lưu trên thiết bị')")
    screens.errors[:] = [e for e in screens.errors if OFFLINE not in e]
    screens.check(page, "offline viewer with a note")
    # fit to width, notes open: no sideways scrolling, and on an iPad or a phone the notes go below the page,
    # which keeps the screen's width (beside it, an iPad in portrait drew the page at 9 px text)
    page.wait_for_function("""() => { const s = document.querySelector('.pdf-stage');
      const c = document.getElementById('page-canvas');
      return s.scrollWidth <= s.clientWidth + 2 && c.getBoundingClientRect().width >= s.clientWidth - 40; }""",
                           timeout=20000)
    if screens.size != "desktop":
        width = page.evaluate("document.getElementById('page-canvas').getBoundingClientRect().width")
        assert width >= 0.85 * page.viewport_size["width"], width


def _server_note(document_id: int, user_id: int) -> str | None:
    db.session.rollback()
    return db.session.scalar(select(PageNote.text).where(PageNote.document_id == document_id,
                                                         PageNote.user_id == user_id))


def test_a_member_reads_offline_and_the_note_reaches_the_server_back_online(app, cast, api, server, browser):
    meeting = prepared_meeting(api, cast)
    mid, doc = meeting["id"], meeting["docs"][0]["id"]
    for size in SIZES:
        screens = Screens(browser, "briefcase-member", size)
        page = screens.page()
        login(page, server.url, "member_a", TEST_PASSWORD)
        _take_offline(screens, page, server.url, mid)
        assert page.evaluate(FIRST_BLOB) != "%PDF-"  # the device keeps ciphertext, never the PDF itself
        _read_offline(screens, page, server.url, mid, "Hồ sơ 1")
        text = f"Làm rõ nguồn vốn ({size})"
        _note_offline(screens, page, text)
        assert _server_note(doc, cast.member_a.id) != text

        screens.context.set_offline(False)
        page.goto(f"{server.url}/meetings/{mid}")
        deadline = time.monotonic() + 20
        while _server_note(doc, cast.member_a.id) != text and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        assert _server_note(doc, cast.member_a.id) == text
        assert page.evaluate(STORED, "queue") == 0
        cached = page.evaluate(CACHED)
        assert "/briefcase/view" in cached and "/static/vendor/pdf.worker.min.mjs" in cached
        assert not [path for path in cached if path.startswith(("/api/", "/documents/", "/meetings/"))], cached
        screens.close()


def test_a_remote_wipe_deletes_the_copies_at_the_next_contact(app, cast, api, server, browser):
    meeting = prepared_meeting(api, cast)
    mid = meeting["id"]
    member = Screens(browser, "briefcase-wipe-member", "tablet")
    tablet = member.page()
    login(tablet, server.url, "member_a", TEST_PASSWORD)
    _take_offline(member, tablet, server.url, mid)
    assert tablet.evaluate(STORED, "documents") == 2
    # a new tab has no key (it lives in the logged-in tab's memory): offline, the copies stay locked
    member.context.set_offline(True)
    other_tab = member.page()
    other_tab.goto(f"{server.url}/briefcase")
    other_tab.wait_for_selector("#briefcase-locked:visible")
    assert other_tab.locator("#briefcase-meeting").is_hidden()
    other_tab.close()
    member.context.set_offline(False)
    member.errors.clear()  # the requests the offline tab could not make

    secretariat = Screens(browser, "briefcase-wipe-secretariat", "desktop")
    desk = secretariat.page()
    login(desk, server.url, "secretary", TEST_PASSWORD)
    desk.goto(f"{server.url}/meetings/{mid}")
    holder = desk.locator(f"#briefcase-holders li:has-text('{cast.member_a.full_name}')")
    holder.wait_for()
    assert holder.locator(".badge").inner_text() == "Đang giữ bản sao"
    secretariat.check(desk, "devices holding the meeting")
    holder.locator("button.wipe").click()
    desk.wait_for_selector("dialog[open]")
    secretariat.check(desk, "confirm the remote wipe")
    desk.click("dialog[open] .btn-danger")
    desk.wait_for_selector(f"#briefcase-holders li:has-text('{cast.member_a.full_name}') .badge:text-is('Đã xóa từ xa')")
    secretariat.check(desk, "device wiped")
    secretariat.close()

    # the tablet's next contact: its login has ended, and before anyone logs in the copies are gone
    tablet.goto(f"{server.url}/meetings/{mid}")
    tablet.wait_for_url(f"{server.url}/login**")
    deadline = time.monotonic() + 10
    while tablet.evaluate(STORED, "documents") and time.monotonic() < deadline:
        tablet.wait_for_timeout(200)
    assert tablet.evaluate(STORED, "documents") == 0
    assert tablet.evaluate(STORED, "meta") == 0
    assert tablet.evaluate("sessionStorage.getItem('ecabinet:briefcase-key')") is None
    member.context.set_offline(True)
    tablet.goto(f"{server.url}/meetings/{mid}")
    tablet.wait_for_selector("#briefcase-empty:visible")
    member.close()


def test_logout_deletes_the_briefcase_and_the_next_user_finds_nothing(app, cast, api, server, browser):
    meeting = prepared_meeting(api, cast)
    screens = Screens(browser, "briefcase-logout", "desktop")
    page = screens.page()
    login(page, server.url, "member_a", TEST_PASSWORD)
    _take_offline(screens, page, server.url, meeting["id"])
    page.click("form[data-logout] button")
    page.wait_for_url(f"{server.url}/login**")
    assert page.evaluate(STORED, "documents") == 0 and page.evaluate(STORED, "meta") == 0
    assert page.evaluate("sessionStorage.getItem('ecabinet:briefcase-key')") is None

    login(page, server.url, "member_b", TEST_PASSWORD)
    page.goto(f"{server.url}/briefcase")
    page.wait_for_selector("#briefcase-empty:visible")
    screens.check(page, "empty briefcase")
    cached = page.evaluate(CACHED)
    assert not [path for path in cached if path.startswith(("/api/", "/documents/", "/meetings/"))], cached
    screens.close()


def test_a_toi_mat_meeting_offers_no_offline_copy_and_the_api_refuses(app, cast, api, server, browser):
    cast.secretary.clearance = cast.member_a.clearance = cast.chair.clearance = Confidentiality.TOP_SECRET
    db.session.commit()
    sec = api(cast.secretary)
    meeting = create_meeting(sec, cast, confidentiality="secret", title="Phiên họp chuyên đề quốc phòng")
    sec.post(f"/meetings/{meeting['id']}/participants", json={"user_id": cast.member_a.id, "role": "member"})
    assert sec.post(f"/meetings/{meeting['id']}/publish").status_code == 200
    screens = Screens(browser, "briefcase-toi-mat", "phone")
    page = screens.page()
    login(page, server.url, "member_a", TEST_PASSWORD)
    page.goto(f"{server.url}/meetings/{meeting['id']}")
    page.wait_for_selector("#briefcase-refused")
    assert page.locator("#briefcase-take").count() == 0
    screens.check(page, "toi mat meeting")
    answer = page.evaluate("""async (mid) => {
      const headers = {'Content-Type': 'application/json',
                       'X-CSRFToken': document.querySelector('meta[name=csrf-token]').content};
      const key = await (await fetch('/api/v1/briefcase/key', {method: 'POST', headers, body: '{}'})).json();
      const refused = await fetch(`/api/v1/briefcase/meetings/${mid}`,
                                  {method: 'POST', headers, body: JSON.stringify({key_id: key.key_id})});
      return [refused.status, (await refused.json()).error.code];
    }""", meeting["id"])
    assert answer == [403, "briefcase_level_too_high"]
    screens.errors.clear()  # the refusal the step asked for, logged by the browser
    screens.close()
