"""The ballots API: lifecycle, signed answers, refusals, revisions, idempotency, concurrency."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from ballots import service
from ballots.models import Ballot, Response, ResponseRevision
from ecabinet import keystore
from ecabinet.audit import AuditRecord
from ecabinet.database import db, utcnow
from ecabinet.signing import validate_signed_pdf
from tests.conftest import assert_error, audit_actions

from .conftest import PIN, age_wrong_pins, answers_for

VIETNAMESE = ("aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệghiìíỉĩịklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvxyỳýỷỹỵ")


def _answer(api: Any, user: Any, ballot: Ballot, *choices: str, pin: str = PIN, key: str | None = None,
            comment: str = "") -> Any:
    headers = {"Idempotency-Key": key} if key else None
    return api(user).post(f"/ballots/{ballot.id}/responses",
                          {"answers": answers_for(ballot, *choices, comment=comment), "pin": pin}, headers=headers)


def test_create_issue_and_read(api: Any, cast: Any, members: list[Any]) -> None:
    secretary = api(cast.secretary)
    created = secretary.post("/ballots", {"title": "Xin ý kiến", "summary": "", "questions": ["Câu một?"],
                                          "recipient_ids": [m.id for m in members],
                                          "deadline": (utcnow() + timedelta(days=1)).isoformat()})
    assert created.status_code == 201, created.get_json()
    ballot = created.get_json()
    assert ballot["status"] == "draft"
    assert api(cast.member_a).get(f"/ballots/{ballot['id']}").status_code == 404  # drafts are not shown
    issued = secretary.post(f"/ballots/{ballot['id']}/issue")
    assert issued.get_json()["status"] == "issued"
    seen = api(cast.member_a).get(f"/ballots/{ballot['id']}").get_json()
    assert "recipients" not in seen
    board = secretary.get(f"/ballots/{ballot['id']}").get_json()
    assert [r["status"] for r in board["recipients"]] == ["pending"] * 4
    assert [b["id"] for b in api(cast.member_a).get("/ballots").get_json()["ballots"]] == [ballot["id"]]
    assert api(cast.outsider).get("/ballots").get_json()["ballots"] == []
    assert_error(api(cast.member_a).post("/ballots", {"title": "x", "questions": ["q"], "recipient_ids": [1],
                                                      "deadline": utcnow().isoformat()}), 403, "secretariat_only")


def test_answer_is_signed_validated_and_stored(api: Any, cast: Any, make_ballot: Any, pdfsig: Any,
                                               pdftotext: Any) -> None:
    ballot = make_ballot()
    response = _answer(api, cast.member_a, ballot, "agree", "other", comment=VIETNAMESE + " " + VIETNAMESE.upper())
    assert response.status_code == 201, response.get_json()
    receipt = response.get_json()
    assert set(receipt) >= {"id", "version", "sha256", "signed_at"} and receipt["version"] == 1
    assert receipt["level"] == "B-B"
    slip = api(cast.member_a).get(f"/ballots/{ballot.id}/responses/{receipt['id']}/pdf")
    assert slip.mimetype == "application/pdf"
    data = slip.get_data()
    import hashlib

    assert hashlib.sha256(data).hexdigest() == receipt["sha256"]
    assert pdfsig(data) == ["Signature is Valid."]
    report = validate_signed_pdf(data, trust_roots=keystore.trust_roots(), crls=keystore.builtin_ca().crls())
    assert report.username == "member_a"
    text = pdftotext(data)
    for letter in VIETNAMESE + VIETNAMESE.upper():
        assert letter in text, letter
    for phrase in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "VĂN PHÒNG CHÍNH PHỦ",
                   "PHIẾU LẤY Ý KIẾN", "Trần Đức Long", "Bộ trưởng Bộ Tài chính", "Hà Nội", "Ý kiến khác"):
        assert phrase in text, phrase
    from ballots.pdf import read_slip_answers

    embedded = read_slip_answers(data)
    assert embedded and [a["choice"] for a in embedded["answers"]] == ["agree", "other"]
    # only the member and the secretariat fetch a slip
    assert api(cast.secretary).get(f"/ballots/{ballot.id}/responses/{receipt['id']}/pdf").status_code == 200
    assert_error(api(cast.member_b).get(f"/ballots/{ballot.id}/responses/{receipt['id']}/pdf"), 404, "not_found")
    board = api(cast.secretary).get(f"/ballots/{ballot.id}").get_json()
    assert [r["status"] for r in board["recipients"] if r["user_id"] == cast.member_a.id] == ["answered"]
    assert "ballot.answered" in audit_actions()


def test_pin_never_reaches_the_audit(api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    _answer(api, cast.member_a, ballot, pin="987654")
    _answer(api, cast.member_a, ballot)
    for data in db.session.scalars(select(AuditRecord.data)):
        assert PIN not in data and "987654" not in data


def test_wrong_pin_is_counted_then_locks(app: Any, api: Any, cast: Any, make_ballot: Any) -> None:
    app.config["PIN_ATTEMPTS"] = 3
    ballot = make_ballot()
    for attempt in range(3):
        assert_error(_answer(api, cast.member_a, ballot, pin="000000"), 403, "wrong_pin")
        assert keystore.active_credential(cast.member_a).failed_attempts == attempt + 1
    assert_error(_answer(api, cast.member_a, ballot), 403, "signing_locked")
    assert db.session.scalar(select(func.count()).select_from(ResponseRevision)) == 0
    assert audit_actions().count("credential.wrong_pin") == 3
    keystore.unlock_credential(keystore.active_credential(cast.member_a), actor=cast.admin)
    assert _answer(api, cast.member_a, ballot).status_code == 201


def test_a_right_pin_resets_the_counter(api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    _answer(api, cast.member_a, ballot, pin="000000")
    age_wrong_pins()
    assert _answer(api, cast.member_a, ballot).status_code == 201
    assert keystore.active_credential(cast.member_a).failed_attempts == 0


def test_a_right_pin_just_after_a_wrong_one_keeps_the_count(api: Any, cast: Any, make_ballot: Any) -> None:
    # a burst's wrong PINs must not be forgiven by a right one among them
    ballot = make_ballot()
    _answer(api, cast.member_a, ballot, pin="000000")
    assert _answer(api, cast.member_a, ballot).status_code == 201
    assert keystore.active_credential(cast.member_a).failed_attempts == 1
    age_wrong_pins()
    assert _answer(api, cast.member_a, ballot).status_code == 201
    assert keystore.active_credential(cast.member_a).failed_attempts == 0


@pytest.mark.parametrize("who", ["outsider", "guest", "admin"])
def test_not_a_recipient(api: Any, cast: Any, make_ballot: Any, who: str) -> None:
    ballot = make_ballot()
    before = len(audit_actions())
    assert_error(_answer(api, getattr(cast, who), ballot), 404, "not_found")
    assert len(audit_actions()) == before


def test_invalid_answers(api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    one = [{"question_id": ballot.questions[0].id, "choice": "agree"}]
    assert_error(api(cast.member_a).post(f"/ballots/{ballot.id}/responses", {"answers": one, "pin": PIN}),
                 422, "invalid_answers")
    bad = [{"question_id": q.id, "choice": "abstain"} for q in ballot.questions]
    response = api(cast.member_a).post(f"/ballots/{ballot.id}/responses", {"answers": bad, "pin": PIN})
    assert response.status_code in (400, 422)
    assert db.session.scalar(select(func.count()).select_from(ResponseRevision)) == 0


def test_closed_ballot_refuses_and_records_the_late_answer(api: Any, cast: Any, make_ballot: Any,
                                                           pdfsig: Any) -> None:
    ballot = make_ballot()
    assert _answer(api, cast.member_a, ballot, "agree", "agree").status_code == 201
    assert _answer(api, cast.member_b, ballot, "agree", "disagree").status_code == 201
    assert _answer(api, cast.chair, ballot, "agree", "other").status_code == 201
    closed = api(cast.secretary).post(f"/ballots/{ballot.id}/close")
    assert closed.status_code == 200, closed.get_json()
    assert_error(_answer(api, cast.delegate, ballot), 409, "ballot_closed")
    assert audit_actions()[-1] == "ballot.late_answer_refused"
    assert db.session.scalar(select(func.count()).select_from(Response)) == 3
    tally = api(cast.member_a).get(f"/ballots/{ballot.id}/tally").get_json()["questions"]
    assert [{k: r[k] for k in ("agree", "disagree", "other", "no_answer", "total_members", "passed")}
            for r in tally] == [
        {"agree": 3, "disagree": 0, "other": 0, "no_answer": 1, "total_members": 4, "passed": True},
        {"agree": 1, "disagree": 1, "other": 1, "no_answer": 1, "total_members": 4, "passed": False}]
    assert [r["question_id"] for r in tally] == [q.id for q in ballot.questions]
    report = api(cast.secretary).get(f"/ballots/{ballot.id}/report.pdf").get_data()
    assert pdfsig(report) == ["Signature is Valid."]
    checked = validate_signed_pdf(report, trust_roots=keystore.trust_roots(), crls=keystore.builtin_ca().crls())
    assert checked.username == "vpcp"
    from ballots.pdf import read_report_tally

    assert read_report_tally(report)["tally"] == tally
    assert_error(api(cast.secretary).post(f"/ballots/{ballot.id}/close"), 409, "ballot_closed")


def test_deadline_closes_without_a_browser(api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    _answer(api, cast.member_a, ballot)
    assert service.close_due_ballots(utcnow()) == []
    assert service.close_due_ballots(ballot.deadline + timedelta(seconds=1)) == [ballot.id]
    db.session.refresh(ballot)
    assert ballot.status == "closed" and ballot.report_pdf
    assert "ballot.closed" in audit_actions()


def test_past_deadline_refused_before_the_scheduler_runs(api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    with db.session.begin_nested():
        ballot.deadline = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert_error(_answer(api, cast.member_a, ballot), 409, "ballot_closed")
    assert audit_actions()[-1] == "ballot.late_answer_refused"


def test_reminders_go_once_to_those_who_have_not_answered(api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot(deadline=utcnow() + timedelta(hours=2))
    _answer(api, cast.member_a, ballot)
    assert service.send_reminders(utcnow()) == 3
    assert service.send_reminders(utcnow()) == 0
    assert audit_actions().count("ballot.reminded") == 3


def test_revisions_keep_every_version(api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    first = _answer(api, cast.member_a, ballot, "disagree", "disagree").get_json()
    second = _answer(api, cast.member_a, ballot, "agree", "agree").get_json()
    assert (first["id"], first["version"], second["version"]) == (second["id"], 1, 2)
    listing = api(cast.secretary).get(f"/ballots/{ballot.id}/responses").get_json()["responses"]
    assert [v["version"] for v in listing[0]["versions"]] == [1, 2]
    old = api(cast.member_a).get(f"/ballots/{ballot.id}/responses/{first['id']}/pdf?version=1").get_data()
    import hashlib

    assert hashlib.sha256(old).hexdigest() == first["sha256"]
    assert service.compute_tally(ballot)[0]["agree"] == 1
    assert_error(api(cast.member_a).get(f"/ballots/{ballot.id}/responses"), 403, "secretariat_only")


def test_same_idempotency_key_returns_the_same_receipt(api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    first = _answer(api, cast.member_a, ballot, key="k-1")
    again = _answer(api, cast.member_a, ballot, key="k-1")
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert db.session.scalar(select(func.count()).select_from(ResponseRevision)) == 1
    assert_error(_answer(api, cast.member_a, ballot, "disagree", "agree", key="k-1"), 409, "idempotency_key_reused")


def test_concurrent_submissions_never_make_two_current_answers(app: Any, api: Any, cast: Any,
                                                               make_ballot: Any) -> None:
    ballot = make_ballot()
    clients = [api(cast.member_a) for _ in range(6)]
    body = {"answers": answers_for(ballot), "pin": PIN}
    results: list[Any] = []
    barrier = threading.Barrier(len(clients))

    def submit(client: Any, key: str) -> None:
        barrier.wait()
        response = client.post(f"/ballots/{ballot.id}/responses", body, headers={"Idempotency-Key": key})
        results.append((response.status_code, response.get_json()))

    keys = ["same", "same", "same", "a", "b", "c"]
    threads = [threading.Thread(target=submit, args=(c, k)) for c, k in zip(clients, keys, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in results] == [201] * 6, results
    db.session.rollback()  # end this thread's read snapshot
    assert db.session.scalar(select(func.count()).select_from(Response)) == 1
    versions = sorted(db.session.scalars(select(ResponseRevision.version)))
    assert versions == [1, 2, 3, 4]
    same = {body["sha256"] for status, body in results if body["version"] in
            {r.version for r in db.session.scalars(select(ResponseRevision).where(
                ResponseRevision.idempotency_key == "same"))}}
    assert len(same) == 1
    assert db.session.scalar(select(Response.current_version)) == 4


def test_b_t_with_a_timestamp_authority(app: Any, api: Any, cast: Any, make_ballot: Any, pdfsig: Any) -> None:
    from tests.signing.local_tsa import LocalTSA

    key, cert = keystore.builtin_ca().issue_tsa_certificate()
    tsa = LocalTSA(key, cert, keystore.builtin_ca().chain).start()
    try:
        app.config["TSA_URL"] = tsa.url
        ballot = make_ballot()
        response = _answer(api, cast.member_a, ballot)
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["level"] == "B-T" and tsa.requests >= 1
        assert db.session.scalar(select(ResponseRevision.level)) == "B-T"
        slip = api(cast.member_a).get(f"/ballots/{ballot.id}/responses/{response.get_json()['id']}/pdf")
        assert pdfsig(slip.get_data()) == ["Signature is Valid."]
    finally:
        tsa.stop()


def test_home_page_lists_the_inbox(app: Any, cast: Any, make_ballot: Any, client: Any) -> None:
    ballot = make_ballot()
    from ballots.web import home_section

    with app.test_request_context():
        section = home_section(cast.member_a)
    assert [item["title"] for item in section["items"]] == [ballot.title]


def test_unknown_attached_document_is_refused(api: Any, cast: Any, members: list[Any]) -> None:
    response = api(cast.secretary).post("/ballots", {
        "title": "Có hồ sơ", "questions": ["Câu?"], "recipient_ids": [m.id for m in members],
        "deadline": (utcnow() + timedelta(days=1)).isoformat(), "document_ids": [987654]})
    assert_error(response, 422, "unknown_document")
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 0
