"""Who may see a meeting, an agenda item and a document. Unknown and invisible look the same (404).

A meeting at Mật (confidential) or above is seen only by users cleared for its level, the
secretariat and the chair included. The same rules give each socket its groups in the live room
(``room_groups``), which ``meetings.events`` matches against each event's audience.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select, text

from ecabinet.auth.models import Confidentiality, User
from ecabinet.database import db
from ecabinet.errors import NotFound
from meetings.models import AgendaItem, Meeting, MeetingStatus, Participant, ParticipantRole

#: the room groups: every participant but guests (and the chair, the secretariat); the chair and
#: the secretariat; the guests invited to one item; one user
MEMBERS = "members"
STAFF = "staff"


def item_group(item_id: int) -> str:
    return f"item:{item_id}"


def user_group(user_id: int) -> str:
    return f"user:{user_id}"


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
    whole instead would cost each process in proportion to the whole meeting, not to its own tablets.
    """
    if meeting.status == MeetingStatus.DRAFT:
        others = set(user_ids)
    else:
        others = _not_participants(meeting, user_ids)
    users: Iterable[User] = db.session.scalars(select(User).where(User.id.in_(others))) if others else []
    return (user_ids - others) | {user.id for user in users if _sees(meeting, user, lambda: False)}


# the room's user ids go as one JSON text (psycopg dumps a list of ints element by element); for a
# classified meeting a participant below its level counts as "not a participant"
_NOT_PARTICIPANTS = {
    "postgresql": "SELECT CAST(u.value AS integer) FROM json_array_elements_text(CAST(:user_ids AS json)) AS u "
                  "WHERE NOT EXISTS (SELECT 1 FROM participants p {cleared_join} WHERE p.meeting_id = :meeting_id "
                  "AND p.user_id = CAST(u.value AS integer){cleared})",
    "sqlite": "SELECT CAST(u.value AS INTEGER) FROM json_each(:user_ids) AS u WHERE NOT EXISTS "
              "(SELECT 1 FROM participants p {cleared_join} WHERE p.meeting_id = :meeting_id AND p.user_id = u.value"
              "{cleared})",
}
_statements: dict[tuple[str, str], Any] = {}


def _not_participants_statement(dialect: str, level: Confidentiality) -> Any:
    statement = _statements.get((dialect, level))
    if statement is None:
        cleared = [str(c) for c in Confidentiality if c.allows(level)]
        # the levels are the enum's own names, never input
        extra = ("", "") if level == Confidentiality.NORMAL else (
            "JOIN users us ON us.id = p.user_id", " AND us.clearance IN ({})".format(
                ", ".join(f"'{c}'" for c in cleared)))
        statement = _statements[(dialect, level)] = text(
            _NOT_PARTICIPANTS[dialect].format(cleared_join=extra[0], cleared=extra[1]))
    return statement


def _not_participants(meeting: Meeting, user_ids: set[int]) -> set[int]:
    statement = _not_participants_statement(db.session.get_bind().dialect.name,
                                            Confidentiality(meeting.confidentiality))
    return set(db.session.scalars(statement, {"meeting_id": meeting.id, "user_ids": json.dumps(sorted(user_ids))}))


def _sees(meeting: Meeting, user: User, is_participant: Callable[[], bool]) -> bool:
    if not user.may_read(meeting.confidentiality):
        return False
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
    cleared = [str(level) for level in Confidentiality if user.may_read(level)]
    query = (select(Meeting).where(Meeting.confidentiality.in_(cleared))
             .order_by(Meeting.starts_at.desc(), Meeting.id.desc()))
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


def room_groups(meeting: Meeting, user: User, participant: Participant | None) -> frozenset[str]:
    """The user's groups in the meeting's live room. Precondition: ``user`` may see the meeting."""
    groups = {user_group(user.id)}
    staff = user.is_secretariat or meeting.chair_id == user.id
    if staff:
        groups.add(STAFF)
    if participant is not None and participant.role == ParticipantRole.GUEST and not staff:
        groups.update(item_group(item_id) for item_id in participant.agenda_item_ids or [])
    else:
        groups.add(MEMBERS)
    return frozenset(groups)


def viewer_groups(meeting: Meeting, user: User) -> frozenset[str]:
    """``room_groups`` for a request's user. Precondition: ``user`` may see the meeting.

    The chair's and the secretariat's groups do not depend on their participant row: the meeting's
    participants are not read for them (a chair's command would read the whole list for nothing)."""
    staff = user.is_secretariat or meeting.chair_id == user.id
    return room_groups(meeting, user, None if staff else participant_of(meeting, user))


def join_view(user_id: int, meeting_id: int) -> frozenset[str] | None:
    """The socket join's rule from the user's own rows (never the whole participant list): their room
    groups, or None when they may not see the meeting."""
    user = db.session.get(User, user_id)
    meeting = db.session.get(Meeting, meeting_id)
    if user is None or meeting is None or not user.active:
        return None
    participant = db.session.scalar(select(Participant).where(Participant.meeting_id == meeting_id,
                                                              Participant.user_id == user_id))
    if not _sees(meeting, user, lambda: participant is not None):
        return None
    return room_groups(meeting, user, participant)


def may_see_audience(groups: frozenset[str], audience: frozenset[str] | None) -> bool:
    return audience is None or not audience.isdisjoint(groups)
