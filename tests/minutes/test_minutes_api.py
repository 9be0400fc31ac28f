"""Minutes from the session record: content, versions, the signing order, archiving and the archive."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import timedelta
from pathlib import Path

import bagit
import sqlalchemy as sa

from documents.models import Document, DocumentVersion
from ecabinet import audit
from ecabinet.database import db, utcnow
from ecabinet.realtime import MeetingEvent
from meetings.minutes.models import MinutesVersion
from meetings.models import Meeting
from tests.conftest import assert_error, audit_actions
from tests.documents import corpus
from tests.forgeries import restate
from tests.meetings.factories import upload
from tests.minutes.conftest import CONCLUSION, PIN


def _events(meeting_id: int) -> list[str]:
    return list(db.session.scalars(sa.select(MeetingEvent.type).where(MeetingEvent.meeting_id == meeting_id)
                                   .order_by(MeetingEvent.seq)))


def _status(meeting_id: int) -> str:
    db.session.expire_all()
    meeting = db.session.get(Meeting, meeting_id)
    assert meeting is not None
    return meeting.status


def _sign_both(session) -> None:
    clients, meeting_id = session.clients, session.meeting_id
    assert clients["secretary"].post(f"/meetings/{meeting_id}/minutes/sign", json={"pin": PIN}).status_code == 200
    assert clients["chair"].post(f"/meetings/{meeting_id}/minutes/sign", json={"pin": PIN}).status_code == 200


def test_draft_is_drawn_from_the_session_record(closed_session, pdftotext):
    clients, meeting_id = closed_session.clients, closed_session.meeting_id
    answer = clients["secretary"].post(f"/meetings/{meeting_id}/minutes")
    assert answer.status_code == 201
    body = answer.get_json()
    assert body["status"] == "draft" and body["current_version"] == 1
    record = body["content"]
    assert [p["full_name"] for p in record["present"]] == ["Phạm Minh Quang", "Trần Đức Long"]
    assert record["absent"] == [{"user_id": record["absent"][0]["user_id"], "full_name": "Lê Thị Hồng",
                                 "title": "Bộ trưởng Bộ Y tế", "reason": "Công tác nước ngoài",
                                 "represented_by": {"user_id": record["absent"][0]["represented_by"]["user_id"],
                                                    "full_name": "Đỗ Văn Bình", "title": "Thứ trưởng Bộ Tài chính"}}]
    assert [g["full_name"] for g in record["guests"]] == ["Hoàng Anh Tú"]
    first = record["items"][0]
    assert [s["full_name"] for s in first["speakers"]] == ["Trần Đức Long"]
    assert first["speakers"][0]["seconds_spoken"] >= 0
    assert first["votes"][0]["result"]["agree"] == 2 and first["votes"][0]["result"]["passed"] is True
    assert first["conclusion"] == CONCLUSION
    pdf = clients["secretary"].get(f"/meetings/{meeting_id}/minutes.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = " ".join(pdftotext(pdf.data).split())
    for expected in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "BIÊN BẢN", "CHÍNH PHỦ",
                     f"{meeting_id}/BB-CP", "Phạm Minh Quang", "Nguyễn Thị Thanh Hằng", "Trần Đức Long",
                     "Lê Thị Hồng", "Công tác nước ngoài", "Đỗ Văn Bình", "Hoàng Anh Tú",
                     "Dự án Luật Đất đai (sửa đổi)", "Bộ Tài chính", "Thông qua dự án Luật?", "THÔNG QUA",
                     "Chính phủ thống nhất trình Quốc hội", "THƯ KÝ", "CHỦ TỌA", "Tờ trình dự án Luật Đất đai"):
        assert expected in text, expected
    assert "minutes.generated" in audit_actions()


def test_only_the_secretariat_drafts_and_only_after_the_session(closed_session, cast, api):
    clients, meeting_id = closed_session.clients, closed_session.meeting_id
    before = len(audit_actions())
    assert_error(clients["chair"].post(f"/meetings/{meeting_id}/minutes"), 403, "secretariat_only")
    assert_error(clients["member_a"].post(f"/meetings/{meeting_id}/minutes"), 403, "secretariat_only")
    assert_error(clients["outsider"].post(f"/meetings/{meeting_id}/minutes"), 404, "not_found")
    assert_error(clients["member_a"].get(f"/meetings/{meeting_id}/minutes.pdf"), 404, "minutes_not_found")
    assert [a for a in audit_actions()[before:] if a != "access.refused"] == []
    from tests.live.scenario import published_meeting

    fresh = published_meeting(cast).meeting.id
    assert_error(clients["secretary"].post(f"/meetings/{fresh}/minutes"), 409, "meeting_not_closed")


def test_each_edit_is_a_new_version_and_earlier_ones_stay(closed_session, pdftotext):
    clients, meeting_id = closed_session.clients, closed_session.meeting_id
    secretary = clients["secretary"]
    secretary.post(f"/meetings/{meeting_id}/minutes")
    edited = secretary.patch(f"/meetings/{meeting_id}/minutes",
                             json={"narrative": "Phiên họp diễn ra trong không khí dân chủ, thẳng thắn."})
    assert edited.status_code == 200 and edited.get_json()["current_version"] == 2
    again = secretary.post(f"/meetings/{meeting_id}/minutes").get_json()
    assert again["current_version"] == 3 and again["narrative"].startswith("Phiên họp diễn ra")
    assert [v["version"] for v in again["versions"]] == [1, 2, 3]
    assert "không khí dân chủ" in pdftotext(secretary.get(f"/meetings/{meeting_id}/minutes.pdf").data)
    assert "không khí dân chủ" not in pdftotext(secretary.get(f"/meetings/{meeting_id}/minutes.pdf?version=1").data)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MinutesVersion)) == 3
    assert_error(clients["member_a"].patch(f"/meetings/{meeting_id}/minutes", json={"narrative": "x"}), 403,
                 "secretariat_only")
    assert_error(secretary.patch(f"/meetings/{meeting_id}/minutes", json={}), 422, "validation_error")


def test_secretary_signs_first_then_the_chair_and_the_meeting_is_archived(closed_session, pdfsig):
    clients, meeting_id = closed_session.clients, closed_session.meeting_id
    clients["secretary"].post(f"/meetings/{meeting_id}/minutes")
    before_events = _events(meeting_id)
    assert_error(clients["chair"].post(f"/meetings/{meeting_id}/minutes/sign", json={"pin": PIN}), 409,
                 "secretary_must_sign_first")
    assert_error(clients["member_a"].post(f"/meetings/{meeting_id}/minutes/sign", json={"pin": PIN}), 403,
                 "not_a_minutes_signer")
    assert_error(clients["secretary"].post(f"/meetings/{meeting_id}/minutes/sign", json={"pin": "000000"}), 403,
                 "wrong_pin")
    assert _events(meeting_id) == before_events
    first = clients["secretary"].post(f"/meetings/{meeting_id}/minutes/sign", json={"pin": PIN})
    assert first.status_code == 200 and first.get_json()["status"] == "signed_by_secretary"
    assert pdfsig(clients["secretary"].get(f"/meetings/{meeting_id}/minutes.pdf").data) == ["Signature is Valid."]
    assert_error(clients["secretary"].patch(f"/meetings/{meeting_id}/minutes", json={"narrative": "x"}), 409,
                 "minutes_signing_started")
    assert_error(clients["secretary"].post(f"/meetings/{meeting_id}/minutes/sign", json={"pin": PIN}), 409,
                 "minutes_already_signed")
    assert _status(meeting_id) == "closed"
    assert_error(clients["member_a"].get(f"/meetings/{meeting_id}/minutes"), 404, "minutes_not_found")
    second = clients["chair"].post(f"/meetings/{meeting_id}/minutes/sign", json={"pin": PIN})
    assert second.status_code == 200 and second.get_json()["status"] == "signed"
    assert _status(meeting_id) == "archived"
    assert _events(meeting_id)[-1] == "minutes.signed"
    shown = clients["member_a"].get(f"/meetings/{meeting_id}/minutes").get_json()
    assert shown["status"] == "signed" and shown["signed_at"] and shown["secretary_signed_at"]
    signed = clients["member_a"].get(f"/meetings/{meeting_id}/minutes.pdf")
    assert signed.status_code == 200
    assert pdfsig(signed.data) == ["Signature is Valid.", "Signature is Valid."]
    assert audit_actions()[-2:] == ["minutes.signed", "minutes.signed"]
    assert audit.verify() is None


def test_archived_meeting_refuses_every_write(closed_session, cast):
    clients, meeting_id = closed_session.clients, closed_session.meeting_id
    clients["secretary"].post(f"/meetings/{meeting_id}/minutes")
    _sign_both(closed_session)
    item = closed_session.items[0]
    before_audit, before_events = len(audit_actions()), _events(meeting_id)
    secretary = clients["secretary"]
    assert_error(secretary.post(f"/meetings/{meeting_id}/minutes"), 409, "meeting_archived")
    assert_error(secretary.patch(f"/meetings/{meeting_id}/minutes", json={"narrative": "x"}), 409, "meeting_archived")
    assert_error(clients["chair"].post(f"/meetings/{meeting_id}/minutes/sign", json={"pin": PIN}), 409,
                 "minutes_already_signed")
    assert_error(secretary.patch(f"/meetings/{meeting_id}", json={"title": "Đổi tên"}), 409, "meeting_archived")
    assert_error(secretary.post(f"/meetings/{meeting_id}/agenda", json={"title": "Mục mới"}), 409, "meeting_archived")
    assert_error(secretary.post(f"/meetings/{meeting_id}/participants",
                                json={"user_id": cast.outsider.id, "role": "member"}), 409, "meeting_archived")
    assert_error(upload(secretary, meeting_id, item.id), 409, "meeting_archived")
    document_id = db.session.scalar(sa.select(Document.id).where(Document.meeting_id == meeting_id))
    assert_error(secretary.post(f"/documents/{document_id}/versions", content_type="multipart/form-data",
                                data={"file": (io.BytesIO(corpus.valid_pdf(1)), "v3.pdf")}), 409, "meeting_archived")
    assert_error(secretary.put(f"/meetings/{meeting_id}/agenda/{item.id}/conclusion", json={"text": "x"}), 409,
                 "meeting_archived")
    assert_error(clients["chair"].post(f"/meetings/{meeting_id}/session/start"), 409, "meeting_not_published")
    assert [a for a in audit_actions()[before_audit:] if a != "access.refused"] == []
    assert _events(meeting_id) == before_events


def test_archive_is_a_valid_bag_and_the_verifier_catches_a_flipped_byte(closed_session, app, tmp_path):
    clients, meeting_id = closed_session.clients, closed_session.meeting_id
    clients["secretary"].post(f"/meetings/{meeting_id}/minutes")
    assert_error(clients["secretary"].get(f"/meetings/{meeting_id}/archive.zip"), 409, "meeting_not_archived")
    _sign_both(closed_session)
    assert_error(clients["member_a"].get(f"/meetings/{meeting_id}/archive.zip"), 403, "chair_or_secretariat_only")
    answer = clients["secretary"].get(f"/meetings/{meeting_id}/archive.zip")
    assert answer.status_code == 200 and answer.mimetype == "application/zip"
    bag_zip = tmp_path / "archive.zip"
    bag_zip.write_bytes(answer.data)
    with zipfile.ZipFile(bag_zip) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "x")
    root = tmp_path / "x" / f"meeting-{meeting_id}"
    for expected in ("manifest-sha256.txt", "data/meeting.json", "data/minutes.pdf", "data/votes.json",
                     "data/events.json", "data/audit.json", "data/minutes-drafts/v1.pdf", "data/documents.json"):
        assert f"meeting-{meeting_id}/{expected}" in names, expected
    assert bagit.Bag(str(root)).is_valid()
    uploads = sorted(n for n in names if "/data/documents/" in n)
    assert len(uploads) == 2 and uploads[0].endswith("-v1-to-trinh.pdf") and uploads[1].endswith("-v2-to-trinh-v2.pdf")
    stored = {v.sha256 for v in db.session.scalars(sa.select(DocumentVersion))}
    assert {hashlib.sha256((root / "data/documents" / Path(n).name).read_bytes()).hexdigest() for n in uploads} == stored

    runner = app.test_cli_runner()
    ok = runner.invoke(args=["ecabinet", "archive", "verify", str(bag_zip)])
    assert ok.exit_code == 0, ok.output
    assert "Archive verified" in ok.output
    assert runner.invoke(args=["ecabinet", "archive", "verify", str(root)]).exit_code == 0

    for name in ("data/minutes.pdf", "data/audit.json", "data/votes.json"):
        target = root / name
        original = target.read_bytes()
        flipped = bytearray(original)
        flipped[len(flipped) // 2] ^= 0x01
        target.write_bytes(bytes(flipped))
        refused = runner.invoke(args=["ecabinet", "archive", "verify", str(root)])
        assert refused.exit_code != 0, name
        assert "FAIL" in refused.output
        target.write_bytes(original)
    corrupted = bytearray(bag_zip.read_bytes())
    corrupted[len(corrupted) // 3] ^= 0x01
    bad = Path(tmp_path / "bad.zip")
    bad.write_bytes(bytes(corrupted))
    assert runner.invoke(args=["ecabinet", "archive", "verify", str(bad)]).exit_code != 0


def test_archive_carries_the_signed_slips_and_report_of_a_ballot_on_the_meetings_documents(closed_session, cast,
                                                                                           app, tmp_path):
    from ballots import service as ballots

    clients, meeting_id = closed_session.clients, closed_session.meeting_id
    document_id = db.session.scalar(sa.select(Document.id).where(Document.meeting_id == meeting_id))
    ballot = ballots.create_ballot(title="Xin ý kiến dự án Luật", summary="Văn phòng Chính phủ xin ý kiến.",
                                   questions=["Đồng ý?"], recipient_ids=[cast.chair.id], document_ids=[document_id],
                                   deadline=utcnow() + timedelta(days=1), actor=cast.secretary)
    ballots.issue_ballot(ballot, actor=cast.secretary)
    ballots.submit_response(ballot, answers=[{"question_id": ballot.questions[0].id, "choice": "agree", "comment": ""}],
                            pin=PIN, idempotency_key=None, actor=cast.chair)
    ballots.close_ballot(ballot, actor=cast.secretary)
    clients["secretary"].post(f"/meetings/{meeting_id}/minutes")
    _sign_both(closed_session)
    bag_zip = tmp_path / "archive.zip"
    bag_zip.write_bytes(clients["chair"].get(f"/meetings/{meeting_id}/archive.zip").data)
    with zipfile.ZipFile(bag_zip) as archive:
        names = archive.namelist()
    assert f"meeting-{meeting_id}/data/ballots/{ballot.id}/report.pdf" in names
    assert any(n.startswith(f"meeting-{meeting_id}/data/ballots/{ballot.id}/slips/") for n in names)
    verified = app.test_cli_runner().invoke(args=["ecabinet", "archive", "verify", str(bag_zip)])
    assert verified.exit_code == 0, verified.output
    assert f"ok   ballots/{ballot.id}/report.pdf" in verified.output


def test_verifier_checks_signatures_and_the_chain_even_with_rewritten_manifests(closed_session, app, tmp_path):
    import json

    clients, meeting_id = closed_session.clients, closed_session.meeting_id
    clients["secretary"].post(f"/meetings/{meeting_id}/minutes")
    _sign_both(closed_session)
    with zipfile.ZipFile(io.BytesIO(clients["secretary"].get(f"/meetings/{meeting_id}/archive.zip").data)) as archive:
        archive.extractall(tmp_path)
    root = tmp_path / f"meeting-{meeting_id}"
    runner = app.test_cli_runner()
    assert runner.invoke(args=["ecabinet", "archive", "verify", "--bag-roots", str(root)]).exit_code == 0

    records = json.loads((root / "data/audit.json").read_text(encoding="utf-8"))
    records[1]["actor"] = "someone-else"
    (root / "data/audit.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    bagit.Bag(str(root)).save(manifests=True)
    refused = runner.invoke(args=["ecabinet", "archive", "verify", str(root)])
    assert refused.exit_code != 0 and "FAIL audit.json: differs from the file the signed statement names" \
        in refused.output
    restate(root)  # even a forger holding the office key: the record no longer matches its hash
    refused = runner.invoke(args=["ecabinet", "archive", "verify", str(root)])
    assert refused.exit_code != 0 and f"FAIL audit chain: record {records[1]['id']}" in refused.output

    (root / "data/minutes.pdf").write_bytes((root / "data/minutes-drafts/v1.pdf").read_bytes())
    restate(root)
    refused = runner.invoke(args=["ecabinet", "archive", "verify", str(root)])
    assert refused.exit_code != 0 and "FAIL minutes.pdf" in refused.output
