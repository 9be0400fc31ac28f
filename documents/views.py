"""/api/v1 documents: uploads (multipart), versions, the reader's stamped copy, private notes and marks, paper saved."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Dict, File, Integer, List, String
from apiflask.validators import Length, OneOf, Range
from flask import Response, request
from flask_login import current_user, login_required
from marshmallow import EXCLUDE

from documents import access as doc_access
from documents import service
from documents.models import Document, DocumentVersion
from ecabinet.auth.access import require_secretariat
from ecabinet.auth.models import User
from ecabinet.errors import Forbidden
from ecabinet.idempotency import idempotent
from meetings import access
from meetings.schemas import LEVELS, shown

api = APIBlueprint("documents_api", __name__, url_prefix="/api/v1", tag="Documents")


class UploadIn(Schema):
    file = File(required=True)
    title = String(required=True, validate=Length(1, 500))
    doc_type = String(load_default="", validate=Length(max=60))
    confidentiality = String(load_default="normal", validate=OneOf(LEVELS))


class VersionIn(Schema):
    class Meta:
        unknown = EXCLUDE  # a client may resend the upload's other fields

    file = File(required=True)


class NoteIn(Schema):
    page = Integer(required=True, validate=Range(min=1))
    text = String(required=True, validate=Length(max=20000))


class AnnotationsIn(Schema):
    page = Integer(required=True, validate=Range(min=1))
    # each mark's shape is checked by the service (``clean_marks``), which names what is expected
    marks = List(Dict(), required=True)


class ContentQuery(Schema):
    version = Integer(validate=Range(min=1))


def dump_version(version: DocumentVersion) -> dict[str, Any]:
    return {"version": version.number, "sha256": version.sha256, "pages": version.pages, "size": version.size,
            "changed_pages": version.changed_pages, "uploaded_at": shown(version.uploaded_at)}


def dump_document(document: Document, viewer: User, *, versions: bool = False,
                  last_opened: dict[int, int] | None = None) -> dict[str, Any]:
    """``last_opened`` (document id -> highest version the viewer opened) spares the badge its own query."""
    current = document.current_version
    body: dict[str, Any] = {"id": document.id, "meeting_id": document.meeting_id,
                            "agenda_item_id": document.agenda_item_id, "title": document.title,
                            "doc_type": document.doc_type, "confidentiality": str(document.confidentiality),
                            "version": current.number if current else None,
                            "sha256": current.sha256 if current else None,
                            "pages": current.pages if current else 0, "size": current.size if current else 0,
                            "readable": doc_access.read_refusal(document, viewer) is None,
                            "badge": service.badge(document, viewer) if last_opened is None
                            else service.badge_after(document, last_opened.get(document.id))}
    if versions:
        body["versions"] = [dump_version(v) for v in document.versions]
    return body


def _upload_bytes(upload: Any) -> tuple[bytes, str]:
    data = upload.stream.read()
    return data, upload.filename or ""


def may_upload_to_item(user: User, args: dict[str, Any]) -> None:
    """The upload's own checks, made from the URL before the file is read (``security.guard_upload``)."""
    meeting = access.get_meeting_for(user, args["meeting_id"])
    access.get_item_for(user, meeting, args["item_id"])
    require_secretariat(user)


def may_add_version(user: User, args: dict[str, Any]) -> None:
    doc_access.get_document_for(user, args["document_id"])
    require_secretariat(user)


@api.post("/meetings/<int:meeting_id>/agenda/<int:item_id>/documents")
@api.input(UploadIn, location="form_and_files", arg_name="body")
@api.doc(responses={201: "{id, version, sha256, pages, size}", 413: "file_too_large",
                    415: "not_a_pdf", 422: "empty_file, pdf_damaged, pdf_encrypted, pdf_active_content"})
@login_required
@idempotent
def upload_document(meeting_id: int, item_id: int, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Attach a PDF dossier to an agenda item (secretariat)."""
    meeting = access.get_meeting_for(current_user, meeting_id)
    item = access.get_item_for(current_user, meeting, item_id)
    data, filename = _upload_bytes(body["file"])
    version = service.upload_document(meeting, item, data=data, filename=filename, title=body["title"],
                                      doc_type=body["doc_type"], confidentiality=body["confidentiality"],
                                      actor=current_user)
    return {"id": version.document_id, "version": version.number, "sha256": version.sha256,
            "pages": version.pages, "size": version.size}, 201


@api.post("/documents/<int:document_id>/versions")
@api.input(VersionIn, location="form_and_files", arg_name="body")
@login_required
@idempotent
def add_version(document_id: int, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """A new version of the dossier; the history is kept."""
    document = doc_access.get_document_for(current_user, document_id)
    data, filename = _upload_bytes(body["file"])
    version = service.add_version(document, data=data, filename=filename, actor=current_user)
    return {"id": document.id, **dump_version(version)}, 201


@api.get("/documents/<int:document_id>")
@login_required
def get_document(document_id: int) -> dict[str, Any]:
    """Metadata with every version and which pages changed."""
    return dump_document(doc_access.get_document_for(current_user, document_id), current_user, versions=True)


@api.get("/documents/<int:document_id>/content")
@api.input(ContentQuery, location="query", arg_name="query")
@api.doc(responses={200: "application/pdf, stamped for the caller", 206: "a byte range", 304: "not modified"})
@login_required
def content(document_id: int, query: dict[str, Any]) -> Any:
    """The caller's stamped copy (name and time on every page); Range, ETag and 304 supported."""
    readable = doc_access.get_readable_version_for(current_user, document_id, query.get("version"))
    served = service.read_document(readable, actor=current_user, byte_range=request.headers.get("Range"))
    data = service.stamped_bytes(served)
    # only ``served``'s plain values from here on: the commit expired the loaded objects
    name = f"tai-lieu-{served.document_id}-v{served.number}.pdf"
    # the bytes as one body, not send_file's 8 KB file chunks: one socket write instead of ~30
    response = Response(data, mimetype="application/pdf")
    response.set_etag(served.etag)
    response.last_modified = served.issued_at
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    response.headers["Cache-Control"] = ("private, no-store" if served.confidentiality != "normal"
                                         else "private, no-cache")
    return response.make_conditional(request, accept_ranges=True, complete_length=len(data))


@api.get("/documents/<int:document_id>/notes")
@login_required
def get_notes(document_id: int) -> dict[str, Any]:
    """The caller's own notes on this document (nobody else's)."""
    document = doc_access.get_readable_document_for(current_user, document_id)
    return {"notes": [{"page": n.page, "text": n.text, "updated_at": shown(n.updated_at)}
                      for n in service.notes_of(document, current_user)]}


@api.put("/documents/<int:document_id>/notes")
@api.input(NoteIn, arg_name="body")
@login_required
def put_note(document_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Save the caller's private note on a page; an empty text removes it."""
    document = doc_access.get_readable_document_for(current_user, document_id)
    note = service.save_note(document, page=body["page"], text=body["text"], actor=current_user)
    return {"page": note.page, "text": note.text, "updated_at": shown(note.updated_at)}


@api.get("/documents/<int:document_id>/annotations")
@login_required
def get_annotations(document_id: int) -> dict[str, Any]:
    """The caller's own highlights and ink on this document, page by page (nobody else's)."""
    document = doc_access.get_readable_document_for(current_user, document_id)
    return {"annotations": [{"page": row.page, "marks": row.marks, "updated_at": shown(row.updated_at)}
                            for row in service.annotations_of(document, current_user)]}


@api.put("/documents/<int:document_id>/annotations")
@api.input(AnnotationsIn, arg_name="body")
@login_required
def put_annotations(document_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Replace the caller's private highlights and ink on a page; an empty list removes them."""
    document = doc_access.get_readable_document_for(current_user, document_id)
    marks, at = service.save_annotations(document, page=body["page"], marks=body["marks"], actor=current_user)
    return {"page": body["page"], "marks": marks, "updated_at": shown(at)}


@api.get("/meetings/<int:meeting_id>/paper-saved")
@login_required
def meeting_paper_saved(meeting_id: int) -> dict[str, Any]:
    """Pages × recipients of every dossier distributed in this meeting (secretariat)."""
    meeting = access.get_meeting_for(current_user, meeting_id)
    if not current_user.is_secretariat:
        raise Forbidden("secretariat_only")
    return service.paper_saved(meeting)


@api.get("/paper-saved")
@login_required
def total_paper_saved() -> dict[str, Any]:
    """The figure the Government Office reports: per meeting and in total (secretariat)."""
    if not current_user.is_secretariat:
        raise Forbidden("secretariat_only")
    return service.paper_saved_total()


