"""The minutes open in the app's own viewer page, under exactly the rule of minutes.pdf: drafts for the
secretariat and the chair, the signed state for members too, never for guests or outsiders."""

from __future__ import annotations

import pytest

from tests.meetings.test_pages import browser_login
from tests.minutes.conftest import PIN


def _viewer(app, who: str, meeting_id: int, query: str = "") -> tuple[int, str]:
    response = browser_login(app, who).get(f"/meetings/{meeting_id}/minutes/view{query}")
    return response.status_code, response.get_data(as_text=True)


@pytest.mark.parametrize(("who", "status"), [("secretary", 200), ("chair", 200), ("member_a", 404),
                                              ("guest", 404), ("outsider", 404)])
def test_a_draft_opens_in_the_viewer_for_the_secretariat_and_the_chair_only(app, closed_session, who, status):
    meeting_id = closed_session.meeting_id
    assert closed_session.clients["secretary"].post(f"/meetings/{meeting_id}/minutes").status_code == 201
    code, page = _viewer(app, who, meeting_id)
    assert code == status
    if status == 200:
        assert 'id="viewer"' in page and "js/viewer.js" in page
        assert f'data-content-url="/api/v1/meetings/{meeting_id}/minutes.pdf"' in page
        assert 'data-notes-url=""' in page  # no private notes on the minutes: the viewer asks for none
        assert f'href="/meetings/{meeting_id}/minutes"' in page


@pytest.mark.parametrize(("who", "status"), [("secretary", 200), ("chair", 200), ("member_a", 200),
                                              ("delegate", 200), ("guest", 404), ("outsider", 404)])
def test_the_signed_minutes_open_in_the_viewer_for_members_never_for_guests(app, closed_session, who, status):
    clients, meeting_id = closed_session.clients, closed_session.meeting_id
    assert clients["secretary"].post(f"/meetings/{meeting_id}/minutes").status_code == 201
    for signer in ("secretary", "chair"):
        assert clients[signer].post(f"/meetings/{meeting_id}/minutes/sign", json={"pin": PIN}).status_code == 200
    assert _viewer(app, who, meeting_id)[0] == status
    assert clients[who].get(f"/meetings/{meeting_id}/minutes.pdf").status_code == status  # the same rule


def test_a_draft_version_opens_in_the_viewer_but_not_for_a_member(app, closed_session):
    clients, meeting_id = closed_session.clients, closed_session.meeting_id
    assert clients["secretary"].post(f"/meetings/{meeting_id}/minutes").status_code == 201
    for signer in ("secretary", "chair"):
        assert clients[signer].post(f"/meetings/{meeting_id}/minutes/sign", json={"pin": PIN}).status_code == 200
    code, page = _viewer(app, "secretary", meeting_id, "?version=1")
    assert code == 200 and f'data-content-url="/api/v1/meetings/{meeting_id}/minutes.pdf?version=1"' in page
    assert _viewer(app, "member_a", meeting_id, "?version=1")[0] == 404
