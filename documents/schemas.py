"""Request shapes of the documents API (they feed the OpenAPI document) and the JSON it answers with."""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import Dict, File, Integer, List, String
from apiflask.validators import Length, OneOf, Range
from marshmallow import EXCLUDE

from documents import service
from documents.models import Document, DocumentVersion, PageAnnotations, PageNote
from ecabinet.auth.models import User
from ecabinet.schemas import LEVELS, shown


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


def dump_document(document: Document, viewer: User, *, readable: bool, versions: bool = False,
                  last_opened: dict[int, int] | None = None) -> dict[str, Any]:
    """``readable``: whether ``viewer`` may open it (``access.read_refusal``, decided by the caller, who
    may hold the meeting already); ``last_opened`` (document id -> highest version the viewer opened)
    spares the badge its own query."""
    current = document.current_version
    body: dict[str, Any] = {"id": document.id, "meeting_id": document.meeting_id,
                            "agenda_item_id": document.agenda_item_id, "title": document.title,
                            "doc_type": document.doc_type, "confidentiality": str(document.confidentiality),
                            "version": current.number if current else None,
                            "sha256": current.sha256 if current else None,
                            "pages": current.pages if current else 0, "size": current.size if current else 0,
                            "readable": readable,
                            "badge": service.badge(document, viewer) if last_opened is None
                            else service.badge_after(document, last_opened.get(document.id))}
    if versions:
        body["versions"] = [dump_version(v) for v in document.versions]
    return body


def dump_uploaded(version: DocumentVersion) -> dict[str, Any]:
    return {"id": version.document_id, "version": version.number, "sha256": version.sha256,
            "pages": version.pages, "size": version.size}


def dump_note(note: PageNote) -> dict[str, Any]:
    return {"page": note.page, "text": note.text, "updated_at": shown(note.updated_at)}


def dump_annotations(row: PageAnnotations) -> dict[str, Any]:
    return {"page": row.page, "marks": row.marks, "updated_at": shown(row.updated_at)}
