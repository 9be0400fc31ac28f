"""Conclusion notices: drafting from the conclusions, the signed Decree 30 PDF, immutability, who sees what."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from ecabinet import keystore
from ecabinet.audit import AuditRecord
from ecabinet.database import db
from ecabinet.pdf import read_attachment
from ecabinet.realtime import MeetingEvent
from ecabinet.signing import SignatureRejected, validate_signed_pdf
from meetings.models import Meeting, MeetingStatus
from meetings.notices import pdf as notice_pdf
from meetings.notices import service
from meetings.notices.models import ConclusionNotice, NoticeTask
from tests.conftest import assert_error, audit_actions
from tests.live.scenario import published_meeting

from .conftest import CONCLUSIONS, in_days, issued_notice, run_session, tasks_for


def _events(meeting_id: int) -> list[int]:
    return list(db.session.scalars(sa.select(MeetingEvent.seq).where(MeetingEvent.meeting_id == meeting_id)))


def _meeting(meeting_id: int) -> Meeting:
    db.session.expire_all()
    meeting = db.session.get(Meeting, meeting_id)
    assert meeting is not None
    return meeting


def _count(model: Any) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def _real_actions(since: int) -> list[str]:
    return [a for a in audit_actions()[since:] if a != "access.refused"]


def test_the_secretariat_drafts_a_notice_from_the_conclusions(concluded, cast):
    secretary = concluded.clients["secretary"]
    answer = secretary.post(f"/meetings/{concluded.meeting_id}/notices",
                            json={"intro": "Mở đầu", "tasks": tasks_for(cast, concluded)})
    assert answer.status_code == 201
    body = answer.get_json()
    assert body["status"] == "draft" and body["number"] is None and body["meeting_id"] == concluded.meeting_id
    assert [i["conclusion"] for i in body["items"]] == CONCLUSIONS
    assert [(t["owner"]["organisation"], t["status"], t["agenda_item_id"]) for t in body["tasks"]] == [
        ("Bộ Tài chính", "open", concluded.item_ids[0]), ("Bộ Y tế", "open", None)]
    assert audit_actions()[-1] == "notice.created"
    listed = secretary.get(f"/meetings/{concluded.meeting_id}/notices").get_json()["notices"]
    assert [n["id"] for n in listed] == [body["id"]]


def test_issue_signs_a_decree_30_notice_that_validates(concluded, cast, pdftotext, pdfsig):
    events_before = _events(concluded.meeting_id)
    body = issued_notice(cast, concluded)
    year = service.today().year
    assert body["status"] == "issued" and body["number"] == "01/TB-VPCP" and body["issued_at"]
    signed = concluded.clients["member_a"].get(f"/notices/{body['id']}/pdf")
    assert signed.status_code == 200 and signed.mimetype == "application/pdf"
    assert pdfsig(signed.data) == ["Signature is Valid."]
    notice = db.session.get(ConclusionNotice, body["id"])
    report = validate_signed_pdf(signed.data, trust_roots=keystore.trust_roots(),
                                 expected_first_revision_sha256=notice.unsigned_sha256)
    assert "Văn phòng Chính phủ" in report.subject
    text = " ".join(pdftotext(signed.data).split())
    for expected in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "CHÍNH PHỦ",
                     "VĂN PHÒNG CHÍNH PHỦ", "Số: 01/TB-VPCP", "Hà Nội, ngày", f"năm {year}", "THÔNG BÁO KẾT LUẬN",
                     "Phạm Minh Quang", "Văn phòng Chính phủ thông báo kết luận như sau.",
                     *CONCLUSIONS, "Hoàn thiện hồ sơ dự án Luật trình Quốc hội", "Bộ Tài chính", "Trần Đức Long",
                     "Bộ Y tế", date.fromisoformat(in_days(30)).strftime("%d/%m/%Y"), "TỔ CHỨC THỰC HIỆN",
                     "Nơi nhận:"):
        assert expected in text, expected
    assert "DỰ THẢO" not in text
    embedded = read_attachment(signed.data, notice_pdf.RECORD_FILE)
    assert embedded is not None and b"01/TB-VPCP" in embedded
    issued = db.session.scalar(sa.select(AuditRecord).where(AuditRecord.action == "notice.issued"))
    assert issued is not None and notice.signed_sha256 in issued.data
    # the notice is its own document: the meeting's event stream is untouched
    assert _events(concluded.meeting_id) == events_before


def test_a_draft_preview_is_unnumbered_and_unsigned(concluded, cast, pdftotext, pdfsig):
    secretary = concluded.clients["secretary"]
    notice_id = secretary.post(f"/meetings/{concluded.meeting_id}/notices", json={}).get_json()["id"]
    preview = secretary.get(f"/notices/{notice_id}/pdf")
    assert preview.status_code == 200
    text = " ".join(pdftotext(preview.data).split())
    assert "DỰ THẢO" in text and "/TB-VPCP" in text and "01/TB-VPCP" not in text
    assert pdfsig(preview.data) == []


def test_numbers_run_from_01_within_the_year(cast, api, ministries):
    first = issued_notice(cast, run_session(cast, api))
    second = issued_notice(cast, run_session(cast, api))
    assert (first["number"], second["number"]) == ("01/TB-VPCP", "02/TB-VPCP")


@pytest.mark.parametrize(("who", "status", "code"), [("member_a", 403, "secretariat_only"),
                                                     ("chair", 403, "secretariat_only"),
                                                     ("guest", 403, "secretariat_only"),
                                                     ("outsider", 404, "not_found")])
def test_only_the_secretariat_creates(concluded, cast, who, status, code):
    before = len(audit_actions())
    answer = concluded.clients[who].post(f"/meetings/{concluded.meeting_id}/notices", json={})
    assert_error(answer, status, code)
    assert _count(ConclusionNotice) == 0 and _real_actions(before) == []


def test_only_the_secretariat_issues(concluded, cast):
    secretary = concluded.clients["secretary"]
    notice_id = secretary.post(f"/meetings/{concluded.meeting_id}/notices", json={}).get_json()["id"]
    # a draft is invisible to members: unknown and invisible look the same
    assert_error(concluded.clients["member_a"].post(f"/notices/{notice_id}/issue"), 404, "not_found")
    assert db.session.get(ConclusionNotice, notice_id).status == "draft"


def test_an_open_meeting_has_no_notice_yet(cast, api):
    scenario = published_meeting(cast)
    before = len(audit_actions())
    answer = api(cast.secretary).post(f"/meetings/{scenario.meeting.id}/notices", json={})
    error = assert_error(answer, 409, "notice_meeting_not_closed")
    assert error["message"] == "Chỉ lập thông báo kết luận sau khi phiên họp kết thúc."
    assert _count(ConclusionNotice) == 0 and _real_actions(before) == []


def test_a_meeting_without_conclusions_has_nothing_to_announce(cast, api, ministries):
    session = run_session(cast, api, conclusions=[])
    assert_error(session.clients["secretary"].post(f"/meetings/{session.meeting_id}/notices", json={}), 409,
                 "notice_no_conclusions")


def test_one_notice_per_meeting_and_the_idempotency_key_replays(concluded):
    secretary = concluded.clients["secretary"]
    headers = {"Idempotency-Key": "notice-1"}
    url = f"/meetings/{concluded.meeting_id}/notices"
    first = secretary.post(url, json={"intro": "A"}, headers=headers)
    again = secretary.post(url, json={"intro": "A"}, headers=headers)
    assert first.status_code == again.status_code == 201 and first.get_json() == again.get_json()
    assert audit_actions().count("notice.created") == 1
    assert_error(secretary.post(url, json={"intro": "A"}), 409, "notice_exists")
    assert_error(secretary.post(url, json={"intro": "B"}, headers=headers), 409, "idempotency_key_reused")
    assert _count(ConclusionNotice) == 1


def test_an_issued_notice_never_changes(concluded, cast):
    body = issued_notice(cast, concluded)
    secretary = concluded.clients["secretary"]
    before = len(audit_actions())
    task = tasks_for(cast, concluded)[0]
    assert_error(secretary.patch(f"/notices/{body['id']}", json={"intro": "Sửa"}), 409, "notice_issued")
    assert_error(secretary.patch(f"/notices/{body['id']}", json={"tasks": []}), 409, "notice_issued")
    assert_error(secretary.post(f"/notices/{body['id']}/tasks", json=task), 409, "notice_issued")
    assert_error(secretary.post(f"/notices/{body['id']}/issue"), 409, "notice_issued")
    after = secretary.get(f"/notices/{body['id']}").get_json()
    assert after["intro"] == body["intro"] and len(after["tasks"]) == 2 and after["sha256"] == body["sha256"]
    assert _real_actions(before) == [] and _count(NoticeTask) == 2


def test_the_draft_is_edited_before_issue(concluded, cast, pdftotext):
    secretary = concluded.clients["secretary"]
    notice_id = secretary.post(f"/meetings/{concluded.meeting_id}/notices", json={}).get_json()["id"]
    edited = secretary.patch(f"/notices/{notice_id}", json={"intro": "Đoạn mở đầu đã sửa.",
                                                            "tasks": tasks_for(cast, concluded)[:1]})
    assert edited.status_code == 200 and edited.get_json()["intro"] == "Đoạn mở đầu đã sửa."
    added = secretary.post(f"/notices/{notice_id}/tasks", json=tasks_for(cast, concluded)[1],
                           headers={"Idempotency-Key": "task-1"})
    assert added.status_code == 201 and added.get_json()["position"] == 2
    assert secretary.post(f"/notices/{notice_id}/tasks", json=tasks_for(cast, concluded)[1],
                          headers={"Idempotency-Key": "task-1"}).get_json() == added.get_json()
    assert _count(NoticeTask) == 2
    assert [a for a in audit_actions() if a.startswith("notice.")] == ["notice.created", "notice.edited",
                                                                      "notice.task_added"]
    assert_error(concluded.clients["member_a"].patch(f"/notices/{notice_id}", json={"intro": "x"}), 404, "not_found")
    assert "Đoạn mở đầu đã sửa." in pdftotext(secretary.get(f"/notices/{notice_id}/pdf").data)


def test_an_archived_meeting_gets_its_notice_and_stays_unchanged(concluded, cast):
    meeting = _meeting(concluded.meeting_id)
    meeting.status = MeetingStatus.ARCHIVED  # as after the chair signed the minutes
    db.session.commit()
    events = _events(concluded.meeting_id)
    body = issued_notice(cast, concluded)
    assert body["status"] == "issued" and body["meeting_status"] == "archived"
    after = _meeting(concluded.meeting_id)
    assert after.status == MeetingStatus.ARCHIVED and [i.conclusion for i in after.agenda] == CONCLUSIONS
    assert _events(concluded.meeting_id) == events


def _owner_is(cast: Any, who: str) -> int:
    return getattr(cast, who).id if who != "nobody" else 999_999


@pytest.mark.parametrize(("change", "code"), [
    ({"owner_user_id": "guest"}, "task_owner_invalid"),
    ({"owner_user_id": "admin"}, "task_owner_invalid"),
    ({"owner_user_id": "secretary"}, "task_owner_invalid"),
    ({"owner_user_id": "nobody"}, "task_owner_invalid"),
    ({"deadline": -1}, "task_deadline_past"),
    ({"agenda_item_id": 999_999}, "task_item_invalid"),
    ({"description": "   "}, "task_description_required"),
    ({"deadline": "31/12/2026"}, "validation_error"),
    ({"owner_user_id": None}, "validation_error"),
])
def test_task_values_are_checked(concluded, cast, change, code):
    task = tasks_for(cast, concluded)[0]
    if "owner_user_id" in change and change["owner_user_id"] is not None:
        change = {"owner_user_id": _owner_is(cast, change["owner_user_id"])}
    if change.get("deadline") == -1:
        change = {"deadline": in_days(-1)}
    before = len(audit_actions())
    answer = concluded.clients["secretary"].post(f"/meetings/{concluded.meeting_id}/notices",
                                                 json={"tasks": [{**task, **change}]})
    assert_error(answer, 422, code)
    assert _count(ConclusionNotice) == 0 and _real_actions(before) == []


@pytest.mark.parametrize(("who", "draft", "issued"), [
    ("secretary", 200, 200), ("chair", 404, 200), ("member_a", 404, 200), ("member_b", 404, 200),
    ("delegate", 404, 200), ("guest", 404, 404), ("outsider", 404, 404), ("admin", 404, 404)])
def test_who_sees_the_notice(concluded, cast, who, draft, issued):
    secretary, client = concluded.clients["secretary"], concluded.clients[who]
    notice_id = secretary.post(f"/meetings/{concluded.meeting_id}/notices",
                               json={"tasks": tasks_for(cast, concluded)}).get_json()["id"]
    assert client.get(f"/notices/{notice_id}").status_code == draft
    assert client.get(f"/notices/{notice_id}/pdf").status_code == draft
    secretary.post(f"/notices/{notice_id}/issue")
    assert client.get(f"/notices/{notice_id}").status_code == issued
    assert client.get(f"/notices/{notice_id}/pdf").status_code == issued
    assert len(client.get("/notices").get_json()["notices"]) == (1 if issued == 200 else 0)


def test_an_owner_outside_the_meeting_sees_the_notice_of_their_task(concluded, cast):
    task = {**tasks_for(cast, concluded)[0], "owner_user_id": cast.outsider.id}
    secretary = concluded.clients["secretary"]
    notice_id = secretary.post(f"/meetings/{concluded.meeting_id}/notices", json={"tasks": [task]}).get_json()["id"]
    secretary.post(f"/notices/{notice_id}/issue")
    assert concluded.clients["outsider"].get(f"/notices/{notice_id}/pdf").status_code == 200


def test_a_signature_that_fails_validation_records_nothing(concluded, cast, monkeypatch):
    secretary = concluded.clients["secretary"]
    notice_id = secretary.post(f"/meetings/{concluded.meeting_id}/notices",
                               json={"tasks": tasks_for(cast, concluded)}).get_json()["id"]

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise SignatureRejected("signature_invalid")

    monkeypatch.setattr(service, "validate_signed_pdf", refuse)
    before = len(audit_actions())
    assert_error(secretary.post(f"/notices/{notice_id}/issue"), 500, "notice_signing_failed")
    db.session.expire_all()
    notice = db.session.get(ConclusionNotice, notice_id)
    assert notice.status == "draft" and notice.number is None and notice.signed_sha256 is None
    assert _real_actions(before) == []
    monkeypatch.undo()
    # no number was used up by the failure
    assert secretary.post(f"/notices/{notice_id}/issue").get_json()["number"] == "01/TB-VPCP"


def test_concurrent_issues_get_distinct_numbers_without_gaps(cast, api, ministries):
    sessions = [run_session(cast, api) for _ in range(4)]
    secretary = sessions[0].clients["secretary"]
    drafts = [secretary.post(f"/meetings/{s.meeting_id}/notices", json={}).get_json()["id"] for s in sessions]
    clients = [api(cast.secretary) for _ in drafts]
    with ThreadPoolExecutor(max_workers=len(drafts)) as pool:
        answers = list(pool.map(lambda pair: pair[0].post(f"/notices/{pair[1]}/issue"), zip(clients, drafts,
                                                                                             strict=True)))
    assert [a.status_code for a in answers] == [200] * len(drafts)
    assert sorted(a.get_json()["number"] for a in answers) == ["01/TB-VPCP", "02/TB-VPCP", "03/TB-VPCP", "04/TB-VPCP"]
