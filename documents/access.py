"""Who may see and read a document: the rules belong to the record the dossier is filed under.

A dossier is filed under an agenda item of a meeting, and whether a user sees it, may open it or may
change it follows the meeting's rules. Those rules live in the meetings package, which uses this one:
it gives them here once, at start-up (``set_owner`` in its ``init_app``), so that documents imports
nothing of it and the domains' graph stays acyclic (meetings → documents, never the reverse).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from flask import Flask, current_app
from sqlalchemy.orm import selectinload

from documents.models import Document
from ecabinet.auth.models import User
from ecabinet.database import db
from ecabinet.errors import Forbidden, NotFound

_OWNER = "documents.owner"  # app.extensions key


@dataclass(frozen=True)
class ReadableVersion:
    """The version a reader may open, as plain values (what reading it and its audit record need)."""

    document_id: int
    confidentiality: str
    version_id: int
    number: int
    sha256: str


class DossierOwner(Protocol):
    """The rules of the record dossiers are filed under (a meeting's agenda item)."""

    def may_list(self, document: Document, user: User) -> bool:
        """Whether the document is listed to ``user`` (whether they may open it is ``read_refusal``)."""

    def read_refusal(self, document: Document, user: User) -> str | None:
        """None when ``user`` may open the document, else the error code that says why not."""

    def require_visible_owner(self, user: User, document: Document) -> None:
        """Raise NotFound unless ``user`` sees the record the document is filed under."""

    def readable_version(self, user: User, document_id: int, number: int | None) -> ReadableVersion:
        """``get_readable_document_for`` and the version (``number``, else the current one), answered
        without loading the objects (every download asks it); NotFound or Forbidden as the object checks."""

    def require_upload_target(self, user: User, meeting_id: int, agenda_item_id: int) -> None:
        """Raise NotFound unless ``user`` sees the record a dossier is to be filed under."""

    def require_editable(self, meeting_id: int) -> None:
        """Raise Conflict when the record no longer takes new dossiers or versions (inside the write)."""

    def distributed(self, meeting_id: int) -> bool:
        """Whether the record's readers already have its dossiers, so a change is announced to them."""

    def readers(self, document: Document) -> list[int]:
        """The users who may list and open the document (those told when it is added or changed)."""

    def filed_under(self, documents: list[Document]) -> dict[int, str]:
        """Document id -> the title of the record each is filed under (shown beside a dossier's title)."""


def set_owner(app: Flask, owner: DossierOwner) -> None:
    """Give documents the rules of the record dossiers are filed under (once, from ``init_app``)."""
    app.extensions[_OWNER] = owner


def owner() -> DossierOwner:
    owner_rules: DossierOwner | None = current_app.extensions.get(_OWNER)
    if owner_rules is None:
        raise RuntimeError("no dossier owner registered: the meetings package's init_app gives it")
    return owner_rules


def may_list(document: Document, user: User) -> bool:
    return owner().may_list(document, user)


def read_refusal(document: Document, user: User) -> str | None:
    return owner().read_refusal(document, user)


def filed_under(documents: list[Document]) -> dict[int, str]:
    return owner().filed_under(documents) if documents else {}


def get_document_for(user: User, document_id: int) -> Document:
    """The document, or NotFound when unknown OR not visible to ``user``."""
    document = db.session.get(Document, document_id, options=[selectinload(Document.versions)])
    if document is None or not user.is_authenticated:
        raise NotFound()
    rules = owner()
    rules.require_visible_owner(user, document)
    if not rules.may_list(document, user):
        raise NotFound()
    return document


def get_readable_document_for(user: User, document_id: int) -> Document:
    document = get_document_for(user, document_id)
    refusal = read_refusal(document, user)
    if refusal:
        raise Forbidden(refusal)
    return document


def get_readable_version_for(user: User, document_id: int, number: int | None = None) -> ReadableVersion:
    """``get_readable_document_for`` and the version (``number``, else the current one) in one query
    (tests/documents/test_access.py holds the two paths to the same answer)."""
    if not user.is_authenticated:
        raise NotFound()
    return owner().readable_version(user, document_id, number)
