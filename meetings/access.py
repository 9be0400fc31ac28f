"""Who may see a meeting, an agenda item and a document. Unknown and invisible look the same (404)."""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import select, text

from ecabinet.auth.models import User
from ecabinet.database import db
from ecabinet.errors import NotFound
from meetings.models import AgendaItem, Meeting, MeetingStatus, Participant, ParticipantRole


def participant_of(meeting: Meeting, user: User) -> Participant | None:
    return next((p for p in meeting.participants if p.user_id == user.id), None)


def may_see_meeting(meeting: Meeting, user: User) -> bool:
    """The secretariat sees every meeting; the chair and participants once it is published."""
    return _sees(meeting, user, lambda: participant_of(meeting, user) is not None)


def users_who_may_see_meeting(meeting: Meeting, user_ids: set[int]) -> set[int]:
    """may_see_meeting for a whole live room at once (the socket sweeper asks every second).

    Participants of a published meeting see it whatever their roles (the last branch of ``_sees``),
    so only the others are loaded as users to be checked one by one. The database is asked which of
    the room's users are not participants: the room goes as one parameter (an ``IN`` of N parameters
    is parsed anew each time) and the answer is usually empty. Reading the meeting's participants
    whole instead cost each process in proportion to the whole meeting, not to its own tablets.
    """
    if meeting.status == MeetingStatus.DRAFT:
        others = set(user_ids)
    else:
        others = _not_participants(meeting.id, user_ids)
    users = db.session.scalars(select(User).where(User.id.in_(others))) if others else []
    return (user_ids - others) | {user.id for user in users if _sees(meeting, user, lambda: False)}


# the room's user ids go as one JSON text (psycopg dumps a list of ints element by element)
_NOT_PARTICIPANTS = {
    "postgresql": text("SELECT CAST(u.value AS integer) FROM json_array_elements_text(CAST(:user_ids AS json)) AS u "
                       "WHERE NOT EXISTS (SELECT 1 FROM participants p WHERE p.meeting_id = :meeting_id "
                       "AND p.user_id = CAST(u.value AS integer))"),
    "sqlite": text("SELECT CAST(u.value AS INTEGER) FROM json_each(:user_ids) AS u WHERE NOT EXISTS "
                   "(SELECT 1 FROM participants p WHERE p.meeting_id = :meeting_id AND p.user_id = u.value)"),
}


def _not_participants(meeting_id: int, user_ids: set[int]) -> set[int]:
    statement = _NOT_PARTICIPANTS[db.session.get_bind().dialect.name]
    return set(db.session.scalars(statement, {"meeting_id": meeting_id, "user_ids": json.dumps(sorted(user_ids))}))


def _sees(meeting: Meeting, user: User, is_participant: Callable[[], bool]) -> bool:
    if user.is_secretariat:
        return True
    if meeting.chair_id == user.id:
        return True
    if meeting.status == MeetingStatus.DRAFT:
        return False
    return is_participant()


def get_meeting_for(user: User, meeting_id: int) -> Meeting:
    return require_visible(db.session.get(Meeting, meeting_id), user)


def require_visible(meeting: Meeting | None, user: User) -> Meeting:
    """``meeting`` when ``user`` may see it; NotFound when it is None or invisible alike."""
    if meeting is None or not user.is_authenticated or not may_see_meeting(meeting, user):
        raise NotFound()
    return meeting


def visible_meetings(user: User) -> list[Meeting]:
    query = select(Meeting).order_by(Meeting.starts_at.desc(), Meeting.id.desc())
    if not user.is_secretariat:
        mine = select(Participant.meeting_id).where(Participant.user_id == user.id)
        query = query.where((Meeting.chair_id == user.id)
                            | ((Meeting.status != MeetingStatus.DRAFT) & Meeting.id.in_(mine)))
    return list(db.session.scalars(query))


def may_see_item(meeting: Meeting, item: AgendaItem | int, user: User) -> bool:
    """Guests see only the items they are invited to; everyone else who sees the meeting sees all."""
    item_id = item if isinstance(item, int) else item.id
    if user.is_secretariat or meeting.chair_id == user.id:
        return True
    participant = participant_of(meeting, user)
    if participant is None:
        return False
    if participant.role == ParticipantRole.GUEST:
        return item_id in (participant.agenda_item_ids or [])
    return True


def get_item_for(user: User, meeting: Meeting, item_id: int) -> AgendaItem:
    item = db.session.get(AgendaItem, item_id)
    if item is None or item.meeting_id != meeting.id or not may_see_item(meeting, item, user):
        raise NotFound()
    return item


def may_take_position(meeting: Meeting, user: User) -> bool:
    """Members (and approved delegates) mark their pre-session position; guests never do."""
    participant = participant_of(meeting, user)
    if participant is None:
        return False
    if participant.role == ParticipantRole.MEMBER:
        return True
    return participant.role == ParticipantRole.DELEGATE and participant.approved_at is not None


def may_see_tally(meeting: Meeting, user: User) -> bool:
    return user.is_secretariat or meeting.chair_id == user.id
