"""Request shapes of the ballots API (they also feed the OpenAPI document)."""

from apiflask import Schema
from apiflask.fields import AwareDateTime, Integer, List, Nested, String
from apiflask.validators import Length, OneOf


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
