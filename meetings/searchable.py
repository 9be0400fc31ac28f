"""Meetings, agenda items, conclusions and the dossiers filed under them, as search finds them."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, cast

import sqlalchemy as sa
from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from documents.models import Document, DocumentVersion
from ecabinet.auth.models import Confidentiality, User
from ecabinet.database import db
from meetings import access, dossiers
from meetings.models import AgendaItem, Meeting, ParticipantRole
from search import index
from search.models import EntryKind, SearchEntry
from search.sources import Found

_E = SearchEntry.__table__.c


class MeetingSearch:
    """``search.sources.SearchSource`` of the meetings package (registered in ``meetings.init_app``)."""

    kinds: tuple[EntryKind, ...] = (EntryKind.MEETING, EntryKind.AGENDA_ITEM, EntryKind.CONCLUSION, EntryKind.DOCUMENT)
    watched: Mapping[type[Any], tuple[str, ...]] = {
        Meeting: ("title", "location"), AgendaItem: ("title", "presenter", "conclusion"),
        Document: ("title", "doc_type", "confidentiality", "agenda_item_id"), DocumentVersion: ()}

    def touched(self, obj: Any) -> Hashable | None:
        if isinstance(obj, DocumentVersion):
            return Document, obj.document_id
        return type(obj), obj.id

    def gone(self, obj: Any) -> sa.ColumnElement[bool] | None:
        if isinstance(obj, Meeting):
            return _E.meeting_id == obj.id
        kinds = {Document: [EntryKind.DOCUMENT], AgendaItem: [EntryKind.AGENDA_ITEM, EntryKind.CONCLUSION]}
        if type(obj) in kinds:
            return _E.kind.in_([str(k) for k in kinds[type(obj)]]) & (_E.object_id == obj.id)
        return None

    def write(self, connection: sa.Connection, session: Session, thing: Hashable) -> None:
        model, object_id = cast(tuple[type[Any], int], thing)  # a key made by ``touched``
        obj = session.get(model, object_id)
        if isinstance(obj, Meeting):
            _write_meeting(connection, obj)
        elif isinstance(obj, AgendaItem):
            _write_item(connection, obj)
        elif isinstance(obj, Document):
            _write_document(connection, session, obj)

    def rebuild(self, connection: sa.Connection, session: Session) -> None:
        for meeting in session.scalars(select(Meeting).order_by(Meeting.id)).all():
            _write_meeting(connection, meeting)
        for item in session.scalars(select(AgendaItem).order_by(AgendaItem.id)).all():
            _write_item(connection, item)
        for document in session.scalars(select(Document).order_by(Document.id)).all():
            _write_document(connection, session, document)

    def has_content(self, session: Session) -> bool:
        return session.scalar(select(Meeting.id).limit(1)) is not None

    def scope(self, user: User) -> sa.ColumnElement[bool] | None:
        """The caller's meetings, a guest's items only, documents at a level the caller may read."""
        readable = [str(level) for level in Confidentiality if user.may_read(level)]
        mine = _E.kind.in_([str(kind) for kind in self.kinds]) & (
            (_E.kind != str(EntryKind.DOCUMENT)) | _E.confidentiality.in_(readable))
        if user.is_secretariat:
            return mine
        full: list[int] = []
        guest_meetings: list[int] = []
        guest_items: list[int] = []
        for meeting in access.visible_meetings(user):
            participant = access.participant_of(meeting, user)
            if participant is not None and participant.role == ParticipantRole.GUEST and meeting.chair_id != user.id:
                guest_meetings.append(meeting.id)
                guest_items.extend(participant.agenda_item_ids or [])
            else:
                full.append(meeting.id)
        if not (full or guest_meetings):
            return None
        return mine & sa.or_(
            _E.meeting_id.in_(full),
            (_E.kind == str(EntryKind.MEETING)) & _E.meeting_id.in_(guest_meetings),
            (_E.kind != str(EntryKind.MEETING)) & _E.meeting_id.in_(guest_meetings)
            & _E.agenda_item_id.in_(guest_items),
        )

    def preload(self, entries: list[SearchEntry]) -> list[object]:
        """The candidates' meetings (with participants) and documents, in two queries."""
        loaded: list[object] = []
        if meeting_ids := {e.meeting_id for e in entries if e.meeting_id is not None}:
            loaded += db.session.scalars(select(Meeting).where(Meeting.id.in_(meeting_ids))
                                         .options(selectinload(Meeting.participants))).all()
        if document_ids := {e.object_id for e in entries if e.kind == EntryKind.DOCUMENT}:
            loaded += db.session.scalars(select(Document).where(Document.id.in_(document_ids))).all()
        return loaded

    def visible(self, entry: SearchEntry, user: User) -> bool:
        meeting = db.session.get(Meeting, entry.meeting_id) if entry.meeting_id is not None else None
        if meeting is None or not access.may_see_meeting(meeting, user):
            return False
        if entry.kind == EntryKind.MEETING:
            return True
        if entry.kind == EntryKind.DOCUMENT:
            document = db.session.get(Document, entry.object_id)
            return (document is not None and dossiers.may_list(meeting, document, user)
                    and dossiers.read_refusal(meeting, document, user) is None)
        return entry.agenda_item_id is not None and access.may_see_item(meeting, entry.agenda_item_id, user)

    def url(self, entry: SearchEntry) -> str:
        if entry.kind == EntryKind.DOCUMENT:
            return url_for("documents_web.viewer", document_id=entry.object_id)
        page = url_for("meetings_web.meeting_page", meeting_id=entry.meeting_id)
        if entry.kind == EntryKind.MEETING or not entry.agenda_item_id:
            return page
        return f"{page}#item-{entry.agenda_item_id}"  # items and conclusions are shown under their item

    def context(self, results: Sequence[Found]) -> dict[tuple[str, int], dict[str, Any]]:
        meeting_ids = {r.meeting_id for r in results if r.meeting_id is not None}
        meetings = {m.id: m for m in db.session.scalars(select(Meeting).where(Meeting.id.in_(meeting_ids)))} \
            if meeting_ids else {}
        return {(r.kind, r.id): {"title": meetings[r.meeting_id].title, "when": meetings[r.meeting_id].starts_at,
                                 "deadline": False}
                for r in results if r.meeting_id in meetings}


def _write_meeting(connection: sa.Connection, meeting: Meeting) -> None:
    index.put(connection, EntryKind.MEETING, meeting.id, meeting_id=meeting.id, title=meeting.title,
              body=meeting.location or "")


def _write_item(connection: sa.Connection, item: AgendaItem) -> None:
    """The item (title, presenter) and, once set, its conclusion ("kết luận")."""
    index.put(connection, EntryKind.AGENDA_ITEM, item.id, meeting_id=item.meeting_id, agenda_item_id=item.id,
              title=item.title, body=item.presenter or "")
    if (item.conclusion or "").strip():
        index.put(connection, EntryKind.CONCLUSION, item.id, meeting_id=item.meeting_id, agenda_item_id=item.id,
                  title=item.title, body=item.conclusion or "")
    else:
        index.delete(connection, (_E.kind == str(EntryKind.CONCLUSION)) & (_E.object_id == item.id))


def _write_document(connection: sa.Connection, session: Session, document: Document) -> None:
    """Title, type and the text of the current (highest) version: a new version replaces the old text."""
    sha256 = session.scalar(select(DocumentVersion.sha256).where(DocumentVersion.document_id == document.id)
                            .order_by(DocumentVersion.number.desc()).limit(1))
    body = index.pdf_text(sha256) if sha256 else ""
    index.put(connection, EntryKind.DOCUMENT, document.id, meeting_id=document.meeting_id,
              agenda_item_id=document.agenda_item_id, confidentiality=document.confidentiality,
              title=document.title, body="\n".join(part for part in (document.doc_type, body) if part))
