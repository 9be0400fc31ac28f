"""Request shapes of the meetings API (they feed the OpenAPI document) and the JSON it answers with."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from apiflask import Schema
from apiflask.fields import AwareDateTime, Boolean, Integer, List, String
from apiflask.validators import Length, OneOf, Range
from flask import current_app
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, joinedload, selectinload

from documents.models import Document, DocumentVersion, ReaderCopy
from documents.schemas import dump_document
from ecabinet.audit import AuditRecord
from ecabinet.auth.models import User
from ecabinet.database import db, listen
from ecabinet.schemas import LEVELS, shown
from meetings import access, dossiers, service
from meetings.models import AgendaItem, ItemPosition, Meeting, Participant, ParticipantGroup

KINDS = ["regular", "thematic", "extraordinary"]
STANCES = ["agree", "objection", "wish_to_speak"]


class MeetingIn(Schema):
    title = String(required=True, validate=Length(1, 300))
    kind = String(required=True, validate=OneOf(KINDS))
    starts_at = AwareDateTime(required=True)
    location = String(load_default="", validate=Length(max=300))
    chair_id = Integer(required=True)
    confidentiality = String(load_default="normal", validate=OneOf(LEVELS))


class MeetingPatch(Schema):
    title = String(validate=Length(1, 300))
    kind = String(validate=OneOf(KINDS))
    starts_at = AwareDateTime()
    location = String(validate=Length(max=300))
    chair_id = Integer()
    confidentiality = String(validate=OneOf(LEVELS))


class ParticipantIn(Schema):
    user_id = Integer(required=True)
    role = String(required=True, validate=OneOf(["member", "delegate", "guest"]))
    represents_user_id = Integer(allow_none=True)
    agenda_item_ids = List(Integer(), load_default=list)


class MembersIn(Schema):
    user_ids = List(Integer(), required=True, validate=Length(1, 500))


class GroupIn(Schema):
    name = String(required=True, validate=Length(1, 200))
    user_ids = List(Integer(), required=True, validate=Length(1, 500))


class GroupInviteIn(Schema):
    group_id = Integer(required=True)


class CancelIn(Schema):
    reason = String(required=True, validate=Length(1, 2000))


class PostponeIn(Schema):
    reason = String(required=True, validate=Length(1, 2000))
    starts_at = AwareDateTime(required=True)


class AgendaItemIn(Schema):
    title = String(required=True, validate=Length(1, 500))
    presenter = String(load_default="", validate=Length(max=300))
    duration_minutes = Integer(load_default=15, validate=Range(1, 600))
    #: for adoption without discussion in the consent block (only before the session starts)
    consent_block = Boolean(load_default=False)


class AgendaItemPatch(Schema):
    title = String(validate=Length(1, 500))
    presenter = String(validate=Length(max=300))
    duration_minutes = Integer(validate=Range(1, 600))
    position = Integer(validate=Range(min=1))
    consent_block = Boolean()


class PositionIn(Schema):
    stance = String(required=True, validate=OneOf(STANCES))


def user_brief(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.id, "full_name": user.full_name, "title": user.title}


def dump_participant(participant: Participant) -> dict[str, Any]:
    return {"id": participant.id, "user_id": participant.user_id, "role": str(participant.role),
            "user": user_brief(participant.user),
            "represents_user_id": participant.represents_user_id, "represents": user_brief(participant.represents),
            "approved": participant.approved_at is not None, "approved_at": shown(participant.approved_at),
            "agenda_item_ids": list(participant.agenda_item_ids or [])}


def dump_group(group: ParticipantGroup) -> dict[str, Any]:
    return {"id": group.id, "name": group.name, "user_ids": [m.user_id for m in group.members],
            "members": [user_brief(m.user) for m in group.members], "updated_at": shown(group.updated_at)}


def dump_item(item: AgendaItem) -> dict[str, Any]:
    return {"id": item.id, "meeting_id": item.meeting_id, "position": item.position, "title": item.title,
            "presenter": item.presenter, "duration_minutes": item.duration_minutes, "conclusion": item.conclusion,
            "adopted_without_discussion": item.adopted_without_discussion, "consent_block": item.consent_block}


def dump_meeting_summary(meeting: Meeting) -> dict[str, Any]:
    return {"id": meeting.id, "title": meeting.title, "kind": str(meeting.kind), "starts_at": shown(meeting.starts_at),
            "location": meeting.location, "chair_id": meeting.chair_id, "chair": user_brief(meeting.chair),
            "confidentiality": str(meeting.confidentiality), "status": str(meeting.status),
            "published_at": shown(meeting.published_at)}


def dump_meeting(meeting: Meeting, viewer: User) -> dict[str, Any]:
    """The meeting as ``viewer`` may see it, read through the request's session (after a change, pages)."""
    return render_meeting(_snapshot(db.session(), meeting), viewer)


def render_meeting(snapshot: MeetingSnapshot, viewer: User) -> dict[str, Any]:
    """The meeting as ``viewer`` may see it: guests get only their items, tallies only for chair and secretariat.

    Precondition: ``viewer`` may see the meeting (``access.require_visible``).
    """
    meeting = snapshot.meeting
    connection = db.session.connection()
    params = {"user_id": viewer.id, "meeting_id": meeting.id}
    stances = {item_id: str(stance) for item_id, stance in connection.execute(_STANCES, params)}
    last_opened = {document_id: last for document_id, last in connection.execute(_LAST_OPENED, params)}
    see_tally = access.may_see_tally(meeting, viewer)
    agenda = []
    for item, body, documents in snapshot.agenda:
        if not access.may_see_item(meeting, item, viewer):
            continue
        entry = {**body, "documents": [dump_document(d, viewer, last_opened=last_opened,
                                                     readable=dossiers.read_refusal(meeting, d, viewer) is None)
                                       for d in documents if dossiers.may_list(meeting, d, viewer)],
                 "my_position": stances.get(item.id)}
        if see_tally:
            entry["tally"] = service.tally(item)
        agenda.append(entry)
    participants = snapshot.participants
    participant = access.participant_of(meeting, viewer)
    if participant is not None and participant.role == "guest" and not viewer.is_secretariat:
        participants = [(p, body) for p, body in participants if p.role != "guest" or p.user_id == viewer.id]
    return {**snapshot.summary, "participants": [body for _, body in participants], "agenda": agenda,
            "my_role": _my_role(meeting, viewer)}


def _my_role(meeting: Meeting, viewer: User) -> str | None:
    if meeting.chair_id == viewer.id:
        return "chair"
    participant = access.participant_of(meeting, viewer)
    if participant is not None:
        return str(participant.role)
    return "secretary" if viewer.is_secretariat else None


# built once: building a statement costs more than running it (bench/json_api.py)
_STANCES = select(ItemPosition.agenda_item_id, ItemPosition.stance).where(
    ItemPosition.user_id == sa.bindparam("user_id"),
    ItemPosition.agenda_item_id.in_(select(AgendaItem.id).where(AgendaItem.meeting_id == sa.bindparam("meeting_id"))))
# document id -> the highest version the viewer opened, for all the meeting's documents in one query
_LAST_OPENED = select(ReaderCopy.document_id, sa.func.max(ReaderCopy.version_number)).where(
    ReaderCopy.user_id == sa.bindparam("user_id"),
    ReaderCopy.document_id.in_(select(Document.id).where(Document.meeting_id == sa.bindparam("meeting_id")))
).group_by(ReaderCopy.document_id)
_NEWEST_RECORD = select(AuditRecord.id, AuditRecord.hash).order_by(AuditRecord.id.desc()).limit(1)


# --- the meeting view remembered between requests --------------------------------------------------

@dataclass(frozen=True)
class MeetingSnapshot:
    """A meeting's rows and their viewer-independent JSON, and the answers given from them so far."""

    meeting: Meeting  # with participants (and their users), chair and agenda loaded
    summary: dict[str, Any]
    participants: list[tuple[Participant, dict[str, Any]]]
    agenda: list[tuple[AgendaItem, dict[str, Any], list[Document]]]  # each item's documents, versions loaded
    _answers: dict[tuple[Any, ...], bytes] = field(default_factory=dict, compare=False)

    def answer_for(self, viewer: User) -> bytes:
        """``render_meeting`` as the JSON body Flask would send, rendered and encoded once per viewer, keyed
        by the viewer's whole row: a change to it (roles, clearance) is a new answer even before the
        snapshot itself is replaced.

        Precondition: ``viewer`` may see the meeting (``access.require_visible``).
        """
        key = tuple(tuple(v) if isinstance(v := getattr(viewer, attr.key), list) else v
                    for attr in sa.inspect(User).column_attrs)
        answer = self._answers.get(key)
        if answer is None:
            answer = self._answers[key] = current_app.json.response(  # type: ignore[attr-defined]  # a flask Response, typed as its sansio base
                render_meeting(self, viewer)).get_data()
        return answer


def _snapshot(session: Session, meeting: Meeting) -> MeetingSnapshot:
    # every participant's user in one query instead of one each: held here, so p.user and p.represents
    # come from the identity map (bench/json_api.py)
    ids = {p.user_id for p in meeting.participants} | {p.represents_user_id for p in meeting.participants
                                                       if p.represents_user_id}
    _users = list(session.scalars(select(User).where(User.id.in_(ids)))) if ids else []
    by_item: dict[int, list[Document]] = defaultdict(list)
    for document in session.scalars(select(Document).where(Document.meeting_id == meeting.id)
                                    .options(selectinload(Document.versions)).order_by(Document.id)):
        by_item[document.agenda_item_id].append(document)
    return MeetingSnapshot(meeting=meeting, summary=dump_meeting_summary(meeting),
                           participants=[(p, dump_participant(p)) for p in meeting.participants],
                           agenda=[(item, dump_item(item), by_item[item.id]) for item in meeting.agenda])


# app.extensions key: (key, {meeting id: snapshot}); the snapshots of an older key are never used
# again (the newest record only moves on), so a new key drops them all
_SNAPSHOTS = "meetings.snapshots"
# the models an answer is made of: a change to one of them written through this process forgets every
# snapshot when it commits, even one no audit record describes
_SHOWN = (Meeting, Participant, AgendaItem, User, Document, DocumentVersion, ItemPosition, ReaderCopy)
_WROTE = "meetings.wrote_shown"
_commits = 0
_lock = threading.Lock()


def meeting_snapshot(meeting_id: int) -> MeetingSnapshot | None:
    """The meeting's snapshot (None when there is no such meeting), built once per change in this process.

    It is keyed by the newest audit record, read first in one indexed query: every change is written by
    a service that appends a record in the same transaction, in whichever process (a position, a
    reader's first opening too), and writers are serialised, so any change committed since gives a new
    key. The record's hash, not only its id, tells a recreated or restored database apart. Changes
    without a record made here (bookkeeping, tests) count too, through ``_commits``. Everything an answer
    is made of is read after the key, so none is older than its key; the rows in a session of their own,
    kept detached: nothing in a request can change or expire them.
    """
    commits = _commits
    with _request_connection() as connection:
        key = (commits, tuple(connection.execute(_NEWEST_RECORD).one_or_none() or ()))
        remembered: tuple[Any, dict[int, MeetingSnapshot]] | None = current_app.extensions.get(_SNAPSHOTS)
        if remembered is None or remembered[0] != key:
            remembered = current_app.extensions[_SNAPSHOTS] = (key, {})
        snapshots = remembered[1]
        if meeting_id in snapshots:
            return snapshots[meeting_id]
        with Session(bind=connection) as session:
            meeting = session.scalar(select(Meeting).where(Meeting.id == meeting_id).options(
                joinedload(Meeting.chair), selectinload(Meeting.participants), selectinload(Meeting.agenda)))
            snapshot = _snapshot(session, meeting) if meeting is not None else None
    if snapshot is not None:
        snapshots[meeting_id] = snapshot
    return snapshot


@contextmanager
def _request_connection() -> Iterator[Connection]:
    """The request's own connection when its session has begun; otherwise one taken for this read only and
    given back before the request goes on (no session is made for it). Either way a request
    never holds two: that could exhaust the pool when many tablets read at once (PostgreSQL under gevent
    yields while a query runs)."""
    if db.session.registry.has() and db.session().in_transaction():
        yield db.session.connection()
        return
    with db.engine.connect() as connection:
        yield connection


def _note_shown_changes(session: Session, flush_context: Any, instances: Any) -> None:
    if any(isinstance(obj, _SHOWN) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info[_WROTE] = True


def _note_bulk_changes(state: Any) -> None:
    if (state.is_update or state.is_delete) and any(m.class_ in _SHOWN for m in state.all_mappers):
        state.session.info[_WROTE] = True


def _forget_snapshots(session: Session) -> None:
    global _commits
    if session.info.pop(_WROTE, False):
        with _lock:
            _commits += 1


def _drop_noted(session: Session) -> None:
    session.info.pop(_WROTE, None)


def install_listeners() -> None:
    """Count the commits that change what a meeting shows, on every session (from meetings.init_app): a
    snapshot made before such a commit is not served after it."""
    listen(Session, "before_flush", _note_shown_changes)
    listen(Session, "do_orm_execute", _note_bulk_changes)
    listen(Session, "after_commit", _forget_snapshots)
    listen(Session, "after_rollback", _drop_noted)
