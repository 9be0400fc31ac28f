"""The only writer of minutes: drafts drawn from the session record, narrative edits, the two signatures.

Each call runs in one write transaction with one audit record; the chair's signature archives the
meeting and emits ``minutes.signed`` after the commit.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from documents.models import Document
from ecabinet import audit, keystore, notifications, realtime, storage
from ecabinet.auth.access import require_secretariat
from ecabinet.auth.models import User
from ecabinet.database import db, utcnow, write_transaction
from ecabinet.errors import AppError, Conflict, Forbidden, Invalid, NotFound
from ecabinet.schemas import iso
from ecabinet.signing import SignatureRejected, ValidationReport, sign_pdf, validate_signed_pdf
from meetings.live.models import SpeakerRequest, Vote, VoteParticipation
from meetings.minutes import pdf
from meetings.minutes.models import Minutes, MinutesStatus, MinutesVersion
from meetings.models import Meeting, MeetingStatus, Participant, ParticipantRole

log = logging.getLogger(__name__)

FIELD_NAMES = pdf.FIELD_NAMES


class SigningFailed(AppError):
    status = 500
    default_code = "minutes_signing_failed"


def minutes_of(meeting: Meeting) -> Minutes | None:
    return db.session.scalar(select(Minutes).where(Minutes.meeting_id == meeting.id))


def get_minutes(meeting: Meeting) -> Minutes:
    minutes = minutes_of(meeting)
    if minutes is None:
        raise NotFound("minutes_not_found")
    return minutes


def session_record(meeting: Meeting, secretary: User) -> dict[str, Any]:
    """What happened, read from the meeting's rows: the facts a draft is drawn from (JSON-ready)."""
    # one query per kind of row, not one per participant, vote or item (bench/minutes_pdf.py): the
    # participants' users stay in the identity map, so s.user and row.user below need no query either
    participants = list(db.session.scalars(select(Participant).where(Participant.meeting_id == meeting.id)
                                           .options(selectinload(Participant.user)).order_by(Participant.id)))
    members = [p for p in participants if p.role == ParticipantRole.MEMBER]
    delegates = [p for p in participants if p.role == ParticipantRole.DELEGATE and p.approved_at is not None]
    stand_ins = {d.represents_user_id: d for d in delegates if d.attended_at is not None or d.checked_in_at is not None}
    # attendance and votes from one record: whoever voted was present when voting (the live rules refuse
    # anyone else), so no member is ever listed both absent and voting
    voters = set(db.session.scalars(select(VoteParticipation.user_id).join(Vote, Vote.id == VoteParticipation.vote_id)
                                    .where(Vote.meeting_id == meeting.id)))
    present, absent = [], []
    for p in members:
        person = {"user_id": p.user_id, "full_name": p.user.full_name, "title": p.user.title}
        attended = p.attended_at is not None or p.checked_in_at is not None or p.user_id in voters
        if attended:
            # present for part of the session: the reason the secretariat recorded when the member left
            left = p.absence_reason if p.checked_in_at is None and p.absence_reason else None
            present.append({**person, **({"left_reason": left} if left else {})})
        else:
            delegate = stand_ins.get(p.user_id)
            absent.append({**person, "reason": p.absence_reason or "",
                           "represented_by": {"user_id": delegate.user_id, "full_name": delegate.user.full_name,
                                              "title": delegate.user.title} if delegate else None})
    guests = [{"user_id": p.user_id, "full_name": p.user.full_name, "title": p.user.title}
              for p in participants if p.role == ParticipantRole.GUEST and p.checked_in_at is not None]
    speakers = list(db.session.scalars(select(SpeakerRequest).where(
        SpeakerRequest.meeting_id == meeting.id, SpeakerRequest.granted_at.is_not(None))
        .order_by(SpeakerRequest.granted_at, SpeakerRequest.id)))
    votes = list(db.session.scalars(select(Vote).where(Vote.meeting_id == meeting.id)
                                    .order_by(Vote.opened_at, Vote.id)))
    # plain rows, not objects: a named vote is one row per member, and a session has dozens of votes
    named: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for vote_id, full_name, choice in db.session.execute(
            select(VoteParticipation.vote_id, User.full_name, VoteParticipation.choice)
            .join(Vote, Vote.id == VoteParticipation.vote_id).join(User, User.id == VoteParticipation.user_id)
            .where(Vote.meeting_id == meeting.id, Vote.secret.is_(False)).order_by(VoteParticipation.id)):
        named[vote_id].append({"full_name": full_name, "choice": choice})
    documents_of: dict[int, list[Document]] = defaultdict(list)
    for document in db.session.scalars(select(Document).where(Document.meeting_id == meeting.id)
                                       .options(selectinload(Document.versions)).order_by(Document.id)):
        documents_of[document.agenda_item_id].append(document)

    def speaker_rows(item_id: int | None) -> list[dict[str, Any]]:
        return [{"user_id": s.user_id, "full_name": s.user.full_name, "title": s.user.title,
                 "granted_at": iso(s.granted_at), "finished_at": iso(s.finished_at),
                 "seconds_spoken": s.seconds_spoken} for s in speakers if s.agenda_item_id == item_id]

    def vote_rows(item_id: int | None) -> list[dict[str, Any]]:
        rows = []
        for vote in votes:
            if vote.agenda_item_id != item_id:
                continue
            names = [] if vote.secret else named[vote.id]
            rows.append({"id": vote.id, "question": vote.question, "secret": vote.secret, "status": vote.status,
                         "opened_at": iso(vote.opened_at), "closed_at": iso(vote.closed_at),
                         "result": vote.result, "names": names})
        return rows

    items = []
    for item in meeting.agenda:
        documents = documents_of[item.id]
        items.append({
            "id": item.id, "position": item.position, "title": item.title, "presenter": item.presenter,
            "adopted_without_discussion": item.adopted_without_discussion, "conclusion": item.conclusion or "",
            "documents": [{"id": d.id, "title": d.title, "doc_type": d.doc_type,
                           "version": d.current_version.number if d.current_version else None} for d in documents],
            "speakers": speaker_rows(item.id), "votes": vote_rows(item.id)})
    return {
        "meeting": {"id": meeting.id, "title": meeting.title, "kind": meeting.kind, "location": meeting.location,
                    "starts_at": iso(meeting.starts_at), "started_at": iso(meeting.started_at),
                    "closed_at": iso(meeting.closed_at), "confidentiality": str(meeting.confidentiality)},
        "chair": {"user_id": meeting.chair_id, "full_name": meeting.chair.full_name, "title": meeting.chair.title},
        "secretary": {"user_id": secretary.id, "full_name": secretary.full_name, "title": secretary.title},
        "present": present, "absent": absent, "guests": guests, "items": items,
        "other_speakers": speaker_rows(None), "other_votes": vote_rows(None),
        "events_seq": realtime.current_seq(meeting.id),
    }


def _new_version(minutes: Minutes, meeting: Meeting, narrative: str, actor: User) -> MinutesVersion:
    secretary = db.session.get(User, minutes.secretary_id)
    assert secretary is not None
    content = session_record(meeting, secretary)
    built = pdf.render_minutes(content, narrative, version=len(minutes.versions) + 1)
    version = MinutesVersion(minutes_id=minutes.id, version=len(minutes.versions) + 1, narrative=narrative,
                             content=content, sha256=storage.put(built.pdf), created_by_id=actor.id,
                             signature_boxes={key: [box.page_index, list(box.rect)]
                                              for key, box in built.signature_boxes.items()})
    db.session.add(version)
    minutes.versions.append(version)
    db.session.flush()
    minutes.current_version = version.version
    return version


def _require_draft(meeting: Meeting, minutes: Minutes | None) -> None:
    if meeting.status == MeetingStatus.ARCHIVED:
        raise Conflict("meeting_archived")
    if meeting.status != MeetingStatus.CLOSED:
        raise Conflict("meeting_not_closed")
    if minutes is not None and minutes.status != MinutesStatus.DRAFT:
        raise Conflict("minutes_signing_started")


def _awaiting_signature(meeting: Meeting, user_id: int) -> None:
    """The next signer is told the minutes wait for their signature (the secretary, then the chair)."""
    notifications.notify([user_id], "minutes.awaiting_signature", ("meeting", meeting.id),
                         path=f"/meetings/{meeting.id}/minutes", title=meeting.title, level=meeting.confidentiality)


def generate_minutes(meeting: Meeting, *, actor: User) -> Minutes:
    """Draw up (or redraw) the minutes from the session record as a new draft version; the narrative is kept."""
    require_secretariat(actor)
    with write_transaction():
        db.session.refresh(meeting)
        minutes = minutes_of(meeting)
        _require_draft(meeting, minutes)
        if minutes is None:
            minutes = Minutes(meeting_id=meeting.id, secretary_id=actor.id)
            db.session.add(minutes)
            db.session.flush()
            narrative = ""
            _awaiting_signature(meeting, minutes.secretary_id)
        else:
            narrative = minutes.current.narrative
        version = _new_version(minutes, meeting, narrative, actor)
        audit.record(actor, "minutes.generated", meeting, {"minutes_id": minutes.id, "version": version.version,
                                                           "sha256": version.sha256})
    return minutes


def edit_narrative(meeting: Meeting, narrative: str, *, actor: User) -> Minutes:
    """The secretariat rewrites the narrative part; a new draft version, earlier versions stay."""
    require_secretariat(actor)
    with write_transaction():
        db.session.refresh(meeting)
        minutes = get_minutes(meeting)
        _require_draft(meeting, minutes)
        version = _new_version(minutes, meeting, narrative, actor)
        audit.record(actor, "minutes.edited", meeting, {"minutes_id": minutes.id, "version": version.version,
                                                        "sha256": version.sha256})
    return minutes


def current_pdf(minutes: Minutes, version: int | None = None) -> bytes:
    """The latest signed state, or the requested (default: current) draft."""
    if version is None:
        sha = minutes.signed_sha256 or minutes.secretary_signed_sha256 or minutes.current.sha256
        return storage.get(sha)
    chosen = next((v for v in minutes.versions if v.version == version), None)
    if chosen is None:
        raise NotFound("version_not_found")
    return storage.get(chosen.sha256)


def _signer_role(meeting: Meeting, minutes: Minutes, actor: User) -> str:
    if actor.id == minutes.secretary_id and minutes.status == MinutesStatus.DRAFT:
        return "secretary"
    if actor.id == meeting.chair_id:
        return "chair"
    if actor.id == minutes.secretary_id:
        return "secretary"
    raise Forbidden("not_a_minutes_signer")


def _turn(meeting: Meeting, minutes: Minutes, actor: User) -> tuple[str, MinutesVersion, bytes]:
    """Whose signature is due from ``actor`` (secretary, then chair), on which draft, over which file."""
    role = _signer_role(meeting, minutes, actor)
    if meeting.status == MeetingStatus.ARCHIVED or minutes.status == MinutesStatus.SIGNED:
        raise Conflict("minutes_already_signed")
    if role == "chair" and minutes.status == MinutesStatus.DRAFT:
        raise Conflict("secretary_must_sign_first")
    if role == "secretary" and minutes.status != MinutesStatus.DRAFT:
        raise Conflict("minutes_already_signed")
    draft = minutes.current
    before_sha256 = minutes.secretary_signed_sha256 if role == "chair" else draft.sha256
    if before_sha256 is None:
        raise Conflict("secretary_must_sign_first")
    return role, draft, storage.get(before_sha256)


def sign_minutes(meeting: Meeting, *, pin: str, actor: User) -> Minutes:
    """The secretary signs first, then the chair; each an incremental PAdES signature in its own block.

    The chair's signature archives the meeting: from then on every write to it is refused (409).
    """
    minutes = get_minutes(meeting)
    role, draft, before = _turn(meeting, minutes, actor)
    page, rect = draft.signature_boxes[role]
    with keystore.unlocked_signer(actor, pin) as (signer, credential):
        signed = sign_pdf(before, signer, field_name=FIELD_NAMES[role], box=tuple(rect), page=page,
                          reason=f"{'Thư ký' if role == 'secretary' else 'Chủ tọa'} ký biên bản phiên họp",
                          location=pdf.PLACE,
                          signer_name_text=[f"Ký bởi: {actor.full_name}", *([actor.title] if actor.title else [])],
                          timestamper_url=current_app.config.get("TSA_URL"))
        cert = credential.certificate
    try:
        report = validate_signed_pdf(signed, trust_roots=keystore.trust_roots(),
                                     expected_first_revision_sha256=draft.sha256, expected_signer=cert,
                                     allow_later_signatures=True)
    except SignatureRejected as rejected:
        log.error("own minutes signature for meeting %s refused by validation: %s", meeting.id, rejected.code)
        raise SigningFailed() from None
    return _record_signature(meeting, minutes, draft, role, signed, report, actor, "server")


def prepared_for_signing(meeting: Meeting, *, actor: User) -> bytes:
    """The file the due signer signs with their own tool: the current draft (for the secretary) or the
    secretary's signed minutes (for the chair), each carrying the signer's empty signature field."""
    minutes = get_minutes(meeting)
    return _turn(meeting, minutes, actor)[2]


def upload_signed_minutes(meeting: Meeting, *, data: bytes, actor: User) -> Minutes:
    """Accept minutes signed with the signer's own tool (a key on their token) in their turn.

    What is accepted is what was prepared: the file :func:`prepared_for_signing` gives, byte for byte,
    with one signature added and nothing else (no page, content or form changed: the shadow
    attacks), shown in the signer's own field and box, by a certificate registered to the signer,
    trusted and not revoked. The state change, audit and events are those of a PIN signature.
    """
    minutes = get_minutes(meeting)
    role, draft, before = _turn(meeting, minutes, actor)
    page, rect = draft.signature_boxes[role]
    try:
        if not data.startswith(before):
            raise SignatureRejected("first_revision_mismatch")
        report = keystore.validate_upload(data, actor, expected_first_revision_sha256=draft.sha256,
                                          allow_later_signatures=True)
        keystore.check_signature_added(data, prepared=before, page=page, box=rect, field=FIELD_NAMES[role])
    except SignatureRejected as rejected:
        raise Invalid(rejected.code, keystore.rejected_message(rejected)) from None
    return _record_signature(meeting, minutes, draft, role, data, report, actor, "upload")


def _record_signature(meeting: Meeting, minutes: Minutes, draft: MinutesVersion, role: str, signed: bytes,
                      report: ValidationReport, actor: User, method: str) -> Minutes:
    """Store a validated signature; the turn is checked again inside the transaction (one signer wins)."""
    with write_transaction():
        db.session.refresh(minutes)
        db.session.refresh(meeting)
        expected = MinutesStatus.DRAFT if role == "secretary" else MinutesStatus.SIGNED_BY_SECRETARY
        if (minutes.status != expected or meeting.status != MeetingStatus.CLOSED
                or minutes.current_version != draft.version):
            raise Conflict("minutes_signing_started" if role == "secretary" else "minutes_already_signed")
        sha = storage.put(signed)
        now = utcnow()
        data = {"minutes_id": minutes.id, "version": draft.version, "role": role, "sha256": sha,
                "signer_subject": report.subject, "level": report.level, "method": method}
        if role == "secretary":
            minutes.status = MinutesStatus.SIGNED_BY_SECRETARY
            minutes.secretary_signed_sha256 = sha
            minutes.secretary_signed_at = now
            audit.record(actor, "minutes.signed", meeting, data)
            _awaiting_signature(meeting, meeting.chair_id)
        else:
            minutes.status = MinutesStatus.SIGNED
            minutes.signed_sha256 = sha
            minutes.signed_at = now
            meeting.status = MeetingStatus.ARCHIVED
            entry = audit.record(actor, "minutes.signed", meeting, {**data, "meeting_status": "archived"})
            minutes.archive_audit_id = entry.id
            realtime.publish(meeting.id, "minutes.signed", {"minutes_id": minutes.id, "sha256": sha,
                                                            "signed_at": now.isoformat(), "status": "archived"})
    return minutes
