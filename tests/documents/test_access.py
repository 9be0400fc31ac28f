"""The one-query check of a dossier download gives the same answer as the object checks of the other
documents views (the meetings.access rules), for each member of the cast, meeting state, item,
clearance and version asked for."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from documents import access
from documents.models import Document
from ecabinet.database import db
from ecabinet.errors import AppError
from meetings.models import Participant
from tests.meetings.factories import prepared_meeting, upload

USERS = ["chair", "secretary", "member_a", "member_b", "delegate", "guest", "admin", "outsider"]
NUMBERS = [None, 1, 2]  # the current version, the first, one that does not exist


def through_objects(user, document_id, number):
    """What the other documents views decide (the download's checks before they were one query)."""
    try:
        document = access.get_readable_document_for(user, document_id)
    except AppError as error:
        return type(error).__name__, error.code
    version = document.current_version if number is None else next(
        (v for v in document.versions if v.number == number), None)
    return ("ok", version.id) if version else ("NotFound", "version_not_found")


def in_one_query(user, document_id, number):
    try:
        return "ok", access.get_readable_version_for(user, document_id, number).version_id
    except AppError as error:
        return type(error).__name__, error.code


def both_ways(cast, documents):
    """(user, document, number) → the answers of the two paths."""
    answers = {}
    for name in USERS:
        for document_id in documents:
            for number in NUMBERS:
                db.session.expire_all()
                user = getattr(cast, name)
                answers[name, document_id, number] = (through_objects(user, document_id, number),
                                                      in_one_query(user, document_id, number))
    return answers


def make_documents(api, cast, state):
    """Both items' dossiers, a secret one on item 1, and an id no document has."""
    meeting = prepared_meeting(api, cast, publish=state != "draft")
    secret = upload(api(cast.secretary), meeting["id"], meeting["items"][0]["id"], title="Mật",
                    confidentiality="secret").get_json()
    if state == "delegate_not_approved":
        db.session.execute(sa.update(Participant).where(Participant.id == meeting["delegate"]["id"])
                           .values(approved_at=None))
        db.session.commit()
    return [d["id"] for d in meeting["docs"]] + [secret["id"], db.session.scalar(sa.func.max(Document.id)) + 1]


@pytest.mark.parametrize("state", ["draft", "published", "delegate_not_approved"])
def test_the_download_check_agrees_with_the_object_checks(api, cast, state):
    answers = both_ways(cast, make_documents(api, cast, state))
    disagree = {key: pair for key, pair in answers.items() if pair[0] != pair[1]}
    assert disagree == {}


def test_the_comparison_meets_every_answer(api, cast):
    """Agreement means something only where the cast reaches each kind of answer."""
    answers = both_ways(cast, make_documents(api, cast, "delegate_not_approved"))
    kinds = {answer if answer[0] != "ok" else "ok" for answer, _ in answers.values()}
    assert kinds == {"ok", ("NotFound", "not_found"), ("NotFound", "version_not_found"),
                     ("Forbidden", "clearance_insufficient"), ("Forbidden", "delegate_not_approved")}
