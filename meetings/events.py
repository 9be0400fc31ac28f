"""Who receives each meeting event: its audience, decided once when it is published.

The audience is a set of room groups (``meetings.access``): None is everyone who may see the
meeting; ``members`` every participant but guests, with the chair and the secretariat; ``staff``
the chair and the secretariat; ``item:N`` the guests invited to item N; ``user:N`` one user. An
event about an agenda item goes to ``members`` and that item's guests, so a guest learns nothing
of an item it is not invited to; what is not tied to one of its items (the consent block, the
minutes, other guests) goes to members only. A type not listed here goes to the staff (fail closed).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from documents.models import Document
from ecabinet.database import db
from meetings.access import MEMBERS, STAFF, item_group, user_group
from meetings.live.models import Vote
from meetings.models import Participant, ParticipantRole

Audience = frozenset[str] | None
EVERYONE: Audience = None
#: events of the meeting as a whole, for everyone who may see it
MEETING_WIDE = frozenset({"meeting.published", "meeting.updated", "meeting.cancelled", "meeting.postponed",
                          "session.started", "session.closed"})
#: events about one agenda item: the key of the item's id in the data
ITEM_KEYS = {"agenda.activated": "agenda_item_id", "conclusion.set": "agenda_item_id",
             "document.added": "agenda_item_id", "document.versioned": "agenda_item_id",
             "agenda.changed": "item_id", "vote.opened": "agenda_item_id", "vote.closed": "agenda_item_id",
             "consent.item_withdrawn": "agenda_item_id"}
SPEAKER_EVENTS = frozenset({"speaker.requested", "speaker.granted", "speaker.finished", "speaker.withdrawn"})
#: events about several items or the record as a whole
MEMBERS_ONLY = frozenset({"consent.adopted", "minutes.signed"})
ABOUT_A_PARTICIPANT = frozenset({"participant.added", "participant.removed", "delegate.approved"})


def item_audience(item_id: int | None) -> frozenset[str]:
    """An item's participants (its guests, and everyone but guests); members only when there is no item."""
    return frozenset({MEMBERS, item_group(item_id)}) if item_id is not None else frozenset({MEMBERS})


def audience_of(meeting_id: int, event_type: str, data: dict[str, Any]) -> Audience:
    """The audience of a meeting event (``realtime.publish`` asks it once per event)."""
    if event_type in MEETING_WIDE:
        return EVERYONE
    if event_type in ITEM_KEYS:
        return item_audience(data.get(ITEM_KEYS[event_type]))
    if event_type in SPEAKER_EVENTS:
        return item_audience(data.get("agenda_item_id")) | {user_group(data["user_id"])}
    if event_type == "vote.cast":
        vote = db.session.get(Vote, data["vote_id"])
        return item_audience(vote.agenda_item_id if vote is not None else None)
    if event_type == "presentation.moved":
        document = db.session.get(Document, data["document_id"])
        return item_audience(document.agenda_item_id if document is not None else None)
    if event_type == "attendance.changed":
        participant = db.session.scalar(select(Participant).where(Participant.meeting_id == meeting_id,
                                                                  Participant.user_id == data["user_id"]))
        if participant is not None and participant.role == ParticipantRole.GUEST:
            return frozenset({MEMBERS, user_group(data["user_id"])})
        return EVERYONE
    if event_type in MEMBERS_ONLY:
        return frozenset({MEMBERS})
    if event_type in ABOUT_A_PARTICIPANT:
        return frozenset({MEMBERS, user_group(data["user_id"])})
    return frozenset({STAFF})
