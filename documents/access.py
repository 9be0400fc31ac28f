"""Who may see and read a document: its item must be visible, the meeting distributed, the clearance enough."""

from __future__ import annotations

from sqlalchemy.orm import joinedload, selectinload

from documents.models import Document
from ecabinet.auth.models import User
from ecabinet.database import db
from ecabinet.errors import Forbidden, NotFound
from meetings.access import get_meeting_for, may_see_item, participant_of
from meetings.models import Meeting, MeetingStatus, ParticipantRole


def may_list(document: Document, user: User) -> bool:
    """Listed in the agenda for those who see its item (whether they may open it is decided below)."""
    meeting = document.meeting
    if user.is_secretariat:
        return True
    if meeting.status == MeetingStatus.DRAFT:
        return False
    return may_see_item(meeting, document.agenda_item_id, user)


def read_refusal(document: Document, user: User) -> str | None:
    """None when ``user`` may open the document, else the error code that says why not."""
    if not user.may_read(document.confidentiality):
        return "clearance_insufficient"
    participant = participant_of(document.meeting, user)
    if (participant is not None and participant.role == ParticipantRole.DELEGATE
            and participant.approved_at is None and not user.is_secretariat):
        return "delegate_not_approved"
    return None


def get_document_for(user: User, document_id: int) -> Document:
    # the meeting, its participants and the versions every check and view below needs: three
    # queries, where loading them one by one took six (the meeting, dropped from the session's
    # weak identity map between the checks, was read twice)
    document = db.session.get(Document, document_id, options=[
        joinedload(Document.meeting).selectinload(Meeting.participants), selectinload(Document.versions)])
    if document is None or not user.is_authenticated:
        raise NotFound()
    get_meeting_for(user, document.meeting_id)
    if not may_list(document, user):
        raise NotFound()
    return document


def get_readable_document_for(user: User, document_id: int) -> Document:
    document = get_document_for(user, document_id)
    refusal = read_refusal(document, user)
    if refusal:
        raise Forbidden(refusal)
    return document
