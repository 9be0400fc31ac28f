"""/api/v1 documents: uploads (multipart), versions, the reader's stamped copy, private notes and marks."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import Response, request
from flask_login import current_user, login_required

from documents import access, service
from documents.schemas import (
    AnnotationsIn,
    ContentQuery,
    NoteIn,
    UploadIn,
    VersionIn,
    dump_annotations,
    dump_document,
    dump_note,
    dump_uploaded,
    dump_version,
)
from ecabinet.auth.access import require_secretariat
from ecabinet.auth.models import User
from ecabinet.idempotency import idempotent
from ecabinet.schemas import shown

api = APIBlueprint("documents_api", __name__, url_prefix="/api/v1", tag="Documents")


def _upload_bytes(upload: Any) -> tuple[bytes, str]:
    data = upload.stream.read()
    return data, upload.filename or ""


def may_upload_to_item(user: User, args: dict[str, Any]) -> None:
    """The upload's own checks, made from the URL before the file is read (``security.guard_upload``)."""
    access.owner().require_upload_target(user, args["meeting_id"], args["item_id"])
    require_secretariat(user)


def may_add_version(user: User, args: dict[str, Any]) -> None:
    access.get_document_for(user, args["document_id"])
    require_secretariat(user)


@api.post("/meetings/<int:meeting_id>/agenda/<int:item_id>/documents")
@api.input(UploadIn, location="form_and_files", arg_name="body")
@api.doc(responses={201: "{id, version, sha256, pages, size}", 413: "file_too_large",
                    415: "not_a_pdf", 422: "empty_file, pdf_damaged, pdf_encrypted, pdf_active_content"})
@login_required
@idempotent
def upload_document(meeting_id: int, item_id: int, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Attach a PDF dossier to an agenda item (secretariat)."""
    access.owner().require_upload_target(current_user, meeting_id, item_id)
    data, filename = _upload_bytes(body["file"])
    version = service.upload_document(meeting_id, item_id, data=data, filename=filename, title=body["title"],
                                      doc_type=body["doc_type"], confidentiality=body["confidentiality"],
                                      actor=current_user)
    return dump_uploaded(version), 201


@api.post("/documents/<int:document_id>/versions")
@api.input(VersionIn, location="form_and_files", arg_name="body")
@login_required
@idempotent
def add_version(document_id: int, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """A new version of the dossier; the history is kept."""
    document = access.get_document_for(current_user, document_id)
    data, filename = _upload_bytes(body["file"])
    version = service.add_version(document, data=data, filename=filename, actor=current_user)
    return {"id": document.id, **dump_version(version)}, 201


@api.get("/documents/<int:document_id>")
@login_required
def get_document(document_id: int) -> dict[str, Any]:
    """Metadata with every version and which pages changed."""
    document = access.get_document_for(current_user, document_id)
    return dump_document(document, current_user, readable=access.read_refusal(document, current_user) is None,
                         versions=True)


@api.get("/documents/<int:document_id>/content")
@api.input(ContentQuery, location="query", arg_name="query")
@api.doc(responses={200: "application/pdf, stamped for the caller", 206: "a byte range", 304: "not modified"})
@login_required
def content(document_id: int, query: dict[str, Any]) -> Any:
    """The caller's stamped copy (name and time on every page); Range, ETag and 304 supported."""
    readable = access.get_readable_version_for(current_user, document_id, query.get("version"))
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
    document = access.get_readable_document_for(current_user, document_id)
    return {"notes": [dump_note(note) for note in service.notes_of(document, current_user)]}


@api.put("/documents/<int:document_id>/notes")
@api.input(NoteIn, arg_name="body")
@login_required
def put_note(document_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Save the caller's private note on a page; an empty text removes it."""
    document = access.get_readable_document_for(current_user, document_id)
    note = service.save_note(document, page=body["page"], text=body["text"], actor=current_user)
    return dump_note(note)


@api.get("/documents/<int:document_id>/annotations")
@login_required
def get_annotations(document_id: int) -> dict[str, Any]:
    """The caller's own highlights and ink on this document, page by page (nobody else's)."""
    document = access.get_readable_document_for(current_user, document_id)
    return {"annotations": [dump_annotations(row) for row in service.annotations_of(document, current_user)]}


@api.put("/documents/<int:document_id>/annotations")
@api.input(AnnotationsIn, arg_name="body")
@login_required
def put_annotations(document_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Replace the caller's private highlights and ink on a page; an empty list removes them."""
    document = access.get_readable_document_for(current_user, document_id)
    marks, at = service.save_annotations(document, page=body["page"], marks=body["marks"], actor=current_user)
    return {"page": body["page"], "marks": marks, "updated_at": shown(at)}
