"""Dossiers: documents of an agenda item, their immutable versions, reads, private page notes and marks.

A document is filed under an agenda item of a meeting; the foreign keys name those tables, but the
models are not imported: meetings uses documents, never the reverse (see ``documents.access``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ecabinet.auth.models import Confidentiality
from ecabinet.database import Model, UTCDateTime, utcnow


class Document(Model):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    agenda_item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id"), index=True)
    title: Mapped[str] = mapped_column(String(500))
    #: tờ trình, dự thảo, báo cáo ... (free text from the secretariat)
    doc_type: Mapped[str] = mapped_column(String(60), default="")
    confidentiality: Mapped[Confidentiality] = mapped_column(String(20), default=Confidentiality.NORMAL)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    versions: Mapped[list[DocumentVersion]] = relationship(back_populates="document", order_by="DocumentVersion.number",
                                                           cascade="all, delete-orphan")

    @property
    def current_version(self) -> DocumentVersion | None:
        return self.versions[-1] if self.versions else None


class DocumentVersion(Model):
    """One immutable upload; the bytes live in the content-addressed store under ``sha256``."""

    __tablename__ = "document_versions"
    __table_args__ = (UniqueConstraint("document_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    number: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    pages: Mapped[int]
    #: one hash per page, to tell readers which pages changed in a new version
    page_fingerprints: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: 1-based pages that differ from the previous version
    changed_pages: Mapped[list[int]] = mapped_column(JSON, default=list)
    filename: Mapped[str] = mapped_column(String(300), default="")
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    document: Mapped[Document] = relationship(back_populates="versions")


class ReaderCopy(Model):
    """A reader's numbered copy of a version: issued at the first opening, stamped with that time.

    Keeping the time makes every later fetch of the copy byte-identical (ETag, Range), and the rows
    drive the "new" and "changed" badges.
    """

    __tablename__ = "reader_copies"
    __table_args__ = (UniqueConstraint("version_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("document_versions.id"))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    version_number: Mapped[int]
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class _ReadersPage:
    """One reader's own row for one page of a document (not of a version, so it survives new versions)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    page: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PageNote(_ReadersPage, Model):
    """A private note on a page; kept per document (not per version) so it survives new versions."""

    __tablename__ = "page_notes"
    __table_args__ = (UniqueConstraint("document_id", "user_id", "page"),
                      Index("ix_page_notes_document_user", "document_id", "user_id"))

    text: Mapped[str] = mapped_column(Text, default="")


class PageAnnotations(_ReadersPage, Model):
    """A reader's private highlights and ink on one page, kept like the notes: per document (not per
    version), never shown to anyone else, never part of the meeting's archive."""

    __tablename__ = "page_annotations"
    __table_args__ = (UniqueConstraint("document_id", "user_id", "page"),
                      Index("ix_page_annotations_document_user", "document_id", "user_id"))

    #: highlights ``{"kind": "highlight", "x", "y", "w", "h"}`` and ink ``{"kind": "ink", "points": [[x, y], ...]}``
    #: in fractions of the page's width and height, so they fit the page at any zoom
    marks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
