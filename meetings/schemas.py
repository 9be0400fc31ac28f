"""Request shapes of the meetings API (they feed the OpenAPI document) and the JSON it answers with."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from apiflask import Schema
from apiflask.fields import AwareDateTime, Integer, List, String
from apiflask.validators import Length, OneOf, Range

from ecabinet.auth.models import User
from meetings import access
from meetings.models import AgendaItem, ItemPosition, Meeting, Participant

SHOWN_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
KINDS = ["regular", "thematic", "extraordinary"]
LEVELS = ["normal", "confidential", "secret", "top_secret"]
STANCES = ["agree", "objection", "wish_to_speak"]


class MeetingIn(Schema):
    title = String(required=True, validate=Length(1, 300))
    kind = String(required=True, validate=OneOf(KINDS))
    starts_at = AwareDateTime(required=True)
    location = String(load_default="", validate=Length(max=300))
    chair_id = Integer(required=True)
    confidentiality = String(load_default="normal", validate=OneOf(LEVELS))


class MeetingPatch(Schema):
    title = String(validate=Length(1, 300))
    kind = String(validate=OneOf(KINDS))
    starts_at = AwareDateTime()
    location = String(validate=Length(max=300))
    chair_id = Integer()
    confidentiality = String(validate=OneOf(LEVELS))


class ParticipantIn(Schema):
    user_id = Integer(required=True)
    role = String(required=True, validate=OneOf(["member", "delegate", "guest"]))
    represents_user_id = Integer(allow_none=True)
    agenda_item_ids = List(Integer(), load_default=list)


class AgendaItemIn(Schema):
    title = String(required=True, validate=Length(1, 500))
    presenter = String(load_default="", validate=Length(max=300))
    duration_minutes = Integer(load_default=15, validate=Range(1, 600))


class AgendaItemPatch(Schema):
    title = String(validate=Length(1, 500))
    presenter = String(validate=Length(max=300))
    duration_minutes = Integer(validate=Range(1, 600))
    position = Integer(validate=Range(min=1))


class PositionIn(Schema):
    stance = String(required=True, validate=OneOf(STANCES))


def shown(value: datetime | None) -> str | None:
    return value.astimezone(SHOWN_ZONE).isoformat() if value else None


def user_brief(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.id, "full_name": user.full_name, "title": user.title}


def dump_participant(participant: Participant) -> dict[str, Any]:
    return {"id": participant.id, "user_id": participant.user_id, "role": str(participant.role),
            "user": user_brief(participant.user),
            "represents_user_id": participant.represents_user_id, "represents": user_brief(participant.represents),
            "approved": participant.approved_at is not None, "approved_at": shown(participant.approved_at),
            "agenda_item_ids": list(participant.agenda_item_ids or [])}


def dump_item(item: AgendaItem, *, documents: list[dict[str, Any]] | None = None,
              my_position: ItemPosition | None = None, tally: dict[str, int] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": item.id, "meeting_id": item.meeting_id, "position": item.position,
                            "title": item.title, "presenter": item.presenter,
                            "duration_minutes": item.duration_minutes, "conclusion": item.conclusion,
                            "adopted_without_discussion": item.adopted_without_discussion}
    if documents is not None:
        body["documents"] = documents
        body["my_position"] = str(my_position.stance) if my_position else None
    if tally is not None:
        body["tally"] = tally
    return body


def dump_meeting_summary(meeting: Meeting) -> dict[str, Any]:
    return {"id": meeting.id, "title": meeting.title, "kind": str(meeting.kind), "starts_at": shown(meeting.starts_at),
            "location": meeting.location, "chair_id": meeting.chair_id, "chair": user_brief(meeting.chair),
            "confidentiality": str(meeting.confidentiality), "status": str(meeting.status),
            "published_at": shown(meeting.published_at)}


def dump_meeting(meeting: Meeting, viewer: User) -> dict[str, Any]:
    """The meeting as ``viewer`` may see it: guests get only their items, tallies only for chair and secretariat."""
    from documents.views import documents_of_item
    from meetings import service

    participant = access.participant_of(meeting, viewer)
    see_tally = access.may_see_tally(meeting, viewer)
    positions = {p.agenda_item_id: p for p in _positions_of(meeting, viewer)}
    agenda = [dump_item(item, documents=documents_of_item(meeting, item, viewer), my_position=positions.get(item.id),
                        tally=service.tally(item) if see_tally else None)
              for item in meeting.agenda if access.may_see_item(meeting, item, viewer)]
    participants = meeting.participants
    # every participant's user in one query instead of one each: held here, so dump_participant's
    # p.user and p.represents come from the identity map (bench/json_api.py)
    _users = _users_of(participants)
    if participant is not None and participant.role == "guest" and not viewer.is_secretariat:
        participants = [p for p in participants if p.role != "guest" or p.user_id == viewer.id]
    return {**dump_meeting_summary(meeting), "participants": [dump_participant(p) for p in participants],
            "agenda": agenda, "my_role": _my_role(meeting, viewer)}


def _users_of(participants: list[Participant]) -> list[User]:
    from sqlalchemy import select

    from ecabinet.database import db

    ids = {p.user_id for p in participants} | {p.represents_user_id for p in participants if p.represents_user_id}
    return list(db.session.scalars(select(User).where(User.id.in_(ids)))) if ids else []


def _my_role(meeting: Meeting, viewer: User) -> str | None:
    if meeting.chair_id == viewer.id:
        return "chair"
    participant = access.participant_of(meeting, viewer)
    if participant is not None:
        return str(participant.role)
    return "secretary" if viewer.is_secretariat else None


def _positions_of(meeting: Meeting, viewer: User) -> list[ItemPosition]:
    from sqlalchemy import select

    from ecabinet.database import db

    ids = [item.id for item in meeting.agenda]
    if not ids:
        return []
    return list(db.session.scalars(select(ItemPosition).where(ItemPosition.user_id == viewer.id,
                                                              ItemPosition.agenda_item_id.in_(ids))))
