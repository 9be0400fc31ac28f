"""The hall screen: display credentials the secretariat issues and revokes, and what a display may show.

A display is not a person: it never reads a document or a name list. It reads ``hall_state`` (what
the room projector may show) with its token, again each time its Socket.IO connection (authenticated
by the same token) tells it that the meeting changed: it receives each event's number only, never its
content (``ecabinet.realtime``).
"""

from __future__ import annotations

import secrets
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from documents.models import Document
from ecabinet import audit, realtime, storage
from ecabinet.auth.access import require_secretariat
from ecabinet.auth.models import User
from ecabinet.auth.service import token_hash
from ecabinet.database import db, utcnow, write_transaction
from ecabinet.errors import Conflict, Forbidden, Invalid, NotAuthenticated, NotFound
from meetings.live.models import HallDisplay, SpeakerRequest, SpeakerStatus, Vote, VoteStatus
from meetings.live.service import member_ids, quorum
from meetings.models import AgendaItem, Meeting


def display_row(display: HallDisplay) -> dict[str, Any]:
    return {"id": display.id, "meeting_id": display.meeting_id, "name": display.name,
            "created_at": display.created_at.isoformat(),
            "revoked_at": display.revoked_at.isoformat() if display.revoked_at else None,
            "last_seen_at": display.last_seen_at.isoformat() if display.last_seen_at else None}


def displays(meeting: Meeting, *, actor: User) -> list[dict[str, Any]]:
    require_secretariat(actor)
    rows = db.session.scalars(select(HallDisplay).where(HallDisplay.meeting_id == meeting.id).order_by(HallDisplay.id))
    return [display_row(row) for row in rows]


def issue_display(meeting: Meeting, name: str, *, actor: User) -> dict[str, Any]:
    """The secretariat issues a display credential for one meeting; the token is shown once."""
    require_secretariat(actor)
    name = name.strip()
    if not name:
        raise Invalid(fields={"name": "required"})
    token = secrets.token_urlsafe(32)
    with write_transaction():
        display = HallDisplay(meeting_id=meeting.id, name=name[:200], token_hash=token_hash(token),
                              created_by_id=actor.id, created_at=utcnow())
        db.session.add(display)
        db.session.flush()
        audit.record(actor, "display.issued", display, {"meeting_id": meeting.id, "name": display.name})
    return {**display_row(display), "token": token}


def revoke_display(meeting: Meeting, display_id: int, *, actor: User) -> dict[str, Any]:
    """The secretariat revokes a display credential; the screen stops at its next request."""
    require_secretariat(actor)
    with write_transaction():
        display = db.session.get(HallDisplay, display_id)
        if display is None or display.meeting_id != meeting.id:
            raise NotFound()
        if display.revoked_at is not None:
            raise Conflict("display_revoked", _l("This display was already revoked."))
        display.revoked_at = utcnow()
        audit.record(actor, "display.revoked", display, {"meeting_id": meeting.id})
    return display_row(display)


def display_for_token(token: str | None) -> HallDisplay:
    """The display a token belongs to; an unknown or revoked token is refused alike."""
    if not token:
        raise NotAuthenticated()
    display = db.session.scalar(select(HallDisplay).where(HallDisplay.token_hash == token_hash(token)))
    if display is None or display.revoked_at is not None:
        raise NotAuthenticated("token_invalid")
    return display


def socket_login(token: str) -> tuple[int, int] | None:
    """(display id, meeting id) for a display's Socket.IO connection; None for an unknown or revoked token."""
    try:
        display = display_for_token(token)
    except NotAuthenticated:
        return None
    touch(display)
    return display.id, display.meeting_id


def still_valid(display_ids: set[int]) -> set[int]:
    """Those of these displays whose credential is not revoked (the socket sweeper's check)."""
    return set(db.session.scalars(select(HallDisplay.id).where(HallDisplay.id.in_(display_ids),
                                                                HallDisplay.revoked_at.is_(None))))


def hall_state(display: HallDisplay) -> dict[str, Any]:
    """The projector's state of the display's meeting."""
    meeting = db.session.get(Meeting, display.meeting_id)
    if meeting is None:
        raise Forbidden()
    return projector_state(meeting)


def projector_state(meeting: Meeting) -> dict[str, Any]:
    """What the room projector may show: no document content, no name of who voted how, no absence reason."""
    item = db.session.get(AgendaItem, meeting.current_item_id) if meeting.current_item_id else None
    queue = list(db.session.scalars(select(SpeakerRequest).where(
        SpeakerRequest.meeting_id == meeting.id,
        SpeakerRequest.status.in_([SpeakerStatus.REQUESTED, SpeakerStatus.GRANTED])).order_by(SpeakerRequest.id)))
    speaking = next((r for r in queue if r.status == SpeakerStatus.GRANTED), None)
    vote = db.session.scalar(select(Vote).where(Vote.meeting_id == meeting.id).order_by(Vote.id.desc()).limit(1))
    return {
        "seq": realtime.current_seq(meeting.id), "now": utcnow().isoformat(),
        "meeting": {"id": meeting.id, "title": meeting.title, "status": str(meeting.status),
                    "starts_at": meeting.starts_at.isoformat(), "location": meeting.location},
        "current_item": {"id": item.id, "position": item.position, "title": item.title,
                         "presenter": item.presenter} if item else None,
        "presentation": _presentation(meeting),
        "quorum": {key: value for key, value in quorum(meeting).items() if key != "delegates_present"},
        "speaker": {"full_name": speaking.user.full_name, "title": speaking.user.title,
                    "granted_at": speaking.granted_at.isoformat() if speaking.granted_at else None,
                    "allotted_seconds": speaking.allotted_seconds} if speaking else None,
        "queue": [{"full_name": r.user.full_name, "title": r.user.title} for r in queue
                  if r.status == SpeakerStatus.REQUESTED],
        "vote": _vote(vote, meeting) if vote else None,
    }


def _presentation(meeting: Meeting) -> dict[str, Any] | None:
    if not meeting.presentation:
        return None
    document = db.session.get(Document, meeting.presentation.get("document_id"))
    return {"title": document.title if document else "", "page": meeting.presentation.get("page"),
            "pages": getattr(document.current_version, "pages", None) if document else None}


def presented_page(display: HallDisplay) -> bytes:
    """The one page the presenter shows, as a one-page PDF for the projector; a document above
    "normal" confidentiality is never sent to a hall screen (its title and page number still show).

    Each projection is audited under the display's name, as a reader's copy would be.
    """
    import io

    from pypdf import PdfReader, PdfWriter

    meeting = db.session.get(Meeting, display.meeting_id)
    presentation = meeting.presentation if meeting else None
    if not presentation:
        raise NotFound()
    document = db.session.get(Document, presentation.get("document_id"))
    if document is None or document.meeting_id != display.meeting_id or document.current_version is None:
        raise NotFound()
    if str(document.confidentiality) != "normal":
        raise Forbidden("not_projectable", _l("This document may not be shown on a hall screen."))
    reader = PdfReader(io.BytesIO(storage.get(document.current_version.sha256)))
    number = int(presentation.get("page", 1))
    if not 1 <= number <= len(reader.pages):
        raise NotFound()
    writer = PdfWriter()
    writer.add_page(reader.pages[number - 1])
    out = io.BytesIO()
    writer.write(out)
    with write_transaction():
        audit.record(None, "document.projected", document, {"page": number, "display_id": display.id},
                     actor_label=f"display:{display.name}")
    return out.getvalue()


def _vote(vote: Vote, meeting: Meeting) -> dict[str, Any]:
    entitled = vote.entitled_user_ids if vote.entitled_user_ids is not None \
        else member_ids(meeting)
    return {"id": vote.id, "question": vote.question, "secret": vote.secret, "status": str(vote.status),
            "cast": vote.agree + vote.disagree + vote.abstain, "entitled": len(entitled),
            "result": vote.result if vote.status == VoteStatus.CLOSED else None}


def touch(display: HallDisplay) -> None:
    """Remember when the display last asked (shown to the secretariat), at most once a minute."""
    now = utcnow()
    if display.last_seen_at is None or (now - display.last_seen_at).total_seconds() > 60:
        with write_transaction():
            display.last_seen_at = now
