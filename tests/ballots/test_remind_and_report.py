"""The secretariat's reminder button (API) and the summary report that lists every "other opinion" in full."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from ballots import service
from ballots.models import Recipient
from ecabinet.audit import AuditRecord
from ecabinet.database import db, utcnow
from ecabinet.realtime import UserEvent
from tests.conftest import assert_error, audit_actions

from .conftest import PIN, answers_for

COMMENT = ("Đề nghị lùi hiệu lực đến ngày 01/7/2027 để các bộ, ngành kịp ban hành văn bản hướng dẫn "
           "và bố trí kinh phí triển khai; đồng thời bổ sung quy định chuyển tiếp.")


def reminders() -> list[UserEvent]:
    return list(db.session.scalars(sa.select(UserEvent).where(UserEvent.type == "ballot.reminder")))


def test_remind_reaches_only_those_who_have_not_answered(api: Any, cast: Any, make_ballot: Any, members: Any) -> None:
    ballot = make_ballot()
    api(cast.member_a).post(f"/ballots/{ballot.id}/responses", {"answers": answers_for(ballot), "pin": PIN})
    response = api(cast.secretary).post(f"/ballots/{ballot.id}/remind")
    assert response.status_code == 200
    pending = sorted(u.id for u in members if u.id != cast.member_a.id)
    assert sorted(response.get_json()["reminded"]) == pending
    assert sorted(event.user_id for event in reminders()) == pending  # each on their own stream
    assert all(event.payload()["data"]["ballot_id"] == ballot.id for event in reminders())
    record = db.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "ballot.reminded")).one()
    assert sorted(json.loads(record.data)["user_ids"]) == pending and record.actor_id == cast.secretary.id
    reminded = {r.user_id: r.reminded_at for r in db.session.scalars(sa.select(Recipient).where(
        Recipient.ballot_id == ballot.id))}
    assert reminded[cast.member_a.id] is None and all(reminded[i] is not None for i in pending)


@pytest.mark.parametrize(("who", "status", "code"), [("member_a", 403, "secretariat_only"),
                                                     ("outsider", 404, "not_found")])
def test_only_the_secretariat_reminds(api: Any, cast: Any, make_ballot: Any, who: str, status: int,
                                      code: str) -> None:
    ballot = make_ballot()
    before = audit_actions()
    assert_error(api(getattr(cast, who)).post(f"/ballots/{ballot.id}/remind"), status, code)
    new = audit_actions()[len(before):]
    assert new == (["access.refused"] if status == 403 else [])  # the refusal itself is audited
    assert reminders() == []
    assert all(r.reminded_at is None for r in db.session.scalars(sa.select(Recipient)))


def test_a_closed_ballot_reminds_no_one(api: Any, cast: Any, make_ballot: Any) -> None:
    ballot = make_ballot()
    api(cast.secretary).post(f"/ballots/{ballot.id}/close")
    before = audit_actions()
    error = assert_error(api(cast.secretary).post(f"/ballots/{ballot.id}/remind"), 409, "ballot_closed")
    assert error["message"] == "Phiếu lấy ý kiến đã kết thúc; không nhận thêm ý kiến."
    assert audit_actions() == before and reminders() == []


def test_the_report_lists_each_other_opinion_in_full(api: Any, cast: Any, make_ballot: Any, tmp_path: Any) -> None:
    ballot = make_ballot(deadline=utcnow() + timedelta(days=1))
    answers = answers_for(ballot, "agree", "other", comment="")
    answers[1]["comment"] = COMMENT
    assert api(cast.member_a).post(f"/ballots/{ballot.id}/responses", {"answers": answers, "pin": PIN}).status_code == 201
    api(cast.secretary).post(f"/ballots/{ballot.id}/close")
    report = api(cast.secretary).get(f"/ballots/{ballot.id}/report.pdf").get_data()
    (tmp_path / "report.pdf").write_bytes(report)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "report.pdf"), "-"], check=True,
                          capture_output=True, text=True).stdout
    flat = " ".join(text.split())
    assert "Câu 2 — Trần Đức Long, Bộ trưởng Bộ Tài chính (Ý kiến khác):" in flat
    assert " ".join(COMMENT.split()) in flat
    assert service.compute_tally(ballot)[1]["other"] == 1
