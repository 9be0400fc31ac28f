"""/api/v1 minutes and archive routes: parse → access → service → serialize."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import Response, request
from flask_login import current_user, login_required

from ecabinet.auth.models import User
from ecabinet.errors import Conflict, Forbidden, Invalid, UnsupportedType
from meetings.access import get_meeting_for
from meetings.minutes import archive, service
from meetings.minutes.access import may_read_drafts, readable_minutes
from meetings.minutes.schemas import NarrativeIn, PdfQuery, SignIn, dump_minutes
from meetings.models import Meeting, MeetingStatus

api = APIBlueprint("minutes_api", __name__, url_prefix="/api/v1", tag="Minutes and archive")


def _meeting(meeting_id: int) -> Meeting:
    return get_meeting_for(current_user, meeting_id)


@api.post("/meetings/<int:meeting_id>/minutes")
@login_required
def generate(meeting_id: int) -> tuple[dict[str, Any], int]:
    """The secretariat draws up the minutes from the session record (a new draft version each time)."""
    return dump_minutes(service.generate_minutes(_meeting(meeting_id), actor=current_user)), 201


@api.patch("/meetings/<int:meeting_id>/minutes")
@api.input(NarrativeIn, arg_name="body")
@login_required
def edit(meeting_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """The secretariat edits the narrative part (a new draft version; earlier ones stay)."""
    return dump_minutes(service.edit_narrative(_meeting(meeting_id), body["narrative"], actor=current_user))


@api.get("/meetings/<int:meeting_id>/minutes")
@login_required
def show(meeting_id: int) -> dict[str, Any]:
    """The minutes with their versions (drafts: the secretariat and the chair only; never guests)."""
    return dump_minutes(readable_minutes(current_user, meeting_id)[1])


@api.get("/meetings/<int:meeting_id>/minutes.pdf")
@api.input(PdfQuery, location="query", arg_name="query")
@login_required
def minutes_pdf(meeting_id: int, query: dict[str, Any]) -> Response:
    """The latest signed state of the minutes, or a draft version (``?version=N``); never to guests."""
    meeting, minutes = readable_minutes(current_user, meeting_id, draft_version=bool(query.get("version")))
    data = service.current_pdf(minutes, query.get("version"))
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="bien-ban-{meeting.id}.pdf"'})


@api.post("/meetings/<int:meeting_id>/minutes/sign")
@api.input(SignIn, arg_name="body")
@login_required
def sign(meeting_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """The secretary signs first, then the chair; the chair's signature archives the meeting."""
    return dump_minutes(service.sign_minutes(_meeting(meeting_id), pin=body["pin"], actor=current_user))


@api.get("/meetings/<int:meeting_id>/minutes/sign/prepared.pdf")
@login_required
def prepared_pdf(meeting_id: int) -> Response:
    """The file the due signer signs with their own tool (a key on their token), then uploads."""
    data = service.prepared_for_signing(_meeting(meeting_id), actor=current_user)
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="bien-ban-{meeting_id}-chua-ky.pdf"'})


def may_upload_signed_minutes(user: User, args: dict[str, Any]) -> None:
    """Only the secretary or the chair of the meeting sends signed minutes: decided before the file is read."""
    meeting = get_meeting_for(user, args["meeting_id"])
    if user.id not in (meeting.chair_id, getattr(service.minutes_of(meeting), "secretary_id", None)):
        raise Forbidden("not_a_minutes_signer")


@api.post("/meetings/<int:meeting_id>/minutes/sign/upload")
@login_required
def upload_signed(meeting_id: int) -> dict[str, Any]:
    """Minutes signed with the signer's own tool (multipart ``file``): the same turn and effects as ``/sign``."""
    meeting = _meeting(meeting_id)
    upload = request.files.get("file")
    if upload is None:
        raise Invalid("not_a_pdf", fields={"file": ["missing"]})
    data = upload.read()
    if not data.startswith(b"%PDF-"):
        raise UnsupportedType()
    return dump_minutes(service.upload_signed_minutes(meeting, data=data, actor=current_user))


@api.get("/meetings/<int:meeting_id>/archive.zip")
@login_required
def archive_zip(meeting_id: int) -> Response:
    """The BagIt bag of an archived meeting (the secretariat and the chair)."""
    meeting = _meeting(meeting_id)
    if not may_read_drafts(current_user, meeting):
        raise Forbidden("chair_or_secretariat_only")
    if meeting.status != MeetingStatus.ARCHIVED:
        raise Conflict("meeting_not_archived")
    try:
        bag = archive.export_bag_zip(meeting, reader=current_user)
    except archive.ArchiveAboveClearance:
        raise Forbidden("clearance_insufficient") from None
    return Response(bag, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="meeting-{meeting.id}.zip"'})
