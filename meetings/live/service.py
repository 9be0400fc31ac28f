"""The live session: the only code that changes attendance, the agenda's progress, speakers and votes.

Each function runs in one write transaction that also appends the meeting event and the audit
record; the event reaches the tablets only after the commit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ecabinet import audit, realtime
from ecabinet.audit import canonical_json
from ecabinet.auth.models import User
from ecabinet.database import db, utcnow, write_transaction
from ecabinet.errors import Conflict, Forbidden, Invalid, NotFound
from meetings.live import rules
from meetings.live.models import SpeakerRequest, SpeakerStatus, Vote, VoteChoice, VoteParticipation, VoteStatus
from meetings.models import AgendaItem, ItemPosition, Meeting, MeetingStatus, Participant, ParticipantRole, Stance


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

def participant(meeting: Meeting, user: User) -> Participant | None:
    return db.session.scalar(select(Participant).where(Participant.meeting_id == meeting.id,
                                                       Participant.user_id == user.id))


def require_chair(meeting: Meeting, actor: User) -> None:
    if meeting.chair_id != actor.id:
        raise Forbidden("chair_only")


def require_chair_or_secretariat(meeting: Meeting, actor: User) -> None:
    if meeting.chair_id != actor.id and not actor.is_secretariat:
        raise Forbidden("chair_or_secretariat_only")


def require_secretariat(actor: User) -> None:
    if not actor.is_secretariat:
        raise Forbidden("secretariat_only")


def require_in_session(meeting: Meeting) -> None:
    if meeting.status != MeetingStatus.IN_SESSION:
        raise Conflict("session_not_in_progress")


def member_participants(meeting: Meeting) -> list[Participant]:
    return [p for p in meeting.participants if p.role == ParticipantRole.MEMBER]


def voting_participants(meeting: Meeting) -> list[Participant]:
    """Members vote; a delegate votes only where the deployment's policy allows it."""
    delegates_vote = current_app.config.get("DELEGATES_VOTE", False)
    return [p for p in meeting.participants
            if p.role == ParticipantRole.MEMBER
            or (delegates_vote and p.role == ParticipantRole.DELEGATE and p.approved_at is not None)]


def quorum(meeting: Meeting) -> dict[str, Any]:
    """Present members against two thirds of ALL members (delegates are shown, not counted)."""
    members = member_participants(meeting)
    present = sum(1 for p in members if p.checked_in_at is not None)
    delegates = sum(1 for p in meeting.participants
                    if p.role == ParticipantRole.DELEGATE and p.checked_in_at is not None)
    total = len(members)
    return {"present": present, "total_members": total, "required": rules.quorum_required(total),
            "reached": rules.quorum_reached(present, total), "delegates_present": delegates}


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
        audit.record(actor, "attendance.absent", entry, {"user_id": member.id, "reason": entry.absence_reason})
        realtime.publish(meeting.id, "attendance.changed",
                         {"user_id": member.id, "present": False, "absence_reason": entry.absence_reason,
                          "quorum": quorum(meeting)})
    return {"attendance": _attendance_row(entry), "quorum": quorum(meeting)}


def _attendance_row(entry: Participant) -> dict[str, Any]:
    return {"user_id": entry.user_id, "full_name": entry.user.full_name, "title": entry.user.title,
            "role": str(entry.role), "present": entry.checked_in_at is not None,
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


def activate_item(meeting: Meeting, item_id: int, *, actor: User) -> AgendaItem:
    """The chair (or the secretariat at the chair's word) moves the session to an agenda item."""
    require_chair_or_secretariat(meeting, actor)
    with write_transaction():
        require_in_session(meeting)
        item = _item(meeting, item_id)
        meeting.current_item_id = item.id
        meeting.presentation = None
        audit.record(actor, "agenda.activated", item)
        realtime.publish(meeting.id, "agenda.activated",
                         {"agenda_item_id": item.id, "title": item.title, "position": item.position})
    return item


def adopt_consent_block(meeting: Meeting, *, actor: User) -> list[int]:
    """Adopt together, without discussion, every item no member objected to or asked to speak on."""
    require_chair(meeting, actor)
    with write_transaction():
        require_in_session(meeting)
        contested = set(db.session.scalars(
            select(ItemPosition.agenda_item_id).join(AgendaItem)
            .where(AgendaItem.meeting_id == meeting.id,
                   ItemPosition.stance.in_([Stance.OBJECTION, Stance.WISH_TO_SPEAK]))))
        adopted = [item for item in meeting.agenda if item.id not in contested and not item.adopted_without_discussion]
        for item in adopted:
            item.adopted_without_discussion = True
        ids = [item.id for item in adopted]
        audit.record(actor, "consent.adopted", meeting, {"agenda_item_ids": ids})
        realtime.publish(meeting.id, "consent.adopted",
                         {"agenda_item_ids": ids, "titles": [item.title for item in adopted]})
    return ids


def present_document(meeting: Meeting, document_id: int, page: int, *, actor: User) -> dict[str, int]:
    """Move every following tablet to a document page."""
    require_chair_or_secretariat(meeting, actor)
    if page < 1:
        raise Invalid(fields={"page": "must be 1 or more"})
    with write_transaction():
        require_in_session(meeting)
        _require_document_of_meeting(meeting, document_id, page)
        meeting.presentation = {"document_id": document_id, "page": page}
        audit.record(actor, "presentation.moved", meeting, meeting.presentation)
        realtime.publish(meeting.id, "presentation.moved", dict(meeting.presentation))
    return {"document_id": document_id, "page": page}


def _require_document_of_meeting(meeting: Meeting, document_id: int, page: int) -> None:
    from documents.models import Document

    document = db.session.get(Document, document_id)
    if document is None or document.meeting_id != meeting.id:
        raise NotFound()
    pages = getattr(document.current_version, "pages", None)
    if pages is not None and page > pages:
        raise Invalid(fields={"page": f"the document has {pages} pages"})


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

def vote_view(vote: Vote, *, meeting: Meeting) -> dict[str, Any]:
    """What anyone may see of a vote: counts always; names only after a named vote closed."""
    entitled = vote.entitled_user_ids if vote.entitled_user_ids is not None \
        else [p.user_id for p in voting_participants(meeting)]
    view: dict[str, Any] = {"id": vote.id, "meeting_id": vote.meeting_id, "agenda_item_id": vote.agenda_item_id,
                            "question": vote.question, "secret": vote.secret, "status": str(vote.status),
                            "opened_at": vote.opened_at.isoformat(),
                            "closed_at": vote.closed_at.isoformat() if vote.closed_at else None,
                            "cast": vote.agree + vote.disagree + vote.abstain, "entitled": len(entitled),
                            "result": vote.result}
    if vote.status == VoteStatus.CLOSED and not vote.secret:
        rows = db.session.scalars(select(VoteParticipation).where(VoteParticipation.vote_id == vote.id)
                                  .order_by(VoteParticipation.user_id))
        view["names"] = [{"user_id": row.user_id, "full_name": row.user.full_name, "choice": str(row.choice)}
                         for row in rows]
    return view


def open_vote(meeting: Meeting, *, question: str, secret: bool, agenda_item_id: int | None, actor: User) -> Vote:
    """The chair opens a vote on the current matter; one vote is open at a time."""
    require_chair(meeting, actor)
    if not question.strip():
        raise Invalid(fields={"question": "required"})
    with write_transaction():
        require_in_session(meeting)
        if agenda_item_id is not None:
            _item(meeting, agenda_item_id)
        if db.session.scalar(select(Vote.id).where(Vote.meeting_id == meeting.id, Vote.status == VoteStatus.OPEN)):
            raise Conflict("vote_already_open")
        vote = Vote(meeting_id=meeting.id, agenda_item_id=agenda_item_id, question=question.strip(), secret=secret,
                    opened_at=utcnow())
        db.session.add(vote)
        db.session.flush()
        audit.record(actor, "vote.opened", vote, {"question": vote.question, "secret": secret})
        realtime.publish(meeting.id, "vote.opened", vote_view(vote, meeting=meeting))
    return vote


def cast_vote(vote: Vote, choice: str, *, actor: User) -> dict[str, Any]:
    """An entitled member votes once. In a secret vote only the counters and the fact of voting are kept."""
    try:
        choice = VoteChoice(choice)
    except ValueError:
        raise Invalid("invalid_choice", fields={"choice": "agree | disagree | abstain"}) from None
    meeting = db.session.get(Meeting, vote.meeting_id)
    with write_transaction():
        db.session.refresh(vote)
        if vote.status != VoteStatus.OPEN:
            raise Conflict("vote_closed")
        if actor.id not in {p.user_id for p in voting_participants(meeting)}:
            raise Forbidden("not_entitled_to_vote")
        if db.session.scalar(select(VoteParticipation.id).where(VoteParticipation.vote_id == vote.id,
                                                                VoteParticipation.user_id == actor.id)):
            raise Conflict("already_voted")
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
    meeting = db.session.get(Meeting, vote.meeting_id)
    require_chair(meeting, actor)
    with write_transaction():
        db.session.refresh(vote)
        if vote.status != VoteStatus.OPEN:
            raise Conflict("vote_closed")
        entitled = [p.user_id for p in voting_participants(meeting)]
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
            "current_item_id": meeting.current_item_id, "presentation": meeting.presentation,
            "quorum": quorum(meeting), "attendance": attendance(meeting), "speakers": speakers(meeting),
            "votes": votes(meeting), **_room_hints(meeting),
            "agenda": [{"id": item.id, "position": item.position, "title": item.title, "presenter": item.presenter,
                        "conclusion": item.conclusion, "adopted_without_discussion": item.adopted_without_discussion}
                       for item in meeting.agenda]}


def _room_hints(meeting: Meeting) -> dict[str, Any]:
    """What the chair is offered: who asked before the session to speak on which item, and which items
    a consent block would adopt now (no objection, no wish to speak, not yet adopted)."""
    stances = db.session.execute(
        select(ItemPosition.agenda_item_id, ItemPosition.user_id, ItemPosition.stance).join(AgendaItem)
        .where(AgendaItem.meeting_id == meeting.id,
               ItemPosition.stance.in_([Stance.OBJECTION, Stance.WISH_TO_SPEAK]))).all()
    names = {p.user_id: p.user.full_name for p in meeting.participants}
    contested = {row.agenda_item_id for row in stances}
    return {"wishes_to_speak": [{"agenda_item_id": row.agenda_item_id, "user_id": row.user_id,
                                 "full_name": names.get(row.user_id, "")}
                                for row in stances if row.stance == Stance.WISH_TO_SPEAK],
            "consent_candidates": [item.id for item in meeting.agenda
                                   if item.id not in contested and not item.adopted_without_discussion]}
