"""The browser pages: who sees them, and the viewer's libraries served by the app itself."""

from __future__ import annotations

import pytest

from tests.conftest import TEST_PASSWORD
from tests.meetings.factories import prepared_meeting


def browser_login(app, username):
    client = app.test_client()
    client.get("/login")
    response = client.post("/login", data={"username": username, "password": TEST_PASSWORD,
                                           "csrf_token": _csrf(client)})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def _csrf(client):
    import re

    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


@pytest.mark.parametrize(("who", "status"), [("secretary", 200), ("chair", 200), ("member_a", 200),
                                              ("guest", 200), ("outsider", 404)])
def test_meeting_page(app, api, cast, who, status):
    m = prepared_meeting(api, cast)
    client = browser_login(app, who)
    response = client.get(f"/meetings/{m['id']}")
    assert response.status_code == status
    if status == 200:
        page = response.get_data(as_text=True)
        assert ("Hồ sơ 1" in page) is (who != "guest")
        assert ("upload-form" in page) is (who == "secretary")
        # the state's colour comes with its word: a published meeting is not drawn like a draft or a closed one
        assert 'class="badge state-published" id="meeting-status">Đã phát hành<' in page


def test_viewer_and_vendor_files(app, api, cast):
    m = prepared_meeting(api, cast)
    client = browser_login(app, "member_a")
    page = client.get(f"/documents/{m['docs'][0]['id']}/view")
    assert page.status_code == 200 and "viewer.js" in page.get_data(as_text=True)
    assert client.get(f"/documents/{m['docs'][0]['id']}/view").status_code == 200
    for name in ("pdf.min.mjs", "pdf.worker.min.mjs", "socket.io.min.js"):
        response = client.get(f"/static/vendor/{name}")
        assert response.status_code == 200, name
        assert "javascript" in response.mimetype
        response.close()
    assert client.get("/static/vendor/../package.json").status_code == 404
    assert browser_login(app, "outsider").get(f"/documents/{m['docs'][0]['id']}/view").status_code == 404


def test_home_lists_my_meetings(app, api, cast):
    prepared_meeting(api, cast)
    assert "Phiên họp Chính phủ thường kỳ" in browser_login(app, "member_a").get("/").get_data(as_text=True)
    assert "Phiên họp Chính phủ thường kỳ" not in browser_login(app, "outsider").get("/").get_data(as_text=True)


def test_a_postponed_meeting_says_so_in_its_badge(app, api, cast):
    m = prepared_meeting(api, cast)
    client = browser_login(app, "member_a")
    assert 'id="meeting-status">Đã phát hành<' in client.get(f"/meetings/{m['id']}").get_data(as_text=True)
    assert api(cast.secretary).post(f"/meetings/{m['id']}/postpone", json={
        "reason": "Chờ ý kiến Bộ Chính trị", "starts_at": "2027-01-05T08:30:00+07:00"}).status_code == 200
    page = client.get(f"/meetings/{m['id']}").get_data(as_text=True)
    assert 'id="meeting-status">Đã hoãn<' in page and "05/01/2027 08:30" in page
    listing = client.get("/meetings").get_data(as_text=True)
    row = listing[listing.index(f"/meetings/{m['id']}"):]
    assert "Đã hoãn" in row[:row.index("</li>")] and "(giờ Hà Nội)" in row[:row.index("</li>")]


def test_document_lines_show_the_title_and_no_empty_part(app, api, cast):
    import io

    from tests.documents import corpus

    m = prepared_meeting(api, cast)
    form = {"file": (io.BytesIO(corpus.valid_pdf(1)), "bao-cao.pdf"), "title": "Báo cáo thẩm định", "doc_type": "",
            "confidentiality": "normal"}
    assert api(cast.secretary).post(f"/meetings/{m['id']}/agenda/{m['items'][0]['id']}/documents", data=form,
                                    content_type="multipart/form-data").status_code == 201
    page = browser_login(app, "member_a").get(f"/meetings/{m['id']}").get_data(as_text=True)

    def meta(title):
        line = page[page.index(f"<strong>{title}</strong>"):]
        # the separator is glued to the part before it, so a wrapped line never starts with "·"
        return line[line.index("<small>") + len("<small>"):line.index("</small>")].strip().replace("\xa0·", " ·")

    assert meta("Hồ sơ 1") == "Tờ trình · 3 trang · phiên bản 1 · Thường"
    assert meta("Báo cáo thẩm định") == "1 trang · phiên bản 1 · Thường"  # no type: no leading "·"
    assert "bao-cao" not in page


def test_home_names_the_roles_without_a_stray_separator_and_links_the_admin_pages(app, cast):
    page = browser_login(app, "admin").get("/").get_data(as_text=True)
    assert 'href="/admin/users"' in page and "Tài khoản" in page
    assert '<p class="muted">·' not in page and '<p class="muted"> ·' not in page
    assert 'href="/admin/users"' not in browser_login(app, "member_a").get("/").get_data(as_text=True)
