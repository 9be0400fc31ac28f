"""A reader's private highlights and ink: kept per member per page, restored when the page is reopened,
never seen by anyone else, refused whole when malformed."""

from __future__ import annotations

import json

import pytest

from ecabinet.audit import AuditRecord
from ecabinet.database import db
from tests.conftest import assert_error, audit_actions
from tests.meetings.factories import prepared_meeting

HIGHLIGHT = {"kind": "highlight", "x": 0.1, "y": 0.2, "w": 0.5, "h": 0.04}
INK = {"kind": "ink", "points": [[0.1, 0.5], [0.2, 0.55], [0.333333, 0.6]]}


@pytest.fixture
def dossier(api, cast):
    meeting = prepared_meeting(api, cast)
    return meeting["docs"][0]["id"]


def test_marks_are_private_restored_per_page_and_removed_when_emptied(api, cast, dossier):
    a, b = api(cast.member_a), api(cast.member_b)
    saved = a.put(f"/documents/{dossier}/annotations", json={"page": 2, "marks": [HIGHLIGHT, INK]})
    assert saved.status_code == 200
    body = saved.get_json()
    assert body["page"] == 2 and body["updated_at"].endswith("+07:00")
    assert body["marks"][1]["points"][2] == [0.3333, 0.6]  # fractions of the page, rounded
    assert b.put(f"/documents/{dossier}/annotations", json={"page": 2, "marks": [INK]}).status_code == 200
    mine = a.get(f"/documents/{dossier}/annotations").get_json()["annotations"]
    assert [(row["page"], [m["kind"] for m in row["marks"]]) for row in mine] == [(2, ["highlight", "ink"])]
    theirs = b.get(f"/documents/{dossier}/annotations").get_json()["annotations"]
    assert [(row["page"], [m["kind"] for m in row["marks"]]) for row in theirs] == [(2, ["ink"])]
    # the audit says that and how many, never where
    record = db.session.scalars(db.select(AuditRecord).where(AuditRecord.action == "annotations.saved")
                                .order_by(AuditRecord.id)).first()
    assert json.loads(record.data) == {"page": 2, "marks": 2}
    assert a.put(f"/documents/{dossier}/annotations", json={"page": 2, "marks": []}).status_code == 200
    assert a.get(f"/documents/{dossier}/annotations").get_json()["annotations"] == []
    assert len(b.get(f"/documents/{dossier}/annotations").get_json()["annotations"]) == 1


def test_someone_who_may_not_read_the_dossier_cannot_mark_it_nor_learn_it_exists(api, cast, dossier):
    outsider = api(cast.outsider)
    assert_error(outsider.get(f"/documents/{dossier}/annotations"), 404, "not_found")
    assert_error(outsider.put(f"/documents/{dossier}/annotations", json={"page": 1, "marks": [INK]}), 404, "not_found")
    assert "annotations.saved" not in audit_actions()


@pytest.mark.parametrize("marks", [
    "not a list",
    [{"kind": "circle", "x": 0.1, "y": 0.1}],
    [{**HIGHLIGHT, "x": 1.2}],
    [{**HIGHLIGHT, "x": 0.8, "w": 0.5}],
    [{**HIGHLIGHT, "w": 0}],
    [{**HIGHLIGHT, "y": True}],
    [{**HIGHLIGHT, "h": "0.1"}],
    [{"kind": "ink", "points": [[0.1, 0.1]]}],
    [{"kind": "ink", "points": [[0.1, 0.1], [0.2]]}],
    [{"kind": "ink", "points": [[0.1, 0.1], [-0.1, 0.2]]}],
    [HIGHLIGHT] * 301,
    [{"kind": "ink", "points": [[0.5, 0.5]] * 10001}] * 2,
])
def test_malformed_marks_are_refused_whole_and_change_nothing(api, cast, dossier, marks):
    a = api(cast.member_a)
    assert a.put(f"/documents/{dossier}/annotations", json={"page": 1, "marks": [INK]}).status_code == 200
    before = audit_actions()
    assert_error(a.put(f"/documents/{dossier}/annotations", json={"page": 1, "marks": marks}), 422, "validation_error")
    assert audit_actions() == before
    kept = a.get(f"/documents/{dossier}/annotations").get_json()["annotations"]
    assert [row["marks"] for row in kept] == [[INK | {"points": [[0.1, 0.5], [0.2, 0.55], [0.3333, 0.6]]}]]


def test_a_page_outside_the_document_is_refused(api, cast, dossier):
    a = api(cast.member_a)
    assert_error(a.put(f"/documents/{dossier}/annotations", json={"page": 99, "marks": [INK]}), 422, "validation_error")
    assert_error(a.put(f"/documents/{dossier}/annotations", json={"page": 0, "marks": [INK]}), 422, "validation_error")
