"""The offline briefcase's API: the per-login key (refused after logout, deactivation, wipe), who may take
which meeting offline (never above Mật), sync dropping archived meetings and removed members, remote wipe."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from sqlalchemy import select

from ecabinet.auth.models import AuthSession
from ecabinet.database import db, utcnow
from meetings.briefcase.models import BriefcaseDevice, BriefcaseMeeting
from meetings.models import Meeting, MeetingStatus
from tests.conftest import TEST_PASSWORD, ApiClient, assert_error, audit_actions
from tests.meetings.factories import create_meeting, prepared_meeting, upload

IPAD = ("Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
        "Mobile/15E148 Safari/604.1")


def _login(client, username: str) -> ApiClient:
    """A real login on this client, which keeps the device cookie it gets (one browser)."""
    response = client.post("/api/v1/auth/token", json={"username": username, "password": TEST_PASSWORD})
    assert response.status_code == 200, response.get_json()
    return ApiClient(client, response.get_json()["token"])


def _key(api: ApiClient) -> dict:
    response = api.post("/briefcase/key", json={})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _state(client, key_id: str) -> str:
    return client.get(f"/api/v1/briefcase/devices/{key_id}/status").get_json()["state"]


def test_the_key_is_an_aes_key_stable_within_a_login_and_per_user(app, cast, api):
    member = api(cast.member_a)
    first, again = _key(member), _key(member)
    assert first == again and first["algorithm"] == "AES-GCM-256"
    assert len(base64.b64decode(first["key"])) == 32 and len(first["key_id"]) == 32
    other = _key(api(cast.member_b))
    assert other["key_id"] != first["key_id"] and other["key"] != first["key"]
    assert audit_actions().count("briefcase.device_enrolled") == 2


def test_logout_ends_the_key_and_the_next_login_gets_another(app, cast):
    with app.test_client() as browser:
        member = _login(browser, "member_a")
        before = _key(member)
        assert member.post("/auth/logout").status_code == 204
        assert_error(member.post("/briefcase/key", json={}), 401, "not_authenticated")
        assert _state(browser, before["key_id"]) == "ended"
        after = _key(_login(browser, "member_a"))
    assert after["key_id"] != before["key_id"] and after["key"] != before["key"]


def test_a_login_that_ran_out_hands_the_device_to_the_next_login(app, cast):
    """A flight longer than the idle timeout must not lose the briefcase nor the notes written on it."""
    with app.test_client() as browser:
        before = _key(_login(browser, "member_a"))
        device = db.session.scalar(select(BriefcaseDevice).where(BriefcaseDevice.key_id == before["key_id"]))
        db.session.get(AuthSession, device.auth_session_id).expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
        assert _state(browser, before["key_id"]) == "live"
        after = _key(_login(browser, "member_a"))
    assert after == before


def test_deactivation_refuses_the_key_for_good(app, cast, api):
    with app.test_client() as browser:
        before = _key(_login(browser, "member_a"))
        admin = api(cast.admin)
        assert admin.patch(f"/admin/users/{cast.member_a.id}", json={"active": False}).status_code == 200
        assert _state(browser, before["key_id"]) == "ended"
        assert_error(browser.post("/api/v1/auth/token", json={"username": "member_a", "password": TEST_PASSWORD}),
                     401, "invalid_credentials")
        assert admin.patch(f"/admin/users/{cast.member_a.id}", json={"active": True}).status_code == 200
        after = _key(_login(browser, "member_a"))
    assert after["key_id"] != before["key_id"]


def test_a_password_reset_ends_the_device_like_a_logout(app, cast, api):
    with app.test_client() as browser:
        before = _key(_login(browser, "member_a"))
        assert api(cast.admin).post(f"/admin/users/{cast.member_a.id}/reset-password",
                                    json={"password": "Mật-khẩu-tạm-thời-2026"}).status_code == 204
        assert _state(browser, before["key_id"]) == "ended"


def test_take_offline_answers_the_agenda_the_callers_readable_dossiers_and_own_notes(app, cast, api):
    meeting = prepared_meeting(api, cast)
    doc = meeting["docs"][0]["id"]
    member, other = api(cast.member_a), api(cast.member_b)
    assert member.put(f"/documents/{doc}/notes", json={"page": 1, "text": "Hỏi về nguồn vốn"}).status_code == 200
    assert other.put(f"/documents/{doc}/notes", json={"page": 1, "text": "Ghi chú của người khác"}).status_code == 200
    key = _key(member)
    response = member.post(f"/briefcase/meetings/{meeting['id']}", json={"key_id": key["key_id"]})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["meeting"]["id"] == meeting["id"] and body["key_id"] == key["key_id"]
    assert [item["title"] for item in body["agenda"]] == ["Tình hình kinh tế - xã hội", "Dự án Luật Đầu tư công"]
    first = body["agenda"][0]["documents"][0]
    assert first["id"] == doc and first["notes"] == [{"page": 1, "text": "Hỏi về nguồn vốn"}]
    assert "briefcase.taken" in audit_actions()
    # the copies themselves are the caller's stamped reader copies from the documents API
    assert member.get(f"/documents/{doc}/content").status_code == 200

    guest = api(cast.guest)
    guest_view = guest.post(f"/briefcase/meetings/{meeting['id']}", json={"key_id": _key(guest)["key_id"]}).get_json()
    assert [item["title"] for item in guest_view["agenda"]] == ["Dự án Luật Đầu tư công"]


def test_documents_above_mat_stay_out_of_a_mat_meeting_briefcase(app, cast, api):
    sec = api(cast.secretary)
    meeting = create_meeting(sec, cast, confidentiality="confidential")
    item = sec.post(f"/meetings/{meeting['id']}/agenda", json={"title": "Quốc phòng", "presenter": "Bộ Quốc phòng",
                                                               "duration_minutes": 10}).get_json()
    mat = upload(sec, meeting["id"], item["id"], title="Báo cáo Mật", confidentiality="confidential").get_json()
    upload(sec, meeting["id"], item["id"], title="Phụ lục Tối mật", confidentiality="secret")
    sec.post(f"/meetings/{meeting['id']}/participants", json={"user_id": cast.member_a.id, "role": "member"})
    assert sec.post(f"/meetings/{meeting['id']}/publish").status_code == 200
    member = api(cast.member_a)
    body = member.post(f"/briefcase/meetings/{meeting['id']}", json={"key_id": _key(member)["key_id"]}).get_json()
    assert [d["id"] for d in body["agenda"][0]["documents"]] == [mat["id"]]


@pytest.mark.parametrize("level", ["secret", "top_secret"])
def test_a_meeting_above_mat_is_never_taken_offline(app, cast, api, level):
    from ecabinet.auth.models import Confidentiality

    cast.secretary.clearance = cast.member_a.clearance = cast.chair.clearance = Confidentiality.TOP_SECRET
    db.session.commit()
    sec = api(cast.secretary)
    meeting = create_meeting(sec, cast, confidentiality=level)
    sec.post(f"/meetings/{meeting['id']}/participants", json={"user_id": cast.member_a.id, "role": "member"})
    assert sec.post(f"/meetings/{meeting['id']}/publish").status_code == 200
    member = api(cast.member_a)
    key = _key(member)
    before = audit_actions()
    assert_error(member.post(f"/briefcase/meetings/{meeting['id']}", json={"key_id": key["key_id"]}),
                 403, "briefcase_level_too_high")
    assert db.session.scalars(select(BriefcaseMeeting)).all() == []
    assert "briefcase.taken" not in audit_actions()[len(before):]


def test_who_may_take_what(app, cast, api):
    meeting = prepared_meeting(api, cast)
    outsider = api(cast.outsider)
    assert_error(outsider.post(f"/briefcase/meetings/{meeting['id']}", json={"key_id": _key(outsider)["key_id"]}),
                 404, "not_found")
    member = api(cast.member_a)
    key = _key(member)
    other = api(cast.member_b)
    _key(other)
    assert_error(other.post(f"/briefcase/meetings/{meeting['id']}", json={"key_id": key["key_id"]}), 404, "not_found")
    draft = prepared_meeting(api, cast, publish=False)
    chair = api(cast.chair)
    assert_error(chair.post(f"/briefcase/meetings/{draft['id']}", json={"key_id": _key(chair)["key_id"]}),
                 409, "briefcase_meeting_not_upcoming")
    assert_error(member.post(f"/briefcase/meetings/{meeting['id']}", json={"key_id": "0" * 32}), 404, "not_found")
    assert_error(member.post(f"/briefcase/meetings/{meeting['id']}", json={"key_id": "nope"}), 422, "validation_error")


def test_sync_drops_archived_meetings_and_removed_members(app, cast, api):
    kept, archived = prepared_meeting(api, cast), prepared_meeting(api, cast)
    removed = prepared_meeting(api, cast)
    member = api(cast.member_b)
    key = _key(member)["key_id"]
    for meeting in (kept, archived, removed):
        assert member.post(f"/briefcase/meetings/{meeting['id']}", json={"key_id": key}).status_code == 200
    db.session.get(Meeting, archived["id"]).status = MeetingStatus.ARCHIVED
    db.session.commit()
    sec = api(cast.secretary)
    participant = next(p for p in sec.get(f"/meetings/{removed['id']}").get_json()["participants"]
                       if p["user_id"] == cast.member_b.id)
    # the delegate represents member_b: withdraw the delegate first, then member_b
    assert sec.delete(f"/meetings/{removed['id']}/participants/{removed['delegate']['id']}").status_code == 204
    assert sec.delete(f"/meetings/{removed['id']}/participants/{participant['id']}").status_code == 204
    answer = member.post("/briefcase/sync", json={"key_id": key, "meeting_ids": [kept["id"], archived["id"],
                                                                                   removed["id"], 999]})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"allowed": [kept["id"]], "removed": sorted([archived["id"], removed["id"], 999])}
    assert audit_actions().count("briefcase.dropped") == 2
    assert [row.meeting_id for row in db.session.scalars(select(BriefcaseMeeting))] == [kept["id"]]


def test_remote_wipe_refuses_the_key_ends_the_login_and_is_audited(app, cast, api):
    meeting = prepared_meeting(api, cast)
    with app.test_client() as browser:
        browser.environ_base["HTTP_USER_AGENT"] = IPAD
        member = _login(browser, "member_a")
        key = _key(member)["key_id"]
        assert member.post(f"/briefcase/meetings/{meeting['id']}", json={"key_id": key}).status_code == 200
        sec = api(cast.secretary)
        devices = sec.get(f"/meetings/{meeting['id']}/briefcases").get_json()["devices"]
        assert [(d["user"]["id"], d["state"]) for d in devices] == [(cast.member_a.id, "live")]
        assert devices[0]["device"] == "Safari trên iPad"  # what the secretariat recognises the tablet by

        assert_error(api(cast.member_b).post(f"/briefcase/devices/{devices[0]['id']}/wipe"), 403, "secretariat_only")
        assert_error(api(cast.member_b).get(f"/meetings/{meeting['id']}/briefcases"), 403, "secretariat_only")
        assert _state(browser, key) == "live"

        wiped = sec.post(f"/briefcase/devices/{devices[0]['id']}/wipe")
        assert wiped.status_code == 200 and wiped.get_json()["state"] == "wiped"
        assert audit_actions()[-2:] == ["briefcase.wiped", "auth.login_ended"]
        assert _state(browser, key) == "ended"
        assert_error(member.post("/briefcase/key", json={}), 401, "not_authenticated")
        assert_error(sec.post(f"/briefcase/devices/{devices[0]['id']}/wipe"), 409, "briefcase_already_wiped")
        assert sec.get(f"/meetings/{meeting['id']}/briefcases").get_json()["devices"][0]["state"] == "wiped"
        # a new login on the wiped tablet starts an empty briefcase under a new key
        again = _login(browser, "member_a")
        fresh = _key(again)["key_id"]
        assert fresh != key
        assert_error(again.post("/briefcase/sync", json={"key_id": key, "meeting_ids": [meeting["id"]]}),
                     403, "briefcase_wiped")


def test_the_status_needs_no_login_and_names_nothing_it_does_not_know(app, cast, client):
    assert client.get(f"/api/v1/briefcase/devices/{'a' * 32}/status").get_json() == {"state": "ended"}
    assert client.get("/api/v1/briefcase/devices/short/status").get_json() == {"state": "ended"}
    assert_error(client.post("/api/v1/briefcase/key", json={}), 401, "not_authenticated")


def test_the_service_worker_covers_the_app_and_its_pages_hold_no_ones_data(app, cast, api, client):
    worker = client.get("/sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert worker.headers["Service-Worker-Allowed"] == "/"
    assert '"/briefcase/view"' in worker.get_data(as_text=True)
    for page in ("/briefcase", "/briefcase/view"):
        assert client.get(page).status_code == 200
    for path, mimetype in (("/static/manifest.webmanifest", None), ("/static/icons/icon-512.png", "image/png")):
        response = client.get(path)
        assert response.status_code == 200 and mimetype in (None, response.mimetype)
        response.close()
