"""Who may see and read a document: its item must be visible, the meeting distributed, the clearance enough."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Select, bindparam, func, select
from sqlalchemy.orm import aliased, joinedload, selectinload

from documents.models import Document, DocumentVersion
from ecabinet.auth.models import User
from ecabinet.database import db
from ecabinet.errors import Forbidden, NotFound
from meetings.access import get_meeting_for, may_see_item, participant_of
from meetings.models import Meeting, MeetingStatus, Participant, ParticipantRole


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


@dataclass(frozen=True)
class ReadableVersion:
    """The version a reader may open, as plain values (what reading it and its audit record need)."""

    document_id: int
    confidentiality: str
    version_id: int
    number: int
    sha256: str


def get_readable_version_for(user: User, document_id: int, number: int | None = None) -> ReadableVersion:
    """``get_readable_document_for`` and the version (``number``, else the current one) in one query.

    Every dossier download asks this, and loading the document, its meeting with all its participants
    and its versions as objects cost 1.5 ms; here the facts the checks look at are read in one row,
    and the same rules are applied to them (tests/documents/test_access.py holds the two paths to the
    same answer for every member of the cast, meeting state, item, clearance and version).
    """
    if not user.is_authenticated:
        raise NotFound()
    # Core on the session's connection: the ORM's execution layer cost more than the query (124 -> 55 µs)
    row = db.session.connection().execute(_READABLE, {"document_id": document_id, "user_id": user.id,
                                                      "number": number}).first()
    if row is None:
        raise NotFound()
    participant = _Participant(row.role, row.approved_at, row.agenda_item_ids) if row.participant_id else None
    if not _sees_and_lists(user, row.status, row.chair_id, row.agenda_item_id, participant, row.meeting_level):
        raise NotFound()
    refusal = _read_refusal(user, row.confidentiality, participant)
    if refusal:
        raise Forbidden(refusal)
    if row.version_id is None:
        raise NotFound("version_not_found")
    return ReadableVersion(document_id=row.id, confidentiality=str(row.confidentiality), version_id=row.version_id,
                           number=row.number, sha256=row.sha256)


def _readable_query() -> Select[*tuple[Any, ...]]:
    """The document, its meeting, the reader's participation and the version asked for (else the
    current one); built once, as building it cost more than running it."""
    latest = aliased(DocumentVersion)
    current = select(func.max(latest.number)).where(latest.document_id == Document.id).scalar_subquery()
    return (select(Document.id, Document.agenda_item_id, Document.confidentiality, Meeting.status, Meeting.chair_id,
                   Meeting.confidentiality.label("meeting_level"),
                   Participant.id.label("participant_id"), Participant.role, Participant.approved_at,
                   Participant.agenda_item_ids, DocumentVersion.id.label("version_id"), DocumentVersion.number,
                   DocumentVersion.sha256)
            .join(Meeting, Meeting.id == Document.meeting_id)
            .outerjoin(Participant, (Participant.meeting_id == Meeting.id)
                       & (Participant.user_id == bindparam("user_id", type_=Integer)))
            .outerjoin(DocumentVersion, (DocumentVersion.document_id == Document.id)
                       & (DocumentVersion.number == func.coalesce(bindparam("number", type_=Integer), current)))
            .where(Document.id == bindparam("document_id", type_=Integer)))


_READABLE = _readable_query()


@dataclass(frozen=True)
class _Participant:
    role: str
    approved_at: datetime | None
    agenda_item_ids: list[int] | None


def _sees_and_lists(user: User, status: str, chair_id: int, item_id: int, participant: _Participant | None,
                    meeting_level: str) -> bool:
    """``get_meeting_for`` then ``may_list`` (meetings.access ``_sees`` and ``may_see_item``) on plain facts."""
    if not user.may_read(meeting_level):
        return False
    if user.is_secretariat:
        return True
    if status == MeetingStatus.DRAFT:
        return False
    if chair_id == user.id:
        return True
    if participant is None:
        return False
    if participant.role == ParticipantRole.GUEST:
        return item_id in (participant.agenda_item_ids or [])
    return True


def _read_refusal(user: User, confidentiality: str, participant: _Participant | None) -> str | None:
    """``read_refusal`` on plain facts."""
    if not user.may_read(confidentiality):
        return "clearance_insufficient"
    if (participant is not None and participant.role == ParticipantRole.DELEGATE
            and participant.approved_at is None and not user.is_secretariat):
        return "delegate_not_approved"
    return None
