"""Refusals of callers who are not logged in are counted, not written one by one to the audit chain;
a logged-in user's refusal is still one audit record each."""

from __future__ import annotations

import json
import logging
from typing import Any

import sqlalchemy as sa

from ecabinet import audit
from ecabinet.audit import AuditRecord
from ecabinet.database import db
from ecabinet.security import anonymous_refusals
from meetings.models import Meeting
from tests.conftest import assert_error
from tests.meetings.factories import STARTS_AT


def records(action: str) -> list[AuditRecord]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == action)
                                   .order_by(AuditRecord.id)))


def all_records() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) or 0


def test_a_flood_of_anonymous_refusals_writes_one_record_per_window(app: Any, client: Any, cast: Any,
                                                                     caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger="ecabinet.security")
    before = all_records()
    for n in range(40):
        response = client.get(f"/api/v1/meetings/{n + 1}")
        assert_error(response, 401, "not_authenticated")
    for _ in range(10):
        response = client.post("/api/v1/meetings", json={"title": "x"}, headers={"Authorization": "Bearer forged"})
        assert_error(response, 401, "not_authenticated")
    assert all_records() == before  # nothing written while the window runs
    counter = anonymous_refusals()
    assert counter.total == 50
    # one log line describes the window's first refusal; the others are only counted
    samples = [r for r in caplog.records if "anonymous refusal" in r.getMessage()]
    assert len(samples) == 1 and "/api/v1/meetings/1" in samples[0].getMessage()

    assert counter.flush(force=True)
    [summary] = records("access.refused_anonymous")
    data = json.loads(summary.data)
    assert data["count"] == 50
    assert data["by_code"] == {"not_authenticated": 50}
    assert data["sample"] == {"status": 401, "code": "not_authenticated", "method": "GET",
                              "path": "/api/v1/meetings/1"}
    assert summary.actor_id is None
    assert all_records() == before + 1
    assert records("access.refused") == []
    assert audit.verify() is None
    assert not counter.flush(force=True)  # an empty window writes nothing


def test_the_window_is_written_by_the_first_refusal_after_it_ends(app: Any, client: Any) -> None:
    counter = anonymous_refusals()
    counter.window = 0.0  # every refusal ends its window
    for _ in range(3):
        assert_error(client.get("/api/v1/me"), 401, "not_authenticated")
    assert [json.loads(r.data)["count"] for r in records("access.refused_anonymous")] == [1, 1, 1]


def test_a_logged_in_users_refusal_is_audited_each_time(api: Any, cast: Any) -> None:
    member = api(cast.member_a)
    body = {"title": "Phiên họp", "kind": "regular", "starts_at": STARTS_AT, "chair_id": cast.chair.id}
    for _ in range(3):
        assert_error(member.post("/meetings", json=body), 403, "secretariat_only")
    refusals = records("access.refused")
    assert len(refusals) == 3
    assert {r.actor_id for r in refusals} == {cast.member_a.id}
    assert anonymous_refusals().total == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == 0
