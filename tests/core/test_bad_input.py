"""Bad input never gives a 500: huge ids, deep JSON, lone surrogates, NUL bytes, extreme dates and wrong
query types each get a 4xx in the error shape with a Vietnamese message, and change nothing.

Run on SQLite and PostgreSQL (ECABINET_TEST_DATABASE_URL): the two fail differently when such a value
reaches them (SQLite overflows past 2**63, PostgreSQL past 2**31 and on any NUL byte).
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import sqlalchemy as sa

from ecabinet.audit import AuditRecord
from ecabinet.database import db
from meetings.models import Meeting
from tests.conftest import assert_error
from tests.meetings.factories import STARTS_AT, create_meeting, prepared_meeting

HUGE = 99999999999999999999  # past SQLite's 64-bit and PostgreSQL's 32-bit integers
BEYOND_INT = 2**31  # the first id PostgreSQL's integer cannot hold
VI = {
    "not_found": "Không tìm thấy.",
    "validation_error": "Một số giá trị không hợp lệ.",
    "invalid_json": "Nội dung yêu cầu không phải JSON hợp lệ.",
    "invalid_characters": "Văn bản chứa ký tự không được phép.",
    "json_too_deep": "Nội dung yêu cầu lồng nhau quá sâu.",
    "request_too_large": "Yêu cầu quá lớn.",
}


def refused(response: Any, status: int, code: str) -> dict[str, Any]:
    error = assert_error(response, status, code)
    assert error["message"] == VI[code]
    return error


def audit_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) or 0


def meeting_rows() -> list[tuple[Any, ...]]:
    return [tuple(row) for row in db.session.execute(sa.select(Meeting.id, Meeting.title, Meeting.starts_at))]


@pytest.fixture
def world(api, cast):
    meeting = prepared_meeting(api, cast)
    db.session.expire_all()
    return {"sec": api(cast.secretary), "member": api(cast.member_a), "meeting": meeting,
            "before": (audit_count(), meeting_rows())}


def assert_nothing_changed(world: dict[str, Any]) -> None:
    db.session.expire_all()
    assert (audit_count(), meeting_rows()) == world["before"]


@pytest.mark.parametrize("path", [
    f"/meetings/{HUGE}", f"/meetings/{BEYOND_INT}", f"/meetings/{HUGE}/live", f"/meetings/{HUGE}/events",
    f"/votes/{HUGE}", f"/documents/{HUGE}/content", f"/ballots/{HUGE}/export.zip", f"/notices/{HUGE}",
    f"/tasks/{BEYOND_INT}", f"/meetings/{HUGE}/agenda/{HUGE}/documents",
])
def test_a_huge_id_in_the_path_is_not_found(world, path):
    method = world["sec"].post if path.endswith("/documents") else world["sec"].get
    refused(method(path), 404, "not_found")
    assert_nothing_changed(world)


def test_a_huge_id_in_a_page_address_is_not_found(world, cast, client):
    response = world["sec"].client.get(f"/meetings/{HUGE}", headers={"Authorization": f"Bearer {world['sec'].token}"})
    assert response.status_code == 404


@pytest.mark.parametrize("value", [HUGE, BEYOND_INT, -BEYOND_INT - 1, str(HUGE), 1e30])
def test_a_huge_id_in_json_is_refused_with_its_field(world, value):
    mid = world["meeting"]["id"]
    error = refused(world["sec"].post(f"/meetings/{mid}/participants", json={"user_id": value, "role": "member"}),
                    422, "validation_error")
    assert "user_id" in error["fields"]
    assert_nothing_changed(world)


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/ballots", {"title": "Phiếu", "questions": ["Đồng ý?"], "recipient_ids": [HUGE],
                  "deadline": "2026-12-20T17:00:00+07:00"}, "recipient_ids"),
    ("/meetings", {"title": "Phiên họp", "kind": "regular", "starts_at": STARTS_AT, "chair_id": BEYOND_INT},
     "chair_id"),
])
def test_huge_ids_anywhere_in_a_body_are_refused(world, path, body, field):
    error = refused(world["sec"].post(path, json=body), 422, "validation_error")
    assert field in error["fields"]
    assert_nothing_changed(world)


def test_a_huge_page_in_a_note_is_refused(world):
    doc = world["meeting"]["docs"][0]["id"]
    error = refused(world["member"].put(f"/documents/{doc}/notes", json={"page": BEYOND_INT, "text": "x"}),
                    422, "validation_error")
    assert "page" in error["fields"]


@pytest.mark.parametrize("depth", [17, 100, 100_000])
def test_deeply_nested_json_is_refused_before_any_view(world, depth):
    body = "[" * depth + "]" * depth
    refused(world["sec"].post("/meetings", data=body, content_type="application/json"), 400, "json_too_deep")
    nested = '{"title": ' + "{\"a\": " * depth + "1" + "}" * depth + "}"
    refused(world["sec"].post("/meetings", data=nested, content_type="application/json"), 400, "json_too_deep")
    assert_nothing_changed(world)


def test_deep_json_is_refused_on_the_public_login_route_too(client):
    depth = 50_000
    response = client.post("/api/v1/auth/token", data="[" * depth + "]" * depth, content_type="application/json")
    refused(response, 400, "json_too_deep")


@pytest.mark.parametrize("raw", [
    '{"title": "Phi\\ud800n h\\u1ecdp", "kind": "regular", "chair_id": 1, ',
    '{"title": "a\\u0000b", "kind": "regular", "chair_id": 1, ',
    '{"ti\\udfffle": "x", "kind": "regular", "chair_id": 1, ',
    '{"title": "ok", "kind": "regular", "chair_id": 1, "extra": ["\\udc00"], ',
])
def test_a_lone_surrogate_or_a_nul_in_json_text_is_refused(world, raw):
    body = raw + f'"starts_at": "{STARTS_AT}"}}'
    refused(world["sec"].post("/meetings", data=body, content_type="application/json"), 400, "invalid_characters")
    assert_nothing_changed(world)


@pytest.mark.parametrize("raw", ['{"page": NaN, "text": "x"}', '{"page": Infinity, "text": "x"}',
                                 '{"page": 1, "text": "x"', b'{"text": "\xff\xfe"}'])
def test_what_is_not_json_is_invalid_json(world, raw):
    doc = world["meeting"]["docs"][0]["id"]
    refused(world["member"].put(f"/documents/{doc}/notes", data=raw, content_type="application/json"),
            400, "invalid_json")


def test_a_nul_in_a_form_field_of_an_upload_is_refused(world):
    from tests.documents import corpus

    mid, item = world["meeting"]["id"], world["meeting"]["items"][0]["id"]
    form = {"file": (io.BytesIO(corpus.valid_pdf()), "a.pdf"), "title": "Tờ\x00trình", "confidentiality": "normal"}
    error = refused(world["sec"].post(f"/meetings/{mid}/agenda/{item}/documents", data=form,
                                      content_type="multipart/form-data"), 422, "validation_error")
    assert error["fields"]["title"] == ["Văn bản chứa ký tự không được phép."]
    assert_nothing_changed(world)


def test_a_nul_in_the_login_form_is_refused(client):
    response = client.post("/login", data={"username": "chair\x00", "password": "x"})
    assert response.status_code == 400


@pytest.mark.parametrize("starts_at", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00",
                                       "0001-01-01T00:00:00Z", "9999-12-31T23:59:59+00:00",
                                       "1899-12-31T23:59:59+00:00", "3000-01-01T07:00:00+07:00"])
def test_an_extreme_date_is_refused(world, cast, starts_at):
    body = {"title": "Phiên họp", "kind": "regular", "starts_at": starts_at, "chair_id": cast.chair.id}
    error = refused(world["sec"].post("/meetings", json=body), 422, "validation_error")
    assert error["fields"]["starts_at"] == ["Ngày phải nằm trong khoảng từ năm 1900 đến năm 2999."]
    mid = world["meeting"]["id"]
    refused(world["sec"].patch(f"/meetings/{mid}", json={"starts_at": starts_at}), 422, "validation_error")
    assert_nothing_changed(world)


def test_dates_just_inside_the_range_are_accepted(world, cast):
    for starts_at in ("1900-01-01T07:00:00+07:00", "2999-12-31T23:59:59+00:00"):
        meeting = create_meeting(world["sec"], cast, starts_at=starts_at)
        assert world["sec"].get(f"/meetings/{meeting['id']}").status_code == 200


@pytest.mark.parametrize("query", ["/search?limit=abc", "/search?limit=" + str(HUGE), "/search?kind=1",
                                   "/tasks?owner_user_id=abc", f"/tasks?meeting_id={HUGE}", "/tasks?mine=maybe",
                                   "/meetings/{mid}/events?after=abc", f"/meetings/{{mid}}/events?after={HUGE}",
                                   "/meetings/{mid}/events?after=-1", "/documents/{doc}/content?version=x",
                                   f"/documents/{{doc}}/content?version={HUGE}",
                                   f"/meetings/{{mid}}/minutes.pdf?version={HUGE}"])
def test_a_wrong_type_in_a_query_string_is_refused(world, query):
    url = query.format(mid=world["meeting"]["id"], doc=world["meeting"]["docs"][0]["id"])
    refused(world["sec"].get(url), 422, "validation_error")


@pytest.mark.parametrize("query", ["/search?q=ngh%00i", "/meetings?x=%00", "/search?q=a&kind=%00"])
def test_a_nul_in_a_query_string_is_refused(world, query):
    refused(world["sec"].get(query), 400, "invalid_characters")


def test_a_bad_draft_or_bad_answers_in_a_slip_query_are_refused(api, cast):
    from datetime import timedelta

    from ballots import service
    from ecabinet.database import utcnow

    ballot = service.create_ballot(title="Dự thảo Nghị định", summary="", questions=["Đồng ý?"],
                                   recipient_ids=[cast.member_a.id], deadline=utcnow() + timedelta(days=2),
                                   actor=cast.secretary)
    service.issue_ballot(ballot, actor=cast.secretary)
    member = api(cast.member_a)
    assert_error(member.get(f"/ballots/{ballot.id}/slip.pdf?draft={HUGE}"), 404, "not_found")
    deep = "[" * 100_000 + "]" * 100_000
    refused(member.get(f"/ballots/{ballot.id}/slip.pdf", query_string={"answers": deep}), 400, "json_too_deep")
    nul = json.dumps([{"question_id": ballot.questions[0].id, "choice": "agree", "comment": "a\x00b"}])
    refused(member.get(f"/ballots/{ballot.id}/slip.pdf", query_string={"answers": nul}), 400, "invalid_characters")
