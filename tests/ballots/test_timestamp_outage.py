"""A timestamp authority that is down or answers garbage: answers are refused cleanly (nothing stored,
the PIN not counted, a retry succeeds once it is back), and ballots still close with a B-B report."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from ballots import service
from ballots.messages_vi import VI
from ballots.models import Response, ResponseRevision
from ecabinet import keystore
from ecabinet.audit import AuditRecord
from ecabinet.database import db
from ecabinet.signing import BuiltinCA, validate_signed_pdf
from tests.conftest import assert_error, audit_actions
from tests.signing.local_tsa import BrokenTSA, LocalTSA, closed_port_url

from .conftest import PIN, answers_for

UNAVAILABLE_EN = ("The timestamp service cannot be reached right now; your answer was not recorded. "
                  "Please try again in a few minutes.")
NOT_TIMESTAMPED_EN = ("The timestamp service could not be reached: the summary report was signed without a "
                      "timestamp (PAdES B-B).")


@pytest.fixture(params=["closed-port", "garbage-reply", "html-page", "untrusted-token"])
def broken_tsa(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a timestamp authority that gives no usable token."""
    if request.param == "closed-port":
        yield closed_port_url()
        return
    server: BrokenTSA | LocalTSA
    if request.param == "untrusted-token":
        rogue = BuiltinCA.create_or_load(tmp_path / "rogue", organisation="Mạo danh")
        key, cert = rogue.issue_tsa_certificate(common_name="Rogue TSA")
        server = LocalTSA(key, cert, rogue.chain).start()
    elif request.param == "garbage-reply":
        server = BrokenTSA(b"\x30\x03garbage").start()
    else:
        server = BrokenTSA(b"<html>Bad gateway</html>", content_type="text/html").start()
    yield server.url
    server.stop()


@pytest.fixture
def working_tsa() -> Iterator[LocalTSA]:
    key, cert = keystore.builtin_ca().issue_tsa_certificate()
    server = LocalTSA(key, cert, keystore.builtin_ca().chain).start()
    yield server
    server.stop()


def _answer(api: Any, user: Any, ballot: Any, *, key: str, headers: dict[str, str] | None = None) -> Any:
    return api(user).post(f"/ballots/{ballot.id}/responses", {"answers": answers_for(ballot), "pin": PIN},
                          headers={"Idempotency-Key": key, **(headers or {})})


def _stored() -> tuple[int, int]:
    db.session.rollback()
    return (db.session.scalar(select(func.count()).select_from(Response)) or 0,
            db.session.scalar(select(func.count()).select_from(ResponseRevision)) or 0)


def _assert_refused_cleanly(response: Any, user: Any, before: list[str]) -> None:
    error = assert_error(response, 503, "timestamp_unavailable")
    assert error["message"] == VI[UNAVAILABLE_EN]
    assert _stored() == (0, 0)
    assert keystore.active_credential(user).failed_attempts == 0
    assert audit_actions() == before  # nothing stored, and no wrong PIN counted


def test_an_answer_while_the_tsa_is_down_is_refused_then_the_retry_succeeds(
        app: Any, api: Any, cast: Any, make_ballot: Any, broken_tsa: str, working_tsa: LocalTSA,
        caplog: pytest.LogCaptureFixture) -> None:
    ballot = make_ballot()
    app.config["TSA_URL"] = broken_tsa
    before = audit_actions()
    with caplog.at_level(logging.WARNING, logger="ballots.service"):
        _assert_refused_cleanly(_answer(api, cast.member_a, ballot, key="k-1"), cast.member_a, before)
    logged = [r.getMessage() for r in caplog.records if "timestamp authority unavailable" in r.getMessage()]
    assert len(logged) == 1 and f"ballot {ballot.id}" in logged[0]
    assert all(PIN not in r.getMessage() and broken_tsa not in r.getMessage() for r in caplog.records)
    english = _answer(api, cast.member_a, ballot, key="k-1", headers={"Accept-Language": "en"})
    assert assert_error(english, 503, "timestamp_unavailable")["message"] == UNAVAILABLE_EN

    app.config["TSA_URL"] = working_tsa.url
    retried = _answer(api, cast.member_a, ballot, key="k-1")
    assert retried.status_code == 201, retried.get_json()
    assert retried.get_json()["level"] == "B-T" and retried.get_json()["version"] == 1
    assert _stored() == (1, 1)
    assert _answer(api, cast.member_a, ballot, key="k-1").get_json() == retried.get_json()


def _closed_audit(ballot_id: int) -> dict[str, Any]:
    data = db.session.scalar(select(AuditRecord.data).where(AuditRecord.action == "ballot.closed",
                                                            AuditRecord.object_id == str(ballot_id)))
    return json.loads(data)


def _assert_closed_b_b(api: Any, cast: Any, ballot: Any, pdfsig: Any) -> None:
    db.session.refresh(ballot)
    assert ballot.status == "closed" and ballot.tally[0]["agree"] == 2
    report = api(cast.secretary).get(f"/ballots/{ballot.id}/report.pdf").get_data()
    assert pdfsig(report) == ["Signature is Valid."]
    checked = validate_signed_pdf(report, trust_roots=keystore.trust_roots(), crls=keystore.builtin_ca().crls())
    assert checked.level == "B-B" and checked.username == "vpcp"
    recorded = _closed_audit(ballot.id)
    assert (recorded["report_level"], recorded["timestamp"]) == ("B-B", "unavailable")


def test_the_secretariat_closes_while_the_tsa_is_down(app: Any, api: Any, cast: Any, make_ballot: Any,
                                                      broken_tsa: str, pdfsig: Any) -> None:
    ballot = make_ballot()
    for user in (cast.member_a, cast.member_b):
        assert _answer(api, user, ballot, key="k").status_code == 201
    app.config["TSA_URL"] = broken_tsa
    closed = api(cast.secretary).post(f"/ballots/{ballot.id}/close")
    assert closed.status_code == 200, closed.get_json()
    body = closed.get_json()
    assert body["status"] == "closed" and body["report_level"] == "B-B"
    assert body["notice"] == {"code": "report_not_timestamped", "message": VI[NOT_TIMESTAMPED_EN]}
    _assert_closed_b_b(api, cast, ballot, pdfsig)
    assert_error(_answer(api, cast.chair, ballot, key="late"), 409, "ballot_closed")


def test_the_deadline_closes_while_the_tsa_is_down(app: Any, api: Any, cast: Any, make_ballot: Any,
                                                   broken_tsa: str, pdfsig: Any) -> None:
    ballot = make_ballot()
    for user in (cast.member_a, cast.chair):
        assert _answer(api, user, ballot, key="k").status_code == 201
    app.config["TSA_URL"] = broken_tsa
    assert service.close_due_ballots(ballot.deadline + timedelta(seconds=1)) == [ballot.id]
    _assert_closed_b_b(api, cast, ballot, pdfsig)
    assert _closed_audit(ballot.id)["by"] == "deadline"


def test_a_close_with_the_tsa_up_is_b_t_and_says_so(app: Any, api: Any, cast: Any, make_ballot: Any,
                                                    working_tsa: LocalTSA) -> None:
    ballot = make_ballot()
    app.config["TSA_URL"] = working_tsa.url
    closed = api(cast.secretary).post(f"/ballots/{ballot.id}/close", headers={"Accept-Language": "en"})
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["report_level"] == "B-T" and "notice" not in closed.get_json()
    assert _closed_audit(ballot.id)["timestamp"] == "ok"
