"""The live session: the only code that changes attendance, the agenda's progress, speakers and votes.

Each function runs in one write transaction that also appends the meeting event and the audit
record; the event reaches the tablets only after the commit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, inspect, select

from documents.models import Document
from ecabinet import audit, realtime
from ecabinet.audit import canonical_json
from ecabinet.auth.access import require_secretariat
from ecabinet.auth.models import User
from ecabinet.database import db, utcnow, write_transaction
from ecabinet.errors import Conflict, Forbidden, Invalid, NotFound
from meetings.access import may_see_item
from meetings.live import rules
from meetings.live.models import SpeakerRequest, SpeakerStatus, Vote, VoteChoice, VoteParticipation, VoteStatus
from meetings.models import AgendaItem, ItemPosition, Meeting, MeetingStatus, Participant, ParticipantRole, Stance

if TYPE_CHECKING:
    from documents.models import Document


@dataclass(frozen=True)
class Receipt:
    """What a tablet keeps as proof of a member's act: the event it became and its hash."""

    act: str
    meeting_id: int
    user_id: int
    seq: int
    at: str

    def as_dict(self) -> dict[str, Any]:
        body = {"act": self.act, "meeting_id": self.meeting_id, "user_id": self.user_id, "seq": self.seq,
                "at": self.at}
        return {**body, "sha256": hashlib.sha256(canonical_json(body).encode()).hexdigest()}


def _receipt(act: str, meeting: Meeting, user: User, event: realtime.MeetingEvent) -> dict[str, Any]:
    return Receipt(act, meeting.id, user.id, event.seq, event.at.isoformat()).as_dict()


# --- who may do what ----------------------------------------------------------------------------

def vote_by_id(vote_id: int) -> Vote | None:
    """The vote with id ``vote_id``, if any (who may see it is the caller's check)."""
    return db.session.get(Vote, vote_id)


def participant(meeting: Meeting, user: User) -> Participant | None:
    return db.session.scalar(select(Participant).where(Participant.meeting_id == meeting.id,
                                                       Participant.user_id == user.id))


def require_chair(meeting: Meeting, actor: User) -> None:
    if meeting.chair_id != actor.id:
        raise Forbidden("chair_only")


def require_chair_or_secretariat(meeting: Meeting, actor: User) -> None:
    if meeting.chair_id != actor.id and not actor.is_secretariat:
        raise Forbidden("chair_or_secretariat_only")


def require_in_session(meeting: Meeting) -> None:
    if meeting.status != MeetingStatus.IN_SESSION:
        raise Conflict("session_not_in_progress")


@dataclass(frozen=True)
class Seat:
    """A participant as the count sees them: who, in what role, present or not."""

    user_id: int
    role: ParticipantRole
    present: bool


# presence as two booleans: the seat needs whether there is a check-in or an absence, not their times
# (reading fifty check-in times parses fifty datetimes on every command of a session)
_SEATS = select(Participant.user_id, Participant.role, Participant.checked_in_at.is_not(None).label("checked_in"),
                Participant.absence_reason.is_not(None).label("recorded_absent")) \
    .where(Participant.meeting_id == bindparam("meeting_id")).order_by(Participant.id)
_ROLES = {str(role): role for role in ParticipantRole}


def seats(meeting: Meeting) -> list[Seat]:
    """Every participant's seat, in the participants' order: from the participants when the session holds
    them, else from four columns of one query (a count of fifty members need not build fifty objects)."""
    if "participants" in inspect(meeting).dict:
        return [Seat(p.user_id, p.role, is_present(p)) for p in meeting.participants]
    db.session.flush()  # the query goes on the connection, past the session's autoflush
    rows = db.session.connection().execute(_SEATS, {"meeting_id": meeting.id})
    return [Seat(user_id, _ROLES[role], rules.is_present(checked_in=bool(checked_in),
                                                          recorded_absent=bool(recorded_absent)))
            for user_id, role, checked_in, recorded_absent in rows]


def member_ids(meeting: Meeting, room: list[Seat] | None = None) -> list[int]:
    """The members' user ids, in the participants' order (every seat of a vote's majority); ``room``: the
    meeting's seats when the caller has them already."""
    return [seat.user_id for seat in (seats(meeting) if room is None else room) if seat.role == ParticipantRole.MEMBER]


def is_present(entry: Participant) -> bool:
    return rules.is_present(checked_in=entry.checked_in_at is not None,
                            recorded_absent=entry.absence_reason is not None)


def delegates_vote() -> bool:
    """The deployment's policy (``ECABINET_DELEGATES_VOTE``): may an approved delegate vote for the member?"""
    return bool(current_app.config.get("DELEGATES_VOTE", False))


def quorum(meeting: Meeting, room: list[Seat] | None = None) -> dict[str, Any]:
    """Present members against two thirds of ALL members (delegates are shown, not counted)."""
    room = seats(meeting) if room is None else room
    total = sum(1 for seat in room if seat.role == ParticipantRole.MEMBER)
    present = sum(1 for seat in room if seat.role == ParticipantRole.MEMBER and seat.present)
    delegates = sum(1 for seat in room if seat.role == ParticipantRole.DELEGATE and seat.present)
    return {"present": present, "total_members": total, "required": rules.quorum_required(total),
            "reached": rules.quorum_reached(present, total), "delegates_present": delegates}


def require_quorum(meeting: Meeting, room: list[Seat] | None = None) -> None:
    # a session acts only with two thirds of ALL members present (Law on Government Organization)
    if not quorum(meeting, room)["reached"]:
        raise Conflict("quorum_not_reached")


# --- session --------------------------------------------------------------------------------------

def start_session(meeting: Meeting, *, actor: User) -> Meeting:
    """The chair opens a published meeting."""
    require_chair(meeting, actor)
    with write_transaction():
        if meeting.status != MeetingStatus.PUBLISHED:
            raise Conflict("meeting_not_published")
        meeting.status = MeetingStatus.IN_SESSION
        meeting.started_at = utcnow()
        audit.record(actor, "session.started", meeting)
        realtime.publish(meeting.id, "session.started", {"started_at": meeting.started_at.isoformat(),
                                                         "quorum": quorum(meeting)})
    return meeting


def close_session(meeting: Meeting, *, actor: User) -> Meeting:
    """The chair closes the session; open votes must be closed first."""
    require_chair(meeting, actor)
    with write_transaction():
        require_in_session(meeting)
        if db.session.scalar(select(Vote.id).where(Vote.meeting_id == meeting.id, Vote.status == VoteStatus.OPEN)):
            raise Conflict("votes_still_open")
        now = utcnow()
        for request in _active_speakers(meeting):
            request.status = SpeakerStatus.FINISHED if request.status == SpeakerStatus.GRANTED \
                else SpeakerStatus.WITHDRAWN
            request.finished_at = now
        meeting.status = MeetingStatus.CLOSED
        meeting.closed_at = now
        audit.record(actor, "session.closed", meeting)
        realtime.publish(meeting.id, "session.closed", {"closed_at": now.isoformat()})
    return meeting


# --- attendance -----------------------------------------------------------------------------------

def check_in(meeting: Meeting, *, actor: User, member: User | None = None) -> dict[str, Any]:
    """A member checks in; the secretariat may check in a member on their behalf."""
    member = member or actor
    if member.id != actor.id:
        require_secretariat(actor)
    with write_transaction():
        if meeting.status not in (MeetingStatus.PUBLISHED, MeetingStatus.IN_SESSION):
            raise Conflict("session_not_in_progress")
        entry = participant(meeting, member)
        if entry is None:
            raise NotFound()
        if entry.role == ParticipantRole.DELEGATE and entry.approved_at is None:
            raise Forbidden("delegate_not_approved")
        if entry.checked_in_at is None:
            entry.checked_in_at = utcnow()
        if entry.attended_at is None:
            entry.attended_at = entry.checked_in_at
        entry.absence_reason = None
        audit.record(actor, "attendance.checked_in", entry,
                     {"user_id": member.id, "by_secretariat": member.id != actor.id})
        event = realtime.publish(meeting.id, "attendance.changed",
                                 {"user_id": member.id, "present": True, "quorum": quorum(meeting)})
    return {"attendance": _attendance_row(entry), "quorum": quorum(meeting),
            "receipt": _receipt("checkin", meeting, member, event)}


def record_absence(meeting: Meeting, member: User, reason: str, *, actor: User) -> dict[str, Any]:
    """The secretariat records a member's absence and its reason."""
    require_secretariat(actor)
    if not reason.strip():
        raise Invalid(fields={"reason": "required"})
    with write_transaction():
        if meeting.status in (MeetingStatus.CLOSED, MeetingStatus.ARCHIVED):
            raise Conflict("meeting_closed")
        entry = participant(meeting, member)
        if entry is None:
            raise NotFound()
        entry.checked_in_at = None
        entry.absence_reason = reason.strip()[:500]
        if meeting.status == MeetingStatus.PUBLISHED:
            # away before the session opened: not an attendance; a member leaving during it keeps theirs
            entry.attended_at = None
        audit.record(actor, "attendance.absent", entry, {"user_id": member.id, "reason": entry.absence_reason})
        realtime.publish(meeting.id, "attendance.changed",
                         {"user_id": member.id, "present": False, "absence_reason": entry.absence_reason,
                          "quorum": quorum(meeting)})
    return {"attendance": _attendance_row(entry), "quorum": quorum(meeting)}


def _attendance_row(entry: Participant) -> dict[str, Any]:
    return {"user_id": entry.user_id, "full_name": entry.user.full_name, "title": entry.user.title,
            "role": str(entry.role), "present": is_present(entry),
            "checked_in_at": entry.checked_in_at.isoformat() if entry.checked_in_at else None,
            "absence_reason": entry.absence_reason,
            "represents": entry.represents.full_name if entry.represents else None}


def attendance(meeting: Meeting) -> list[dict[str, Any]]:
    return [_attendance_row(p) for p in meeting.participants]


# --- agenda ---------------------------------------------------------------------------------------

def _item(meeting: Meeting, item_id: int) -> AgendaItem:
    item = db.session.get(AgendaItem, item_id)
    if item is None or item.meeting_id != meeting.id:
        raise NotFound()
    return item


def activate_item(meeting: Meeting, item_id: int, *, actor: User) -> dict[str, Any]:
    """The chair (or the secretariat at the chair's word) moves the session to an agenda item; the answer
    is the event the room received (made in the transaction: nothing is read again after the commit)."""
    require_chair_or_secretariat(meeting, actor)
    with write_transaction():
        require_in_session(meeting)
        item = _item(meeting, item_id)
        meeting.current_item_id = item.id
        meeting.presentation = None
        if item.activated_at is None:
            item.activated_at = utcnow()
        audit.record(actor, "agenda.activated", item)
        activated = {"agenda_item_id": item.id, "title": item.title, "position": item.position}
        realtime.publish(meeting.id, "agenda.activated", activated)
    return activated


@dataclass(frozen=True)
class ConsentBlock:
    """The items the consent block would adopt now, and each other marked item with why it is out."""

    items: list[AgendaItem]
    excluded: list[tuple[AgendaItem, str]]

    @property
    def ids(self) -> list[int]:
        return [item.id for item in self.items]


def consent_block(meeting: Meeting) -> ConsentBlock:
    """Derived from the record each time: marks, activations, votes, positions and withdrawals."""
    voted = set(db.session.scalars(select(Vote.agenda_item_id).where(Vote.meeting_id == meeting.id,
                                                                     Vote.agenda_item_id.is_not(None))))
    objected = set(db.session.scalars(
        select(ItemPosition.agenda_item_id).join(AgendaItem)
        .where(AgendaItem.meeting_id == meeting.id,
               ItemPosition.stance.in_([Stance.OBJECTION, Stance.WISH_TO_SPEAK]))))
    items, excluded = [], []
    for item in meeting.agenda:
        reason = rules.consent_exclusion(
            marked=item.consent_block, adopted=item.adopted_without_discussion, activated=item.activated_at is not None,
            voted=item.id in voted, objected=item.id in objected or item.consent_withdrawn_at is not None)
        if reason is None:
            items.append(item)
        elif reason != "not_marked":
            excluded.append((item, reason))
    return ConsentBlock(items, excluded)


def consent_preview(meeting: Meeting, viewer: User) -> dict[str, Any]:
    """What the chair is shown before adopting: exactly the items adoption would adopt, and the quorum."""
    block = consent_block(meeting)
    items = [item for item in block.items if may_see_item(meeting, item, viewer)]
    return {"meeting_id": meeting.id, "status": str(meeting.status), "agenda_item_ids": [item.id for item in items],
            "items": [{"id": item.id, "position": item.position, "title": item.title, "presenter": item.presenter}
                      for item in items],
            "excluded": [{"agenda_item_id": item.id, "position": item.position, "title": item.title,
                          "reason": reason} for item, reason in block.excluded if may_see_item(meeting, item, viewer)],
            "quorum": quorum(meeting)}


def adopt_consent_block(meeting: Meeting, agenda_item_ids: list[int], *, actor: User) -> list[int]:
    """Adopt together, without discussion, the consent block exactly as the chair was shown it.

    ``agenda_item_ids`` is the block the chair previewed; a block changed since (an objection, an item
    taken up) is refused, so what is adopted is always what was shown.
    """
    require_chair(meeting, actor)
    with write_transaction():
        require_in_session(meeting)
        require_quorum(meeting)
        block = consent_block(meeting)
        if not block.items:
            raise Conflict("consent_block_empty")
        if sorted(set(agenda_item_ids)) != sorted(block.ids):
            raise Conflict("consent_block_changed")
        for item in block.items:
            item.adopted_without_discussion = True
        ids = block.ids
        audit.record(actor, "consent.adopted", meeting, {"agenda_item_ids": ids, "quorum": quorum(meeting)})
        realtime.publish(meeting.id, "consent.adopted",
                         {"agenda_item_ids": ids, "titles": [item.title for item in block.items]})
    return ids


CONSENT_WITHDRAWAL_REASONS = ("objection", "wish_to_speak")


def withdraw_from_consent_block(meeting: Meeting, item: AgendaItem, reason: str, *, actor: User) -> AgendaItem:
    """A member objects to an item of the consent block, or wishes to speak on it: the item leaves the block."""
    if reason not in CONSENT_WITHDRAWAL_REASONS:
        raise Invalid(fields={"reason": " | ".join(CONSENT_WITHDRAWAL_REASONS)})
    entry = participant(meeting, actor)
    if entry is None or not (entry.role == ParticipantRole.MEMBER
                             or (entry.role == ParticipantRole.DELEGATE and entry.approved_at is not None)):
        raise Forbidden("consent_objection_not_allowed")
    with write_transaction():
        if meeting.status in (MeetingStatus.CLOSED, MeetingStatus.ARCHIVED):
            raise Conflict("meeting_closed" if meeting.status == MeetingStatus.CLOSED else "meeting_archived")
        if meeting.status == MeetingStatus.DRAFT:
            raise Conflict("meeting_not_published")
        if item.id not in consent_block(meeting).ids:
            raise Conflict("item_not_in_consent_block")
        item.consent_withdrawn_at = utcnow()
        item.consent_withdrawn_reason = reason
        audit.record(actor, "consent.item_withdrawn", item, {"reason": reason, "user_id": actor.id})
        realtime.publish(meeting.id, "consent.item_withdrawn",
                         {"agenda_item_id": item.id, "reason": reason, "user_id": actor.id})
    return item


def present_document(meeting: Meeting, document_id: int, page: int, *, actor: User) -> dict[str, int]:
    """Move every following tablet to a document page."""
    require_chair_or_secretariat(meeting, actor)
    if page < 1:
        raise Invalid(fields={"page": "must be 1 or more"})
    with write_transaction():
        require_in_session(meeting)
        # the document stays in the session while the event's audience is decided from its item
        document = _require_document_of_meeting(meeting, document_id, page)
        meeting.presentation = {"document_id": document.id, "page": page}
        audit.record(actor, "presentation.moved", meeting, meeting.presentation)
        realtime.publish(meeting.id, "presentation.moved", dict(meeting.presentation))
    return {"document_id": document_id, "page": page}


def _require_document_of_meeting(meeting: Meeting, document_id: int, page: int) -> Document:
    document = db.session.get(Document, document_id)
    if document is None or document.meeting_id != meeting.id:
        raise NotFound()
    pages = getattr(document.current_version, "pages", None)
    if pages is not None and page > pages:
        raise Invalid(fields={"page": f"the document has {pages} pages"})
    return document


def set_conclusion(meeting: Meeting, item_id: int, text: str, *, actor: User) -> AgendaItem:
    """The secretariat writes the conclusion of an item."""
    require_secretariat(actor)
    if not text.strip():
        raise Invalid(fields={"text": "required"})
    with write_transaction():
        if meeting.status in (MeetingStatus.ARCHIVED, MeetingStatus.DRAFT):
            archived = meeting.status == MeetingStatus.ARCHIVED
            raise Conflict("meeting_archived" if archived else "session_not_in_progress")
        item = _item(meeting, item_id)
        item.conclusion = text.strip()
        audit.record(actor, "conclusion.set", item, {"text": item.conclusion})
        realtime.publish(meeting.id, "conclusion.set", {"agenda_item_id": item.id, "text": item.conclusion})
    return item


# --- speakers -------------------------------------------------------------------------------------

def _active_speakers(meeting: Meeting) -> list[SpeakerRequest]:
    return list(db.session.scalars(select(SpeakerRequest).where(
        SpeakerRequest.meeting_id == meeting.id,
        SpeakerRequest.status.in_([SpeakerStatus.REQUESTED, SpeakerStatus.GRANTED])).order_by(SpeakerRequest.id)))


def speaker_row(request: SpeakerRequest) -> dict[str, Any]:
    return {"id": request.id, "user_id": request.user_id, "full_name": request.user.full_name,
            "title": request.user.title, "status": str(request.status), "agenda_item_id": request.agenda_item_id,
            "requested_at": request.requested_at.isoformat(),
            "granted_at": request.granted_at.isoformat() if request.granted_at else None,
            "finished_at": request.finished_at.isoformat() if request.finished_at else None,
            "seconds_spoken": request.seconds_spoken, "allotted_seconds": request.allotted_seconds}


def speakers(meeting: Meeting) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(SpeakerRequest).where(SpeakerRequest.meeting_id == meeting.id)
                              .order_by(SpeakerRequest.id))
    return [speaker_row(row) for row in rows]


def request_floor(meeting: Meeting, *, actor: User) -> dict[str, Any]:
    """A participant asks for the floor; the queue is in order of request."""
    with write_transaction():
        require_in_session(meeting)
        if participant(meeting, actor) is None:
            raise NotFound()
        if any(r.user_id == actor.id for r in _active_speakers(meeting)):
            raise Conflict("already_requested_floor")
        request = SpeakerRequest(meeting_id=meeting.id, agenda_item_id=meeting.current_item_id, user_id=actor.id,
                                 requested_at=utcnow())
        db.session.add(request)
        db.session.flush()
        audit.record(actor, "speaker.requested", request)
        event = realtime.publish(meeting.id, "speaker.requested", speaker_row(request))
    return {"speaker": speaker_row(request), "receipt": _receipt("speaker.requested", meeting, actor, event)}


def enqueue_speaker(meeting: Meeting, member: User, *, actor: User) -> dict[str, Any]:
    """The chair puts a participant in the queue, e.g. one who asked before the session to speak."""
    require_chair_or_secretariat(meeting, actor)
    with write_transaction():
        require_in_session(meeting)
        if participant(meeting, member) is None:
            raise NotFound()
        if any(r.user_id == member.id for r in _active_speakers(meeting)):
            raise Conflict("already_requested_floor", _l("This participant is already in the queue."))
        request = SpeakerRequest(meeting_id=meeting.id, agenda_item_id=meeting.current_item_id, user_id=member.id,
                                 requested_at=utcnow())
        db.session.add(request)
        db.session.flush()
        audit.record(actor, "speaker.requested", request, {"user_id": member.id, "by": actor.id})
        realtime.publish(meeting.id, "speaker.requested", speaker_row(request))
    return speaker_row(request)


def _speaker(meeting: Meeting, speaker_id: int) -> SpeakerRequest:
    request = db.session.get(SpeakerRequest, speaker_id)
    if request is None or request.meeting_id != meeting.id:
        raise NotFound()
    return request


def withdraw_floor(meeting: Meeting, speaker_id: int, *, actor: User) -> dict[str, Any]:
    """A participant withdraws their own request before speaking."""
    with write_transaction():
        request = _speaker(meeting, speaker_id)
        if request.user_id != actor.id:
            raise Forbidden()
        if request.status != SpeakerStatus.REQUESTED:
            raise Conflict("speaker_not_waiting")
        request.status = SpeakerStatus.WITHDRAWN
        request.finished_at = utcnow()
        audit.record(actor, "speaker.withdrawn", request)
        realtime.publish(meeting.id, "speaker.withdrawn", speaker_row(request))
    return speaker_row(request)


def grant_floor(meeting: Meeting, speaker_id: int, *, actor: User, seconds: int | None = None) -> dict[str, Any]:
    """The chair gives the floor, with a speaking time or none; whoever was speaking finishes first."""
    if seconds is not None and not rules.SPEAKING_SECONDS_MIN <= seconds <= rules.SPEAKING_SECONDS_MAX:
        raise Invalid(fields={"seconds": f"{rules.SPEAKING_SECONDS_MIN}-{rules.SPEAKING_SECONDS_MAX}"})
    require_chair(meeting, actor)
    with write_transaction():
        require_in_session(meeting)
        request = _speaker(meeting, speaker_id)
        if request.status != SpeakerStatus.REQUESTED:
            raise Conflict("speaker_not_waiting")
        now = utcnow()
        for current in _active_speakers(meeting):
            if current.status == SpeakerStatus.GRANTED:
                current.status = SpeakerStatus.FINISHED
                current.finished_at = now
                realtime.publish(meeting.id, "speaker.finished", speaker_row(current))
        request.status = SpeakerStatus.GRANTED
        request.granted_at = now
        request.allotted_seconds = seconds
        audit.record(actor, "speaker.granted", request, {"allotted_seconds": seconds} if seconds else None)
        realtime.publish(meeting.id, "speaker.granted", speaker_row(request))
    return speaker_row(request)


def finish_floor(meeting: Meeting, speaker_id: int, *, actor: User) -> dict[str, Any]:
    """The chair (or the speaker) ends a turn; the time spoken is kept."""
    with write_transaction():
        request = _speaker(meeting, speaker_id)
        if meeting.chair_id != actor.id and request.user_id != actor.id:
            raise Forbidden("chair_only")
        if request.status != SpeakerStatus.GRANTED:
            raise Conflict("speaker_not_speaking")
        request.status = SpeakerStatus.FINISHED
        request.finished_at = utcnow()
        audit.record(actor, "speaker.finished", request, {"seconds_spoken": request.seconds_spoken})
        realtime.publish(meeting.id, "speaker.finished", speaker_row(request))
    return speaker_row(request)


# --- votes ----------------------------------------------------------------------------------------

# each voter's name with the choice in one query (a closed vote's event is on its way to the room)
_NAMES = (select(VoteParticipation.user_id, VoteParticipation.choice, User.full_name)
          .join(User, User.id == VoteParticipation.user_id)
          .where(VoteParticipation.vote_id == bindparam("vote_id")).order_by(VoteParticipation.user_id))


def vote_view(vote: Vote, *, meeting: Meeting, room: list[Seat] | None = None) -> dict[str, Any]:
    """What anyone may see of a vote: counts always; names only after a named vote closed."""
    entitled = vote.entitled_user_ids if vote.entitled_user_ids is not None \
        else member_ids(meeting, room)
    view: dict[str, Any] = {"id": vote.id, "meeting_id": vote.meeting_id, "agenda_item_id": vote.agenda_item_id,
                            "question": vote.question, "secret": vote.secret, "status": str(vote.status),
                            "opened_at": vote.opened_at.isoformat(),
                            "closed_at": vote.closed_at.isoformat() if vote.closed_at else None,
                            "cast": vote.agree + vote.disagree + vote.abstain, "entitled": len(entitled),
                            "result": vote.result}
    if vote.status == VoteStatus.CLOSED and not vote.secret:
        rows = db.session.execute(_NAMES, {"vote_id": vote.id})
        view["names"] = [{"user_id": row.user_id, "full_name": row.full_name, "choice": str(row.choice)}
                         for row in rows]
    return view


def open_vote(meeting: Meeting, *, question: str, secret: bool, agenda_item_id: int | None,
              actor: User) -> tuple[Vote, dict[str, Any]]:
    """The chair opens a vote on the current matter, with the quorum present; one vote is open at a time.
    Returns the vote and its view as the room received it (made in the transaction, not read again)."""
    require_chair(meeting, actor)
    if not question.strip():
        raise Invalid(fields={"question": "required"})
    with write_transaction():
        require_in_session(meeting)
        if agenda_item_id is not None:
            _item(meeting, agenda_item_id)
        if db.session.scalar(select(Vote.id).where(Vote.meeting_id == meeting.id, Vote.status == VoteStatus.OPEN)):
            raise Conflict("vote_already_open")
        room = seats(meeting)
        require_quorum(meeting, room)
        vote = Vote(meeting_id=meeting.id, agenda_item_id=agenda_item_id, question=question.strip(), secret=secret,
                    opened_at=utcnow())
        db.session.add(vote)
        db.session.flush()
        audit.record(actor, "vote.opened", vote, {"question": vote.question, "secret": secret})
        view = vote_view(vote, meeting=meeting, room=room)
        realtime.publish(meeting.id, "vote.opened", view)
    return vote, view


def _require_may_vote(meeting: Meeting, vote: Vote, actor: User) -> None:
    """Only members present vote, once per member's seat. Precondition: inside the write transaction."""
    entry = participant(meeting, actor)
    if entry is None:
        raise Forbidden("not_entitled_to_vote")
    represented = None
    if entry.role == ParticipantRole.DELEGATE:
        represented = next((p for p in meeting.participants if p.user_id == entry.represents_user_id
                            and p.role == ParticipantRole.MEMBER), None)
    refusal = rules.voting_refusal(role=str(entry.role), checked_in=entry.checked_in_at is not None,
                                   recorded_absent=entry.absence_reason is not None, delegates_vote=delegates_vote(),
                                   delegate_approved=entry.approved_at is not None,
                                   represented_present=represented is not None and is_present(represented))
    if refusal == "not_entitled_to_vote":
        raise Forbidden(refusal)
    if refusal is not None:
        raise Conflict(refusal)
    if represented is None and entry.role == ParticipantRole.DELEGATE:
        raise Forbidden("not_entitled_to_vote")
    voted = set(db.session.scalars(select(VoteParticipation.user_id).where(VoteParticipation.vote_id == vote.id)))
    if actor.id in voted:
        raise Conflict("already_voted")
    seat = represented.user_id if represented is not None else actor.id
    stand_ins = {p.user_id for p in meeting.participants
                 if p.role == ParticipantRole.DELEGATE and p.represents_user_id == seat}
    # one vote per member: the member in person or their delegate, never both
    if ({seat} | stand_ins) & voted:
        raise Conflict("seat_already_voted")


def cast_vote(vote: Vote, choice: str, *, actor: User) -> dict[str, Any]:
    """A member present votes once (or their delegate, where the policy allows). In a secret vote only the
    counters and the fact of voting are kept."""
    try:
        choice = VoteChoice(choice)
    except ValueError:
        raise Invalid("invalid_choice", fields={"choice": "agree | disagree | abstain"}) from None
    meeting = db.session.get_one(Meeting, vote.meeting_id)
    with write_transaction():  # the vote as last committed: write_transaction reads it again if it changed
        if vote.status != VoteStatus.OPEN:
            raise Conflict("vote_closed")
        _require_may_vote(meeting, vote, actor)
        db.session.add(VoteParticipation(vote_id=vote.id, user_id=actor.id, cast_at=utcnow(),
                                         choice=None if vote.secret else choice))
        setattr(vote, str(choice), getattr(vote, str(choice)) + 1)
        db.session.flush()
        # a secret vote's record says that this member voted, never how
        audit.record(actor, "vote.cast", vote, {} if vote.secret else {"choice": str(choice)})
        event = realtime.publish(meeting.id, "vote.cast",
                                 {"vote_id": vote.id, "cast": vote.agree + vote.disagree + vote.abstain})
    return {"vote_id": vote.id, "receipt": _receipt("vote.cast", meeting, actor, event)}


def close_vote(vote: Vote, *, actor: User) -> rules.VoteResult:
    """Close an open vote and fix its result (more than half of ALL members; the chair breaks a tie)."""
    meeting = db.session.get_one(Meeting, vote.meeting_id)
    require_chair(meeting, actor)
    with write_transaction():  # the vote as last committed: write_transaction reads it again if it changed
        if vote.status != VoteStatus.OPEN:
            raise Conflict("vote_closed")
        # every member's seat counts, present or not: the majority is of ALL members
        entitled = member_ids(meeting)
        chair_choice = None if vote.secret else db.session.scalar(
            select(VoteParticipation.choice).where(VoteParticipation.vote_id == vote.id,
                                                   VoteParticipation.user_id == meeting.chair_id))
        result = rules.vote_result(agree=vote.agree, disagree=vote.disagree, abstain=vote.abstain,
                                   total_members=len(entitled), chair_choice=chair_choice)
        vote.status = VoteStatus.CLOSED
        vote.closed_at = utcnow()
        vote.entitled_user_ids = entitled
        vote.result = result.as_dict()
        audit.record(actor, "vote.closed", vote, result.as_dict())
        realtime.publish(meeting.id, "vote.closed", vote_view(vote, meeting=meeting))
    return result


def votes(meeting: Meeting) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(Vote).where(Vote.meeting_id == meeting.id).order_by(Vote.id))
    return [vote_view(row, meeting=meeting) for row in rows]


def live_state(meeting: Meeting) -> dict[str, Any]:
    """Everything a tablet needs to draw the room, with the event number it is synced to."""
    return {"meeting_id": meeting.id, "status": str(meeting.status), "seq": realtime.current_seq(meeting.id),
            "closed_at": meeting.closed_at.isoformat() if meeting.closed_at else None,
            "current_item_id": meeting.current_item_id, "presentation": meeting.presentation,
            "quorum": quorum(meeting), "attendance": attendance(meeting), "speakers": speakers(meeting),
            "votes": votes(meeting), **_room_hints(meeting),
            "agenda": [{"id": item.id, "position": item.position, "title": item.title, "presenter": item.presenter,
                        "conclusion": item.conclusion, "adopted_without_discussion": item.adopted_without_discussion,
                        "consent_block": item.consent_block,
                        "consent_withdrawn": item.consent_withdrawn_at is not None}
                       for item in meeting.agenda]}


def _room_hints(meeting: Meeting) -> dict[str, Any]:
    """What the chair is offered: who asked before the session to speak on which item, and which items
    the consent block would adopt now (``consent_block``, the same rule adoption applies)."""
    wishes = db.session.execute(
        select(ItemPosition.agenda_item_id, ItemPosition.user_id).join(AgendaItem)
        .where(AgendaItem.meeting_id == meeting.id, ItemPosition.stance == Stance.WISH_TO_SPEAK)).all()
    names = {p.user_id: p.user.full_name for p in meeting.participants}
    return {"wishes_to_speak": [{"agenda_item_id": row.agenda_item_id, "user_id": row.user_id,
                                 "full_name": names.get(row.user_id, "")} for row in wishes],
            "consent_candidates": consent_block(meeting).ids}
