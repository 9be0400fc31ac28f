"""A ballot about a classified dossier is classified with it: only members cleared for the level
receive it, nobody below the level finds it (list, page, report, search), and its report carries the
level's marking."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from ballots import service
from ballots.models import Ballot
from ecabinet.auth.models import Confidentiality, Role
from ecabinet.database import db, utcnow
from ecabinet.errors import AppError
from tests.conftest import assert_error, make_user
from tests.meetings.factories import create_meeting, upload


@pytest.fixture
def secret_dossier(api: Any, cast: Any) -> int:
    sec = api(cast.secretary)
    meeting = create_meeting(sec, cast, confidentiality="secret", title="Phiên họp chuyên đề quốc phòng")
    item = sec.post(f"/meetings/{meeting['id']}/agenda", json={"title": "Kế hoạch phòng thủ"}).get_json()
    response = upload(sec, meeting["id"], item["id"], confidentiality="secret", title="Đề án phòng thủ")
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _draft(cast: Any, recipients: list[Any], document_ids: list[int]) -> Ballot:
    return service.create_ballot(title="Ý kiến về Đề án phòng thủ", summary="Xin ý kiến thành viên Chính phủ.",
                                 questions=["Đồng ý thông qua Đề án?"], recipient_ids=[u.id for u in recipients],
                                 deadline=utcnow() + timedelta(days=2), document_ids=document_ids,
                                 actor=cast.secretary)


def test_a_recipient_below_the_dossiers_level_is_refused(app, cast, secret_dossier):
    with pytest.raises(AppError) as refused:
        _draft(cast, [cast.chair, cast.member_a, cast.member_b], [secret_dossier])
    assert refused.value.status == 422 and refused.value.code == "recipient_not_cleared"
    assert refused.value.message == ("Có người nhận chưa được cấp quyền tiếp cận bí mật nhà nước ở độ mật "
                                     "của hồ sơ kèm theo.")
    assert refused.value.fields == {"recipient_ids": [cast.member_b.id]}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 0


def test_nobody_below_the_level_finds_the_ballot_and_its_report_is_marked(app, api, cast, secret_dossier,
                                                                          pdftotext):
    ballot = _draft(cast, [cast.chair, cast.member_a], [secret_dossier])
    service.issue_ballot(ballot, actor=cast.secretary)
    junior = make_user("junior_secretary", roles=[Role.SECRETARY], clearance=Confidentiality.CONFIDENTIAL)
    db.session.commit()
    assert ballot.id in [b["id"] for b in api(cast.member_a).get("/ballots").get_json()["ballots"]]
    assert api(cast.member_a).get(f"/ballots/{ballot.id}").status_code == 200
    assert ballot.id not in [b["id"] for b in api(junior).get("/ballots").get_json()["ballots"]]
    assert_error(api(junior).get(f"/ballots/{ballot.id}"), 404, "not_found")
    assert_error(api(junior).post(f"/ballots/{ballot.id}/close"), 404, "not_found")
    def ballots_found(user: Any) -> list[int]:
        hits = api(user).get("/search", query_string={"q": "Ý kiến về Đề án phòng thủ"}).get_json()["results"]
        return [hit["id"] for hit in hits if hit["kind"] == "ballot"]

    assert ballots_found(cast.secretary) == [ballot.id] and ballots_found(junior) == []
    assert api(cast.secretary).post(f"/ballots/{ballot.id}/close").status_code == 200
    assert_error(api(junior).get(f"/ballots/{ballot.id}/report.pdf"), 404, "not_found")
    report = api(cast.secretary).get(f"/ballots/{ballot.id}/report.pdf")
    assert report.status_code == 200
    assert "TỐI MẬT" in pdftotext(report.get_data())


def test_a_ballot_without_classified_dossiers_is_unmarked(app, api, cast, pdftotext):
    ballot = _draft(cast, [cast.chair, cast.member_a, cast.member_b], [])
    service.issue_ballot(ballot, actor=cast.secretary)
    assert api(cast.secretary).post(f"/ballots/{ballot.id}/close").status_code == 200
    assert "MẬT" not in pdftotext(api(cast.secretary).get(f"/ballots/{ballot.id}/report.pdf").get_data())
