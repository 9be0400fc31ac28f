"""The meeting's rules for the dossiers filed under its agenda items, given to documents at start-up.

Documents sits below meetings in the domains' graph and asks these rules through
``documents.access.DossierOwner``; ``meetings.init_app`` registers ``MeetingDossiers``. The figures of
paper saved are a meeting report over its dossiers, so they live here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Select, bindparam, func, select
from sqlalchemy.orm import aliased, selectinload

from documents.access import ReadableVersion
from documents.models import Document, DocumentVersion
from ecabinet.auth.models import User
from ecabinet.database import db
from ecabinet.errors import Forbidden, NotFound
from meetings import access
from meetings.models import Meeting, MeetingStatus, Participant, ParticipantRole
from meetings.service import require_editable


def may_list(meeting: Meeting, document: Document, user: User) -> bool:
    """Listed in the agenda for those who see its item (whether they may open it is ``read_refusal``)."""
    if user.is_secretariat:
        return True
    if meeting.status == MeetingStatus.DRAFT:
        return False
    return access.may_see_item(meeting, document.agenda_item_id, user)


def read_refusal(meeting: Meeting, document: Document, user: User) -> str | None:
    """None when ``user`` may open the document, else the error code that says why not."""
    participant = access.participant_of(meeting, user)
    return _read_refusal(user, document.confidentiality,
                         _Participant(participant.role, participant.approved_at, participant.agenda_item_ids)
                         if participant is not None else None)


def _meeting_of(document: Document) -> Meeting:
    # from the identity map when the caller loaded it (a meeting's page, search's candidates)
    meeting = db.session.get(Meeting, document.meeting_id, options=[selectinload(Meeting.participants)])
    if meeting is None:
        raise NotFound()
    return meeting


class MeetingDossiers:
    """``documents.access.DossierOwner`` for dossiers filed under a meeting's agenda items."""

    def may_list(self, document: Document, user: User) -> bool:
        return may_list(_meeting_of(document), document, user)

    def read_refusal(self, document: Document, user: User) -> str | None:
        return read_refusal(_meeting_of(document), document, user)

    def require_visible_owner(self, user: User, document: Document) -> None:
        access.require_visible(_meeting_of(document), user)

    def readable_version(self, user: User, document_id: int, number: int | None) -> ReadableVersion:
        return readable_version(user, document_id, number)

    def require_upload_target(self, user: User, meeting_id: int, agenda_item_id: int) -> None:
        access.get_item_for(user, access.get_meeting_for(user, meeting_id), agenda_item_id)

    def require_editable(self, meeting_id: int) -> None:
        meeting = db.session.get(Meeting, meeting_id)
        if meeting is None:
            raise NotFound()
        require_editable(meeting)

    def distributed(self, meeting_id: int) -> bool:
        return db.session.scalar(select(Meeting.status).where(Meeting.id == meeting_id)) != MeetingStatus.DRAFT

    def filed_under(self, documents: list[Document]) -> dict[int, str]:
        titles = dict(db.session.execute(select(Meeting.id, Meeting.title).where(
            Meeting.id.in_({document.meeting_id for document in documents}))).all())
        return {document.id: titles.get(document.meeting_id, "") for document in documents}

    def readers(self, document: Document) -> list[int]:
        meeting = _meeting_of(document)
        return [p.user_id for p in meeting.participants
                if may_list(meeting, document, p.user) and read_refusal(meeting, document, p.user) is None]


def readable_version(user: User, document_id: int, number: int | None) -> ReadableVersion:
    """The checks of ``documents.access.get_readable_document_for`` and the version asked for, in one row.

    Every dossier download asks this; loading the document, its meeting with all its participants and
    its versions as objects costs more than the download itself, so the facts the checks look at are
    read in one row and the same rules are applied to them.
    """
    # Core on the session's connection: the ORM's execution layer costs more than this query
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
    current one); built once, as building it costs more than running it."""
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
    """``access.get_meeting_for`` then ``may_list`` (``access._sees`` and ``may_see_item``) on plain facts."""
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
    if not user.may_read(confidentiality):
        return "clearance_insufficient"
    if (participant is not None and participant.role == ParticipantRole.DELEGATE
            and participant.approved_at is None and not user.is_secretariat):
        return "delegate_not_approved"
    return None


def recipients(meeting: Meeting, document: Document) -> list[int]:
    """Participants the dossier is distributed to: those who see its item and are cleared to read it."""
    users = {p.user for p in meeting.participants
             if p.role != "delegate" or p.approved_at is not None}
    users.add(meeting.chair)
    return sorted(u.id for u in users
                  if access.may_see_item(meeting, document.agenda_item_id, u) and u.may_read(document.confidentiality))


def paper_saved(meeting: Meeting) -> dict[str, Any]:
    """Printed pages avoided: pages of each dossier × its recipients, once the meeting was distributed."""
    documents = []
    total = 0
    if meeting.status != "draft":
        for document in db.session.scalars(select(Document).where(Document.meeting_id == meeting.id)
                                           .order_by(Document.id)):
            current = document.current_version
            pages = current.pages if current else 0
            count = len(recipients(meeting, document))
            documents.append({"document_id": document.id, "title": document.title, "pages": pages,
                              "recipients": count, "pages_saved": pages * count})
            total += pages * count
    return {"meeting_id": meeting.id, "title": meeting.title, "documents": documents,
            "dossiers": sum(d["recipients"] for d in documents), "pages_saved": total}


def paper_saved_total() -> dict[str, Any]:
    meetings = [paper_saved(m) for m in db.session.scalars(select(Meeting).where(Meeting.status != "draft")
                                                           .order_by(Meeting.starts_at))]
    return {"meetings": [{k: m[k] for k in ("meeting_id", "title", "dossiers", "pages_saved")} for m in meetings],
            "dossiers": sum(m["dossiers"] for m in meetings), "pages_saved": sum(m["pages_saved"] for m in meetings)}
