"""The only writer of the offline briefcase: device keys, meetings taken offline, sync and remote wipe.

The server never keeps the copies: the browser fetches the member's own stamped PDFs through the
documents API and encrypts them under the device's key (AES-256-GCM, WebCrypto). The key is derived
here, on demand, from the application's secret and the device row's salt, and handed out only to a
live login of the device's owner: without the server, the blobs on a stolen tablet stay ciphertext.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from documents import access as doc_access
from documents.models import Document, PageNote
from ecabinet import audit
from ecabinet.auth import service as auth_service
from ecabinet.auth.devices import device_name
from ecabinet.auth.models import AuthSession, Confidentiality, User
from ecabinet.database import db, utcnow, write_transaction
from ecabinet.errors import Conflict, Forbidden, NotFound
from meetings import access
from meetings.briefcase.models import BriefcaseDevice, BriefcaseMeeting
from meetings.models import Meeting, MeetingStatus
from meetings.schemas import dump_meeting, shown

#: Mật is the highest level that may leave the server; Tối mật and Tuyệt mật are read online only
HIGHEST_OFFLINE_LEVEL = Confidentiality.CONFIDENTIAL
#: a meeting may be taken offline while it is coming or running ...
TAKEN_WHEN = frozenset({MeetingStatus.PUBLISHED, MeetingStatus.IN_SESSION})
#: ... and kept until it is archived (or cancelled)
KEPT_WHEN = TAKEN_WHEN | {MeetingStatus.CLOSED}
_KEY_INFO = b"ecabinet.briefcase.v1"
_CONTACT_NOTED_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class IssuedKey:
    device: BriefcaseDevice
    key: bytes


def device_hash(nonce: str | None, login: AuthSession) -> str:
    """What names a browser: its device cookie's nonce, or its login when it carries none (an API client)."""
    return hashlib.sha256((f"device:{nonce}" if nonce else f"login:{login.id}").encode()).hexdigest()


def derive_key(device: BriefcaseDevice) -> bytes:
    """The device's AES-256 key: HMAC-SHA256 under the app's secret, so a database dump alone yields none."""
    secret = current_app.config["SECRET_KEY"]
    secret_bytes = secret.encode() if isinstance(secret, str) else secret
    message = b"|".join([_KEY_INFO, device.key_id.encode(), device.salt.encode()])
    return hmac.new(secret_bytes, message, hashlib.sha256).digest()


def issue_key(user: User, login: AuthSession, *, nonce: str | None, label: str) -> IssuedKey:
    """The key of this browser's briefcase for ``login``; a new device (new key) when the last one ended.

    A login that ran out hands the device on to the next login on the same browser, so notes written
    on a long flight survive the idle timeout; a login ended on purpose (logout, deactivation, password
    reset) or a remote wipe never does: the old blobs can no longer be decrypted.
    """
    digest = device_hash(nonce, login)
    latest = (select(BriefcaseDevice).where(BriefcaseDevice.user_id == user.id, BriefcaseDevice.device_hash == digest)
              .order_by(BriefcaseDevice.id.desc()).limit(1))
    known = db.session.scalar(latest)
    if (known is not None and known.auth_session_id == login.id and known.wiped_at is None
            and utcnow() - known.last_contact_at < _CONTACT_NOTED_EVERY):
        return IssuedKey(device=known, key=derive_key(known))  # asked on every page: a read, not a write
    with write_transaction():
        device = db.session.scalar(latest.with_for_update())
        if device is not None and device.auth_session_id == login.id and device.wiped_at is not None:
            raise Forbidden("briefcase_wiped")
        if device is None or (device.auth_session_id != login.id and device.ended()):
            device = BriefcaseDevice(key_id=secrets.token_hex(16), user_id=user.id, device_hash=digest,
                                     auth_session_id=login.id, salt=secrets.token_hex(32), label=label[:200])
            db.session.add(device)
            db.session.flush()
            audit.record(user, "briefcase.device_enrolled", device, {"key_id": device.key_id, "label": device.label})
        else:
            device.auth_session_id = login.id
        device.last_contact_at = utcnow()
    return IssuedKey(device=device, key=derive_key(device))


def device_for(user: User, login: AuthSession, key_id: str) -> BriefcaseDevice:
    """The caller's own live device named ``key_id``: 404 for another's, 403 once it is wiped or ended."""
    device = db.session.scalar(select(BriefcaseDevice).where(BriefcaseDevice.key_id == key_id))
    if device is None or device.user_id != user.id:
        raise NotFound()
    if device.wiped_at is not None:
        raise Forbidden("briefcase_wiped")
    if device.auth_session_id != login.id or device.ended():
        raise Forbidden("briefcase_ended")
    return device


def device_state(key_id: str) -> str:
    """``live`` or ``ended`` (also for a name the server does not know): what a browser asks before login."""
    device = db.session.scalar(select(BriefcaseDevice).where(BriefcaseDevice.key_id == key_id))
    return "live" if device is not None and not device.ended() else "ended"


def offline_refusal(meeting: Meeting, user: User, *, keeping: bool = False) -> str | None:
    """None when ``user`` may hold ``meeting`` offline, else the code that says why not."""
    if not access.may_see_meeting(meeting, user):
        return "not_found"
    if Confidentiality(meeting.confidentiality).rank > HIGHEST_OFFLINE_LEVEL.rank:
        return "briefcase_level_too_high"
    if meeting.status not in (KEPT_WHEN if keeping else TAKEN_WHEN):
        return "briefcase_meeting_not_upcoming"
    return None


def take_meeting(device: BriefcaseDevice, meeting: Meeting, *, actor: User) -> dict[str, Any]:
    """Record that the device holds ``meeting`` and answer what to copy (see ``manifest``)."""
    refusal = offline_refusal(meeting, actor)
    if refusal == "not_found":
        raise NotFound()
    if refusal == "briefcase_level_too_high":
        raise Forbidden(refusal)
    if refusal:
        raise Conflict(refusal)
    with write_transaction():
        held = db.session.scalar(select(BriefcaseMeeting).where(BriefcaseMeeting.device_id == device.id,
                                                                BriefcaseMeeting.meeting_id == meeting.id))
        if held is None:
            held = BriefcaseMeeting(device_id=device.id, meeting_id=meeting.id)
            db.session.add(held)
            db.session.flush()
            audit.record(actor, "briefcase.taken", meeting, {"key_id": device.key_id})
        else:
            held.taken_at = utcnow()
        device.last_contact_at = utcnow()
        taken_at = held.taken_at
    return {**manifest(meeting, actor), "key_id": device.key_id, "taken_at": shown(taken_at)}


def manifest(meeting: Meeting, user: User) -> dict[str, Any]:
    """The agenda as ``user`` sees it, with the dossiers they may read offline and their own notes on them."""
    data = dump_meeting(meeting, user)
    documents: dict[int, Document] = {}
    for document in db.session.scalars(select(Document).where(Document.meeting_id == meeting.id)):
        if (Confidentiality(document.confidentiality).rank <= HIGHEST_OFFLINE_LEVEL.rank
                and doc_access.may_list(document, user) and doc_access.read_refusal(document, user) is None):
            documents[document.id] = document
    notes: dict[int, list[dict[str, Any]]] = {}
    for note in db.session.scalars(select(PageNote).where(PageNote.user_id == user.id, PageNote.text != "",
                                                          PageNote.document_id.in_(list(documents)))
                                   .order_by(PageNote.page)):
        notes.setdefault(note.document_id, []).append({"page": note.page, "text": note.text})
    agenda = [{"id": item["id"], "position": item["position"], "title": item["title"],
               "presenter": item["presenter"], "duration_minutes": item["duration_minutes"],
               "documents": [{"id": d["id"], "title": d["title"], "doc_type": d["doc_type"], "version": d["version"],
                              "pages": d["pages"], "confidentiality": d["confidentiality"],
                              "notes": notes.get(d["id"], [])}
                             for d in item["documents"] if d["id"] in documents]}
              for item in data["agenda"]]
    keys = ("id", "title", "kind", "starts_at", "location", "confidentiality", "status", "chair")
    return {"meeting": {key: data[key] for key in keys}, "agenda": agenda}


def sync(device: BriefcaseDevice, meeting_ids: list[int], *, actor: User) -> dict[str, list[int]]:
    """Which of the meetings the browser holds it may keep; the others (archived, the member removed,
    reclassified above Mật, never taken on this device) are dropped and the browser deletes them."""
    held = {row.meeting_id: row for row in db.session.scalars(
        select(BriefcaseMeeting).where(BriefcaseMeeting.device_id == device.id))}
    allowed: list[int] = []
    stale: list[BriefcaseMeeting] = []
    for meeting_id in sorted(set(meeting_ids) | set(held)):
        meeting = db.session.get(Meeting, meeting_id)
        row = held.get(meeting_id)
        if row is not None and meeting is not None and offline_refusal(meeting, actor, keeping=True) is None:
            allowed.append(meeting_id)
        elif row is not None:
            stale.append(row)
    if stale:  # asked on every page: it writes only when something goes
        with write_transaction():
            for row in stale:
                meeting = db.session.get(Meeting, row.meeting_id)
                db.session.delete(row)
                audit.record(actor, "briefcase.dropped", meeting, {"key_id": device.key_id, "reason": "sync"})
    return {"allowed": allowed, "removed": sorted(set(meeting_ids) - set(allowed))}


def drop_meeting(device: BriefcaseDevice, meeting_id: int, *, actor: User) -> None:
    """The member removes a meeting from this device's briefcase."""
    with write_transaction():
        row = db.session.scalar(select(BriefcaseMeeting).where(BriefcaseMeeting.device_id == device.id,
                                                               BriefcaseMeeting.meeting_id == meeting_id))
        if row is None:
            raise NotFound()
        db.session.delete(row)
        audit.record(actor, "briefcase.dropped", db.session.get(Meeting, meeting_id),
                     {"key_id": device.key_id, "reason": "member"})


def require_wiper(actor: User) -> None:
    """The secretariat (and administrators, who answer for devices) may wipe a member's briefcase."""
    if not (actor.is_secretariat or actor.is_admin):
        raise Forbidden("secretariat_only")


def wipe_device(device: BriefcaseDevice, *, actor: User) -> BriefcaseDevice:
    """Remote wipe: the key is refused from now on, the login on that device ends, and the browser
    deletes every copy at its next contact with the server (even before anyone logs in again)."""
    require_wiper(actor)
    with write_transaction():
        db.session.refresh(device, with_for_update=True)
        if device.wiped_at is not None:
            raise Conflict("briefcase_already_wiped")
        device.wiped_at = utcnow()
        device.wiped_by_id = actor.id
        audit.record(actor, "briefcase.wiped", device, {"key_id": device.key_id, "user_id": device.user_id})
        auth_service.end_login(device.auth_session, actor=actor, reason="briefcase.wiped")
    return device


def get_device(device_id: int, actor: User) -> BriefcaseDevice:
    require_wiper(actor)
    device = db.session.get(BriefcaseDevice, device_id)
    if device is None:
        raise NotFound()
    return device


def holders(meeting: Meeting) -> list[dict[str, Any]]:
    """The devices that hold ``meeting`` offline, for the secretariat's list (who, which browser, since when)."""
    rows = db.session.execute(select(BriefcaseMeeting, BriefcaseDevice).join(
        BriefcaseDevice, BriefcaseDevice.id == BriefcaseMeeting.device_id)
        .where(BriefcaseMeeting.meeting_id == meeting.id).order_by(BriefcaseMeeting.taken_at))
    return [dump_device(device, taken_at=held.taken_at) for held, device in rows]


def dump_device(device: BriefcaseDevice, *, taken_at: Any = None) -> dict[str, Any]:
    body = {"id": device.id, "user": {"id": device.user.id, "full_name": device.user.full_name,
                                      "title": device.user.title},
            "label": device.label, "device": device_name(device.label), "created_at": shown(device.created_at),
            "last_contact_at": shown(device.last_contact_at), "wiped_at": shown(device.wiped_at),
            "state": "wiped" if device.wiped_at else ("ended" if device.ended() else "live")}
    if taken_at is not None:
        body["taken_at"] = shown(taken_at)
    return body
