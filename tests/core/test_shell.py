"""The app-wide shell: the favicon, one date format in Hanoi time, codes shown through one label table,
the top bar's five sections."""

from __future__ import annotations

from datetime import UTC, date, datetime

from ecabinet.web import hanoi, hanoi_date, label
from tests.meetings.test_pages import browser_login


def test_the_favicon_is_served(client):
    with client.get("/favicon.ico", follow_redirects=True) as response:
        assert response.status_code == 200 and response.mimetype == "image/svg+xml"
        assert b"<svg" in response.data


def test_dates_are_shown_in_hanoi_time_one_way():
    assert hanoi(datetime(2026, 12, 7, 17, 5, tzinfo=UTC)) == "08/12/2026 00:05"
    assert hanoi("2026-12-07T08:30:00+07:00") == "07/12/2026 08:30"
    assert hanoi(datetime(2026, 12, 7, 1, 5)) == "07/12/2026 08:05"  # noqa: DTZ001 (a naive value read from SQLite is UTC)
    assert hanoi(date(2027, 1, 5)) == hanoi_date("2027-01-05T10:00:00+07:00") == "05/01/2027"
    assert hanoi(None) == "" and hanoi("") == ""


def test_codes_are_translated_through_the_table(app):
    from flask import session
    from flask_babel import refresh

    with app.test_request_context():
        session["lang"] = "en"  # what the top bar's language button sets
        refresh()
        assert label("published", "meeting_status") == "Published"
        assert label("other", "choice") == "Other opinion"
    with app.test_request_context():
        refresh()  # the locale is remembered per application context, which both requests share here
        assert label("published", "meeting_status") == "Đã phát hành"
        assert label("overdue", "task_status") == "Quá hạn"
        assert label("secretary", "role") == "Văn phòng Chính phủ"
        assert [label(level, "confidentiality") for level in ("normal", "confidential", "secret", "top_secret")] \
            == ["Thường", "Mật", "Tối mật", "Tuyệt mật"]  # never the secret ballot's words
        assert label("something_new", "meeting_status") == "something_new"  # never a blank


def test_the_top_bar_links_every_section(app, cast):
    page = browser_login(app, "member_a").get("/ballots").get_data(as_text=True)
    for href in ("/meetings", "/ballots", "/notices", "/tasks", "/search"):
        assert f'href="{href}"' in page
    assert '<a href="/ballots" aria-current="page">Phiếu lấy ý kiến</a>' in page
    assert 'class="menu-toggle"' in page and 'rel="icon"' in page
