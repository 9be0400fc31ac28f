"""Keeping the index current: rows are rewritten in the flush that changes their source.

An ``after_flush`` listener looks at what the flush wrote (meetings, agenda items, documents and
their versions, ballots and their questions) and rewrites the matching rows with Core statements on
the same connection, so the index commits or rolls back with the change itself. Other domains'
services stay unaware of search.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import event, inspect, select
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.orm import Session

from ballots.models import Ballot, Question
from documents.models import Document, DocumentVersion
from ecabinet import storage
from ecabinet.auth.models import Confidentiality
from ecabinet.database import utcnow
from meetings.models import AgendaItem, Meeting
from search import text
from search.models import FTS_TABLE, EntryKind, SearchEntry

_entries = SearchEntry.__table__
_WATCHED = {Meeting: ("title", "location"), AgendaItem: ("title", "presenter", "conclusion"),
            Document: ("title", "doc_type", "confidentiality", "agenda_item_id"), DocumentVersion: (),
            Ballot: ("title", "summary"), Question: ("text",)}


def _changed(obj: Any, names: tuple[str, ...]) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


class _Work:
    """What one flush asks of the index."""

    def __init__(self) -> None:
        self.meetings: set[int] = set()
        self.items: set[int] = set()
        self.documents: set[int] = set()
        self.ballots: set[int] = set()
        self.gone: list[sa.ColumnElement[bool]] = []

    def collect(self, session: Session) -> None:
        for obj in session.deleted:
            self._deleted(obj)
        for obj in list(session.new) + list(session.dirty):
            names = _WATCHED.get(type(obj))
            if names is None or (obj not in session.new and not _changed(obj, names)):
                continue
            if isinstance(obj, Meeting):
                self.meetings.add(obj.id)
            elif isinstance(obj, AgendaItem):
                self.items.add(obj.id)
            elif isinstance(obj, Document):
                self.documents.add(obj.id)
            elif isinstance(obj, DocumentVersion):
                self.documents.add(obj.document_id)
            elif isinstance(obj, Ballot):
                self.ballots.add(obj.id)
            elif isinstance(obj, Question):
                self.ballots.add(obj.ballot_id)

    def _deleted(self, obj: Any) -> None:
        kind_of = {Document: [EntryKind.DOCUMENT], Ballot: [EntryKind.BALLOT],
                   AgendaItem: [EntryKind.AGENDA_ITEM, EntryKind.CONCLUSION]}
        if isinstance(obj, Meeting):
            self.gone.append(_entries.c.meeting_id == obj.id)
        elif type(obj) in kind_of:
            self.gone.append(_entries.c.kind.in_([str(k) for k in kind_of[type(obj)]])
                             & (_entries.c.object_id == obj.id))
        elif isinstance(obj, Question):
            self.ballots.add(obj.ballot_id)

    def __bool__(self) -> bool:
        return bool(self.meetings or self.items or self.documents or self.ballots or self.gone)


def _after_flush(session: Session, flush_context: Any) -> None:
    work = _Work()
    work.collect(session)
    if not work:
        return
    connection = session.connection()
    for condition in work.gone:
        _delete(connection, condition)
    for meeting_id in work.meetings:
        meeting = session.get(Meeting, meeting_id)
        if meeting is not None:
            write_meeting(connection, meeting)
    for item_id in work.items:
        item = session.get(AgendaItem, item_id)
        if item is not None:
            write_item(connection, item)
    for document_id in work.documents:
        document = session.get(Document, document_id)
        if document is not None:
            write_document(connection, session, document)
    for ballot_id in work.ballots:
        ballot = session.get(Ballot, ballot_id)
        if ballot is not None:
            write_ballot(connection, session, ballot)


def install() -> None:
    """Listen on every session (idempotent: several apps in one process share the class)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


def write_meeting(connection: sa.Connection, meeting: Meeting) -> None:
    _put(connection, EntryKind.MEETING, meeting.id, meeting_id=meeting.id, title=meeting.title,
         body=meeting.location or "")


def write_item(connection: sa.Connection, item: AgendaItem) -> None:
    """The item (title, presenter) and, once set, its conclusion ("kết luận")."""
    _put(connection, EntryKind.AGENDA_ITEM, item.id, meeting_id=item.meeting_id, agenda_item_id=item.id,
         title=item.title, body=item.presenter or "")
    if (item.conclusion or "").strip():
        _put(connection, EntryKind.CONCLUSION, item.id, meeting_id=item.meeting_id, agenda_item_id=item.id,
             title=item.title, body=item.conclusion or "")
    else:
        _delete(connection, (_entries.c.kind == str(EntryKind.CONCLUSION)) & (_entries.c.object_id == item.id))


def write_document(connection: sa.Connection, session: Session, document: Document) -> None:
    """Title, type and the text of the current (highest) version: a new version replaces the old text."""
    sha256 = session.scalar(select(DocumentVersion.sha256).where(DocumentVersion.document_id == document.id)
                            .order_by(DocumentVersion.number.desc()).limit(1))
    body = _stored_pdf_text(str(current_app.config["DATA_DIR"]), sha256) if sha256 else ""
    _put(connection, EntryKind.DOCUMENT, document.id, meeting_id=document.meeting_id,
         agenda_item_id=document.agenda_item_id, confidentiality=document.confidentiality,
         title=document.title, body="\n".join(part for part in (document.doc_type, body) if part))


def write_ballot(connection: sa.Connection, session: Session, ballot: Ballot) -> None:
    questions = session.scalars(select(Question.text).where(Question.ballot_id == ballot.id)
                                .order_by(Question.position))
    _put(connection, EntryKind.BALLOT, ballot.id, title=ballot.title,
         body="\n".join([ballot.summary or "", *questions]).strip())


@functools.lru_cache(maxsize=64)
def _stored_pdf_text(data_dir: str, sha256: str) -> str:
    """Versions are immutable and content-addressed, so the text of a sha256 never changes."""
    try:
        data = storage.get(sha256)
    except FileNotFoundError:
        return ""
    return text.pdf_text(data)


def _put(connection: sa.Connection, kind: EntryKind, object_id: int, *, title: str, body: str,
         meeting_id: int | None = None, agenda_item_id: int | None = None,
         confidentiality: Confidentiality | str = Confidentiality.NORMAL) -> None:
    """Insert or rewrite the row of (kind, object_id) and its engine-specific text index."""
    title = title[:500]
    body = body[:text.MAX_TEXT_CHARS]
    values: dict[str, Any] = {"meeting_id": meeting_id, "agenda_item_id": agenda_item_id, "title": title, "body": body,
              "confidentiality": str(confidentiality), "updated_at": utcnow()}
    folded_title, folded_body = text.index_text(title), text.index_text(body)
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        simple = sa.cast("simple", REGCONFIG)
        # setweight takes a "char" label, which a bound VARCHAR does not match: hence the literals
        values["vector"] = (sa.func.setweight(sa.func.to_tsvector(simple, folded_title), sa.literal_column("'A'"))
                            .op("||")(sa.func.setweight(sa.func.to_tsvector(simple, folded_body),
                                                        sa.literal_column("'B'"))))
    key = (_entries.c.kind == str(kind)) & (_entries.c.object_id == object_id)
    entry_id = connection.scalar(select(_entries.c.id).where(key))
    if entry_id is None:
        entry_id = connection.scalar(_entries.insert().values(kind=str(kind), object_id=object_id, **values)
                                     .returning(_entries.c.id))
    else:
        connection.execute(_entries.update().where(_entries.c.id == entry_id).values(**values))
    if not postgres:
        connection.execute(sa.text(f"DELETE FROM {FTS_TABLE} WHERE rowid = :id"), {"id": entry_id})  # noqa: S608
        connection.execute(sa.text(f"INSERT INTO {FTS_TABLE} (rowid, title, body) VALUES (:id, :title, :body)"),  # noqa: S608
                           {"id": entry_id, "title": folded_title, "body": folded_body})


def _delete(connection: sa.Connection, condition: sa.ColumnElement[bool]) -> None:
    ids: list[int] = list(connection.scalars(select(_entries.c.id).where(condition)))
    if not ids:
        return
    connection.execute(_entries.delete().where(_entries.c.id.in_(ids)))
    if connection.dialect.name != "postgresql":
        connection.execute(sa.text(f"DELETE FROM {FTS_TABLE} WHERE rowid IN :ids")  # noqa: S608
                           .bindparams(sa.bindparam("ids", expanding=True)), {"ids": ids})


def rebuild(session: Session) -> int:
    """Empty the index and fill it again from every meeting, item, document and ballot; the row count.

    Precondition: inside ``write_transaction()``.
    """
    connection = session.connection()
    connection.execute(_entries.delete())
    if connection.dialect.name != "postgresql":
        connection.execute(sa.text(f"DELETE FROM {FTS_TABLE}"))  # noqa: S608
    for meeting in _all(session, Meeting):
        write_meeting(connection, meeting)
    for item in _all(session, AgendaItem):
        write_item(connection, item)
    for document in _all(session, Document):
        write_document(connection, session, document)
    for ballot in _all(session, Ballot):
        write_ballot(connection, session, ballot)
    return int(connection.scalar(select(sa.func.count()).select_from(_entries)) or 0)


def _all(session: Session, model: type[Any]) -> Iterable[Any]:
    return session.scalars(select(model).order_by(model.id)).all()


def is_empty(session: Session) -> bool:
    return session.scalar(select(_entries.c.id).limit(1)) is None
