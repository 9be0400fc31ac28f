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
