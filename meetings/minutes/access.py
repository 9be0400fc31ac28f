"""Who reads the minutes, for the API and the pages alike: never a guest (the minutes record every item,
a guest is invited to some only); drafts only the secretariat and the chair; the signed state every member."""

from __future__ import annotations

from ecabinet.auth.models import User
from ecabinet.errors import NotFound
from meetings.access import MEMBERS, get_meeting_for, viewer_groups
from meetings.minutes import service
from meetings.minutes.models import Minutes, MinutesStatus
from meetings.models import Meeting


def record_reader(user: User, meeting_id: int) -> Meeting:
    """The meeting when ``user`` may read its minutes (its level is already required to see it at all)."""
    meeting = get_meeting_for(user, meeting_id)
    if MEMBERS not in viewer_groups(meeting, user):
        raise NotFound("minutes_not_found")
    return meeting


def may_read_drafts(user: User, meeting: Meeting) -> bool:
    return user.is_secretariat or meeting.chair_id == user.id


def readable_minutes(user: User, meeting_id: int, *, draft_version: bool = False) -> tuple[Meeting, Minutes]:
    """The minutes ``user`` may read: the latest signed state, or (drafts, a chosen version) the secretariat
    and the chair only; anyone else gets 404 as if there were none."""
    meeting = record_reader(user, meeting_id)
    minutes = service.get_minutes(meeting)
    if (minutes.status != MinutesStatus.SIGNED or draft_version) and not may_read_drafts(user, meeting):
        raise NotFound("minutes_not_found")
    return meeting, minutes
