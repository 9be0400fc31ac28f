"""Request shapes of the live-session API (they also feed the OpenAPI document)."""

from apiflask import Schema
from apiflask.fields import Boolean, Integer, List, String
from apiflask.validators import Length, OneOf, Range


class AttendanceIn(Schema):
    user_id = Integer(required=True)
    present = Boolean(required=True)
    absence_reason = String(validate=Length(max=500))


class PresentIn(Schema):
    document_id = Integer(required=True)
    page = Integer(required=True, validate=Range(min=1))


class VoteIn(Schema):
    agenda_item_id = Integer(allow_none=True)
    question = String(required=True, validate=Length(1, 2000))
    secret = Boolean(load_default=False)


class CastIn(Schema):
    choice = String(required=True, validate=OneOf(["agree", "disagree", "abstain"]))


class ConclusionIn(Schema):
    text = String(required=True, validate=Length(1, 20000))


class ConsentAdoptIn(Schema):
    #: the block exactly as the chair was shown it (GET .../consent-block)
    agenda_item_ids = List(Integer(), required=True, validate=Length(max=1000))


class ConsentWithdrawIn(Schema):
    reason = String(required=True, validate=OneOf(["objection", "wish_to_speak"]))


class EventsQuery(Schema):
    after = Integer(load_default=0, validate=Range(min=0))


class EnqueueIn(Schema):
    user_id = Integer(required=True)


class DisplayIn(Schema):
    name = String(required=True, validate=Length(1, 200))
