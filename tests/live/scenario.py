"""A published meeting with a named cast, built directly in the database for live-session tests."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from ecabinet.auth.models import Role, User
from ecabinet.database import db, utcnow
from meetings.models import AgendaItem, Meeting, MeetingKind, MeetingStatus, Participant, ParticipantRole
from tests.conftest import Cast, make_user


@dataclass
class Scenario:
    meeting: Meeting
    items: list[AgendaItem]


def published_meeting(cast: Cast, *, extra_members: int = 0, status: MeetingStatus = MeetingStatus.PUBLISHED,
                      present: Iterable[User] | bool = ()) -> Scenario:
    """Chair, member_a, member_b and ``extra_members`` ministers (minister0, ...) are members; delegate
    stands in for member_b; guest is invited to item 2. ``present``: the users already checked in (True:
    every member), as if they had checked in before the story the test tells."""
    meeting = Meeting(title="Phiên họp Chính phủ thường kỳ tháng 11", kind=MeetingKind.REGULAR,
                      starts_at=utcnow() + timedelta(hours=1), location="Trụ sở Chính phủ, Hà Nội",
                      chair_id=cast.chair.id, status=status, created_by_id=cast.secretary.id, published_at=utcnow())
    db.session.add(meeting)
    db.session.flush()
    items = [AgendaItem(meeting_id=meeting.id, position=1, title="Dự án Luật Đất đai (sửa đổi)", presenter="Bộ Tài chính"),
             AgendaItem(meeting_id=meeting.id, position=2, title="Nghị định về kinh tế số", presenter="Bộ Khoa học và Công nghệ")]
    db.session.add_all(items)
    db.session.flush()
    extra = [make_user(f"minister{i}", roles=[Role.MEMBER], full_name=f"Bộ trưởng số {i}") for i in range(extra_members)]
    rows = [Participant(meeting_id=meeting.id, user_id=user.id, role=ParticipantRole.MEMBER)
            for user in (cast.chair, cast.member_a, cast.member_b, *extra)]
    rows.append(Participant(meeting_id=meeting.id, user_id=cast.delegate.id, role=ParticipantRole.DELEGATE,
                            represents_user_id=cast.member_b.id, approved_at=utcnow()))
    rows.append(Participant(meeting_id=meeting.id, user_id=cast.guest.id, role=ParticipantRole.GUEST,
                            agenda_item_ids=[items[1].id]))
    present_ids = {row.user_id for row in rows if row.role == ParticipantRole.MEMBER} if present is True \
        else {user.id for user in present or ()}
    for row in rows:
        if row.user_id in present_ids:
            row.checked_in_at = row.attended_at = utcnow()
    db.session.add_all(rows)
    db.session.commit()
    return Scenario(meeting, items)
