"""Request shapes of the ballots API (they also feed the OpenAPI document)."""

from typing import Any

from apiflask import Schema
from apiflask.fields import AwareDateTime, Integer, List, Nested, String
from apiflask.validators import Length, OneOf

from ballots import service
from ballots.models import Ballot, Response
from ecabinet.auth.models import User


class BallotIn(Schema):
    title = String(required=True, validate=Length(1, 500))
    summary = String(load_default="", validate=Length(max=20000))
    questions = List(String(validate=Length(1, 5000)), required=True, validate=Length(1, 100))
    recipient_ids = List(Integer(), required=True, validate=Length(1, 500))
    deadline = AwareDateTime(required=True)
    document_ids = List(Integer(), load_default=list)
    non_answer_policy = String(validate=OneOf(["not_counted", "agree"]))


class AnswerIn(Schema):
    question_id = Integer(required=True)
    choice = String(required=True, validate=OneOf(["agree", "disagree", "other"]))
    comment = String(load_default="", validate=Length(max=5000))


class ResponseIn(Schema):
    answers = List(Nested(AnswerIn), required=True)
    pin = String(required=True, validate=Length(max=64))


class SlipIn(Schema):
    answers = List(Nested(AnswerIn), required=True)


def dump_ballot(ballot: Ballot, user: User) -> dict[str, Any]:
    """The ballot as the caller sees it; the secretariat also sees who has answered."""
    out: dict[str, Any] = {
        "id": ballot.id, "number": ballot.number, "title": ballot.title, "summary": ballot.summary,
        "status": ballot.status, "deadline": ballot.deadline.isoformat(), "document_ids": ballot.document_ids,
        "non_answer_policy": ballot.non_answer_policy,
        "issued_at": ballot.issued_at.isoformat() if ballot.issued_at else None,
        "closed_at": ballot.closed_at.isoformat() if ballot.closed_at else None,
        "questions": [{"id": q.id, "position": q.position, "text": q.text} for q in ballot.questions],
    }
    responses = service.responses_by_user(ballot)
    if user.is_secretariat:
        out["recipients"] = [{"user_id": r.user_id, "status": "answered" if r.user_id in responses else "pending",
                              "answered_at": responses[r.user_id].answered_at.isoformat()
                              if r.user_id in responses else None} for r in ballot.recipients]
    mine = responses.get(user.id)
    if mine is not None:
        current = mine.revisions[-1]
        out["my_response"] = {**current.receipt(), "answers": current.answers}
    return out


def dump_response(response: Response) -> dict[str, Any]:
    """A member's answer with every version (what the secretariat sees)."""
    return {"id": response.id, "user_id": response.user_id, "current_version": response.current_version,
            "versions": [{**r.receipt(), "answers": r.answers, "method": r.method} for r in response.revisions]}
