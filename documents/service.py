"""The only writer of documents: uploads, new versions, reader copies (audited reads), page notes and marks."""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, insert, select

from documents import access, pdftools
from documents.access import ReadableVersion
from documents.models import Document, DocumentVersion, PageAnnotations, PageNote, ReaderCopy
from ecabinet import audit, notifications, realtime, storage
from ecabinet.auth.access import require_secretariat
from ecabinet.auth.models import Confidentiality, User
from ecabinet.database import db, utcnow, write_transaction
from ecabinet.errors import AppError, Forbidden, Invalid


def require_cleared_for(actor: User, level: str) -> None:
    """Nobody uploads a dossier (or a version of one) above their own clearance."""
    if not actor.may_read(level):
        raise Forbidden("upload_above_clearance")


def _vet(data: bytes) -> pdftools.PdfInfo:
    try:
        return pdftools.inspect_upload(data, max_bytes=current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024)
    except pdftools.PdfRejected as rejected:
        raise AppError(rejected.code, status=rejected.http_status) from rejected


def _new_version(document: Document, info: pdftools.PdfInfo, filename: str, actor: User) -> DocumentVersion:
    previous = document.current_version
    sha256 = storage.put(info.data)
    fingerprints = pdftools.page_fingerprints(info.data)
    version = DocumentVersion(document_id=document.id, number=(previous.number + 1) if previous else 1,
                              sha256=sha256, size=info.size, pages=info.pages, page_fingerprints=fingerprints,
                              changed_pages=pdftools.changed_pages(previous.page_fingerprints, fingerprints)
                              if previous else [], filename=filename[:300], uploaded_by_id=actor.id)
    db.session.add(version)
    db.session.flush()
    db.session.refresh(document)
    return version


def notify_readers(document: Document, kind: str, data: dict[str, Any]) -> None:
    """Tell those who may read the dossier (its record's rules: the item's audience, cleared for its level)."""
    notifications.notify(access.owner().readers(document), kind, ("document", document.id),
                         path=f"/documents/{document.id}/view", title=document.title,
                         level=document.confidentiality, data=data)


def upload_document(meeting_id: int, agenda_item_id: int, *, data: bytes, filename: str, title: str,
                    doc_type: str, confidentiality: str, actor: User) -> DocumentVersion:
    """Vet the PDF (active content neutralised), store it by SHA-256 and attach it to the item.

    Precondition: ``actor`` sees the item (``access.owner().require_upload_target``).
    """
    require_secretariat(actor)
    if not title.strip():
        raise Invalid(fields={"title": "required"})
    require_cleared_for(actor, confidentiality)
    info = _vet(data)
    owner = access.owner()
    with write_transaction():
        owner.require_editable(meeting_id)
        document = Document(meeting_id=meeting_id, agenda_item_id=agenda_item_id, title=title.strip(),
                            doc_type=doc_type.strip(), confidentiality=Confidentiality(confidentiality),
                            created_by_id=actor.id)
        db.session.add(document)
        db.session.flush()
        version = _new_version(document, info, filename, actor)
        audit.record(actor, "document.added", document,
                     {"version": 1, "sha256": version.sha256, "pages": version.pages, "removed": info.removed})
        if owner.distributed(meeting_id):
            realtime.publish(meeting_id, "document.added",
                             {"document_id": document.id, "agenda_item_id": agenda_item_id, "version": 1})
            notify_readers(document, "document.added", {})
    return version


def add_version(document: Document, *, data: bytes, filename: str, actor: User) -> DocumentVersion:
    """Keep the history; readers see the document as changed, with the pages that changed."""
    require_secretariat(actor)
    require_cleared_for(actor, document.confidentiality)
    info = _vet(data)
    owner = access.owner()
    with write_transaction():
        owner.require_editable(document.meeting_id)
        version = _new_version(document, info, filename, actor)
        audit.record(actor, "document.versioned", document,
                     {"version": version.number, "sha256": version.sha256, "changed_pages": version.changed_pages,
                      "removed": info.removed})
        if owner.distributed(document.meeting_id):
            realtime.publish(document.meeting_id, "document.versioned",
                             {"document_id": document.id, "agenda_item_id": document.agenda_item_id,
                              "version": version.number, "changed_pages": version.changed_pages})
            notify_readers(document, "document.versioned", {"version": version.number})
    return version


@dataclass(frozen=True)
class ServedCopy:
    """What a delivery needs after its read is recorded: plain values, as that commit (or another
    request's, see ``_ReadJournal``) expires every loaded object."""

    etag: str
    sha256: str
    number: int
    document_id: int
    confidentiality: str
    reader_id: int
    reader_name: str
    issued_at: datetime


class ReadNotRecorded(RuntimeError):
    """The audit record of a read could not be committed, so the copy is not served (fail closed)."""


@dataclass
class _Read:
    """One delivery waiting for its audit record and, at a first opening, the issue of its copy."""

    entry: audit.Entry  # data filled in when written: whether this read issued the copy
    version_id: int
    number: int
    sha256: str
    issued_at: datetime | None = None
    done: bool = False
    failure: BaseException | None = None


class _ReadJournal:
    """Group commit of dossier reads: a read waits until a transaction carrying its audit record has
    committed; whoever finds no write in progress writes every read queued by then, in the order they
    came, in one transaction (one chain-head read, one commit and its fsync for many reads).

    A read issued inside a caller's write transaction joins that transaction instead (``read_document``).
    """

    def __init__(self) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._queued: list[_Read] = []
        self._writing = False

    def record(self, read: _Read) -> None:
        """Return once ``read`` is committed; raise ``ReadNotRecorded`` when its transaction failed."""
        with self._changed:
            self._queued.append(read)
            while not read.done:
                if self._writing:
                    self._changed.wait()
                else:
                    self._write_queued()
        if read.failure is not None:
            raise ReadNotRecorded(f"read of document {read.entry.object_id} not recorded") from read.failure

    def _write_queued(self) -> None:
        # called and returns holding self._changed
        self._writing = True
        self._changed.release()
        batch: list[_Read] = []
        failure: BaseException | None = None
        try:
            _let_ready_requests_queue()
            with self._changed:
                batch, self._queued = self._queued, []
            _write_reads(batch)
        except BaseException as error:  # every waiter of the batch learns it, then the writer re-raises
            failure = error
        finally:
            self._changed.acquire()
            for read in batch:
                read.done, read.failure = True, failure
            self._writing = False
            self._changed.notify_all()
        if failure is not None and not isinstance(failure, Exception):
            raise failure


def _journal() -> _ReadJournal:
    """The app's journal: one per database, as its writer commits other requests' reads."""
    journal = current_app.extensions.get("documents.read_journal")
    if journal is None:
        journal = current_app.extensions.setdefault("documents.read_journal", _ReadJournal())
    return journal


def _let_ready_requests_queue() -> None:
    """Yield once before taking the queue, so that the requests ready to run reach it first: under
    gevent on SQLite a commit blocks the whole process, and no read could queue while it runs."""
    time.sleep(0)


_ISSUED = (select(ReaderCopy.version_id, ReaderCopy.user_id, ReaderCopy.issued_at)
           .where(ReaderCopy.version_id.in_(bindparam("version_ids", expanding=True)),
                  ReaderCopy.user_id.in_(bindparam("user_ids", expanding=True))))
_ISSUE = insert(ReaderCopy)


def _write_reads(reads: list[_Read]) -> None:
    """Issue the copies opened for the first time and append one ``document.read`` record per read.

    Core statements on the session's connection: as ORM objects, the rows cost twice as much to write.
    """
    with write_transaction():
        connection = db.session.connection()
        issued: dict[tuple[int, int | None], datetime] = {
            (version_id, user_id): at for version_id, user_id, at in connection.execute(
            _ISSUED, {"version_ids": list({r.version_id for r in reads}),
                      "user_ids": list({r.entry.actor_id for r in reads})})}
        copies = []
        for read in reads:
            key = (read.version_id, read.entry.actor_id)
            first = key not in issued
            if first:
                issued[key] = utcnow().replace(microsecond=0)
                copies.append({"version_id": read.version_id, "document_id": int(read.entry.object_id),
                               "user_id": read.entry.actor_id, "version_number": read.number,
                               "issued_at": issued[key]})
            read.issued_at = issued[key]
            read.entry.data["first"] = first
        if copies:
            connection.execute(_ISSUE, copies)
        audit.append_many([read.entry for read in reads])


def read_document(readable: ReadableVersion, *, actor: User, byte_range: str | None = None) -> ServedCopy:
    """Issue (first time) or reuse the reader's copy of a version; every access is audited, and the
    record is committed before this returns (``ReadNotRecorded`` otherwise).

    Precondition: ``readable`` comes from ``access.get_readable_version_for(actor, ...)``.
    """
    read = _Read(entry=audit.entry(actor, "document.read", (Document.__tablename__, readable.document_id),
                                   {"version": readable.number, "sha256": readable.sha256, "range": byte_range}),
                 version_id=readable.version_id, number=readable.number, sha256=readable.sha256)
    reader_id, reader_name = actor.id, actor.full_name
    if db.session.info.get("in_write_transaction"):
        _write_reads([read])  # joins the caller's transaction, which commits it
    else:
        # end the request's read transaction first: a read waiting with it would hold a pooled
        # connection, and a session's readers at once would overflow the pool
        db.session.commit()
        _journal().record(read)
    assert read.issued_at is not None
    return ServedCopy(etag=f"{read.sha256[:32]}-{reader_id}-{int(read.issued_at.timestamp())}", sha256=read.sha256,
                      number=read.number, document_id=readable.document_id,
                      confidentiality=readable.confidentiality, reader_id=reader_id, reader_name=reader_name,
                      issued_at=read.issued_at)


_PREPARED_LOCK = threading.Lock()
#: readers' copies by (version sha256, reader, issue time), least recently used first. A reader's
#: copy is byte-identical on every fetch (the stamp is the first-open time), so it is stamped once
#: and served from here; the budget is in bytes and holds a whole session's dossiers for every
#: member (27 members × 20 dossiers × ~250 kB), which a count of entries could not promise.
_STAMPED: OrderedDict[tuple[str, int, int], bytes] = OrderedDict()
_STAMPED_BYTES = 0
STAMPED_CACHE_MB = 256


@functools.lru_cache(maxsize=64)  # a session's dossiers (6-10 items, 1-3 each) and some history
def _prepared(sha256: str, root: str) -> pdftools.PreparedDoc:
    """The parse every reader's copy shares, once per version (stamping a 200-page dossier stays fast)."""
    return pdftools.prepare_stamp_base(storage.get(sha256))


def stamped_bytes(served: ServedCopy) -> bytes:
    """The reader's copy: name and issue time on every page; identical bytes on every fetch."""
    global _STAMPED_BYTES
    key = (served.sha256, served.reader_id, int(served.issued_at.timestamp()))
    with _PREPARED_LOCK:
        if key in _STAMPED:
            _STAMPED.move_to_end(key)
            return _STAMPED[key]
    prepared = _prepared(served.sha256, str(current_app.config["DATA_DIR"]))
    data = pdftools.stamp_copy(prepared, reader_name=served.reader_name, when=served.issued_at)
    budget = int(current_app.config.get("STAMPED_CACHE_MB", STAMPED_CACHE_MB)) * 1024 * 1024
    with _PREPARED_LOCK:
        if key not in _STAMPED and len(data) <= budget:
            _STAMPED[key] = data
            _STAMPED_BYTES += len(data)
        while _STAMPED_BYTES > budget and _STAMPED:
            _STAMPED_BYTES -= len(_STAMPED.popitem(last=False)[1])
    return data


def save_note(document: Document, *, page: int, text: str, actor: User) -> PageNote:
    """The caller's private note on a page (an empty text deletes it)."""
    pages = document.current_version.pages if document.current_version else 0
    if page < 1 or page > max(pages, 1):
        raise Invalid(fields={"page": f"between 1 and {pages}"})
    with write_transaction():
        note = db.session.scalar(select(PageNote).where(PageNote.document_id == document.id,
                                                        PageNote.user_id == actor.id, PageNote.page == page))
        if note is None:
            note = PageNote(document_id=document.id, user_id=actor.id, page=page, text=text)
            db.session.add(note)
        note.text = text
        note.updated_at = utcnow()
        db.session.flush()
        audit.record(actor, "note.saved", document, {"page": page, "length": len(text)})
    return note


def notes_of(document: Document, user: User) -> list[PageNote]:
    return list(db.session.scalars(select(PageNote).where(PageNote.document_id == document.id,
                                                          PageNote.user_id == user.id, PageNote.text != "")
                                   .order_by(PageNote.page)))


#: a page's marks are drawn at every page turn: bounded so that no reader's page grows without end
MAX_MARKS_PER_PAGE = 300
MAX_POINTS_PER_PAGE = 20000


def _fraction(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError
    return round(float(value), 4)


def _clean_mark(mark: Any) -> dict[str, Any]:
    if not isinstance(mark, dict):
        raise ValueError
    if mark.get("kind") == "highlight":
        box = {key: _fraction(mark.get(key)) for key in ("x", "y", "w", "h")}
        if box["x"] + box["w"] > 1.0001 or box["y"] + box["h"] > 1.0001 or not box["w"] or not box["h"]:
            raise ValueError
        return {"kind": "highlight", **box}
    if mark.get("kind") == "ink":
        points = mark.get("points")
        if not isinstance(points, list) or not 2 <= len(points) <= MAX_POINTS_PER_PAGE:
            raise ValueError
        if not all(isinstance(point, list) and len(point) == 2 for point in points):
            raise ValueError
        return {"kind": "ink", "points": [[_fraction(x), _fraction(y)] for x, y in points]}
    raise ValueError


def clean_marks(marks: Any) -> list[dict[str, Any]]:
    """Highlights (a box) and ink strokes (points) in fractions of the page; anything else is refused whole."""
    if not isinstance(marks, list) or len(marks) > MAX_MARKS_PER_PAGE:
        raise Invalid(fields={"marks": f"a list of at most {MAX_MARKS_PER_PAGE} highlights or ink strokes"})
    try:
        cleaned = [_clean_mark(mark) for mark in marks]
    except (ValueError, TypeError):
        raise Invalid(fields={"marks": "each mark: {kind: highlight, x, y, w, h} or {kind: ink, "
                                        "points: [[x, y], ...]}, in fractions of the page (0 to 1)"}) from None
    if sum(len(mark.get("points", ())) for mark in cleaned) > MAX_POINTS_PER_PAGE:
        raise Invalid(fields={"marks": f"at most {MAX_POINTS_PER_PAGE} ink points on a page"})
    return cleaned


def save_annotations(document: Document, *, page: int, marks: Any, actor: User) -> tuple[list[dict[str, Any]], Any]:
    """Replace the caller's private highlights and ink on a page (an empty list removes them); returns the
    marks kept and when. The audit record counts the marks, never where they are."""
    pages = document.current_version.pages if document.current_version else 0
    if page < 1 or page > max(pages, 1):
        raise Invalid(fields={"page": f"between 1 and {pages}"})
    cleaned = clean_marks(marks)
    now = utcnow()
    with write_transaction():
        row = db.session.scalar(select(PageAnnotations).where(PageAnnotations.document_id == document.id,
                                                              PageAnnotations.user_id == actor.id,
                                                              PageAnnotations.page == page))
        if not cleaned and row is not None:
            db.session.delete(row)
        elif cleaned:
            if row is None:
                row = PageAnnotations(document_id=document.id, user_id=actor.id, page=page)
                db.session.add(row)
            row.marks = cleaned
            row.updated_at = now
        audit.record(actor, "annotations.saved", document, {"page": page, "marks": len(cleaned)})
    return cleaned, now


def annotations_of(document: Document, user: User) -> list[PageAnnotations]:
    """The user's own marks on the document, page by page (nobody else's)."""
    return list(db.session.scalars(select(PageAnnotations).where(PageAnnotations.document_id == document.id,
                                                                 PageAnnotations.user_id == user.id)
                                   .order_by(PageAnnotations.page)))


def badge(document: Document, user: User) -> dict[str, Any]:
    """``new`` when never opened; ``changed`` (with the pages) when a newer version exists than the last opened."""
    last = db.session.scalar(select(ReaderCopy.version_number).where(ReaderCopy.document_id == document.id,
                                                                     ReaderCopy.user_id == user.id)
                             .order_by(ReaderCopy.version_number.desc()).limit(1))
    return badge_after(document, last)


def badge_after(document: Document, last: int | None) -> dict[str, Any]:
    """``badge`` given the last version opened (None: never opened)."""
    current = document.current_version
    if current is None:
        return {"state": None, "changed_pages": []}
    if last is None:
        return {"state": "new", "changed_pages": []}
    if last < current.number:
        pages: set[int] = set()
        for version in document.versions:
            if version.number > last:
                pages.update(version.changed_pages)
        return {"state": "changed", "changed_pages": sorted(pages)}
    return {"state": None, "changed_pages": []}
