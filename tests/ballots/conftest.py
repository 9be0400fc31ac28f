"""Ballot fixtures: members with certificates (a fast PIN KDF), an issued ballot, poppler tools."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from ballots import service
from ballots.models import Ballot
from ecabinet import keystore
from ecabinet.database import db, utcnow

PIN = "123456"


@pytest.fixture(autouse=True)
def fast_pin_kdf(app: Any) -> None:
    # the production PBKDF2 cost (0.3 s per unlock) only slows the suite; the format is the same
    app.config["PIN_KDF_ROUNDS"] = 1000


@pytest.fixture
def members(cast: Any) -> list[Any]:
    """The five recipients, each with a certificate from the built-in CA under PIN 123456."""
    people = [cast.chair, cast.member_a, cast.member_b, cast.delegate, cast.outsider]
    for user in [*people[:4], cast.guest]:
        keystore.issue_credential(user, PIN, actor=None)
    return people[:4]


@pytest.fixture
def make_ballot(cast: Any, members: list[Any]) -> Callable[..., Ballot]:
    def make(issue: bool = True, recipients: list[Any] | None = None, **kw: Any) -> Ballot:
        ballot = service.create_ballot(
            title=kw.pop("title", "Dự thảo Nghị định về chuyển đổi số"),
            summary="Văn phòng Chính phủ xin ý kiến.",
            questions=kw.pop("questions", ["Đồng ý ban hành?", "Đồng ý hiệu lực từ 01/01/2027?"]),
            recipient_ids=[u.id for u in (recipients or members)],
            deadline=kw.pop("deadline", utcnow() + timedelta(days=2)), actor=cast.secretary, **kw)
        if issue:
            service.issue_ballot(ballot, actor=cast.secretary)
        return ballot

    return make


def answers_for(ballot: Ballot, *choices: str, comment: str = "") -> list[dict[str, Any]]:
    picked = choices or ("agree",) * len(ballot.questions)
    return [{"question_id": q.id, "choice": c, "comment": comment}
            for q, c in zip(ballot.questions, picked, strict=True)]




def age_wrong_pins(seconds: float = 11) -> None:
    """Move the last wrong PIN into the past: a right PIN then forgives it (``PIN_FORGIVE_SECONDS``)."""
    db.session.execute(update(keystore.SigningCredential).values(
        pin_last_wrong_at=utcnow() - timedelta(seconds=seconds)))
    db.session.commit()
