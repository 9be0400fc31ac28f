"""Search across meetings, agenda items, dossiers, conclusions and ballots, as the caller may see them.

The database ranks the candidates inside a coarse scope built from the domains' access rules (the
caller's meetings, a guest's items, readable levels, the caller's ballots); each candidate is then
checked again with those rules themselves before it is shown, so the index can never widen access.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import url_for
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.orm import selectinload

from ballots.models import Ballot
from ballots.service import ballots_for, get_ballot_for
from documents import access as document_access
from documents.models import Document
from ecabinet import audit
from ecabinet.auth.models import Confidentiality, User
from ecabinet.database import db, write_transaction
from ecabinet.errors import Invalid, NotFound
from meetings import access as meeting_access
from meetings.models import Meeting, ParticipantRole
from search import text
from search.models import FTS_TABLE, EntryKind, SearchEntry

MAX_QUERY_CHARS = 200
MAX_RESULTS = 50
_TITLE_WEIGHT = 8.0  # a word in the title counts as much as eight in the body (FTS5 bm25 column weight)


@dataclass(frozen=True)
class Result:
    kind: str
    id: int
    meeting_id: int | None
    agenda_item_id: int | None
    title: str
    pieces: list[tuple[str, bool]]
    url: str

    @property
    def snippet(self) -> str:
        return text.plain(self.pieces)

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "id": self.id, "meeting_id": self.meeting_id,
                "agenda_item_id": self.agenda_item_id, "title": self.title, "snippet": self.snippet,
                "url": self.url}


def parse_query(query: str) -> text.Terms:
    """The words of a query; an empty, word-less or over-long query is refused (422)."""
    if len(query) > MAX_QUERY_CHARS:
        raise Invalid("search_query_too_long", fields={"q": f"at most {MAX_QUERY_CHARS} characters"})
    terms = text.Terms.parse(query)
    if not terms.words:
        raise Invalid("search_query_empty", fields={"q": "required"})
    return terms


def search(user: User, query: str, *, kind: str | None = None, limit: int = 20) -> list[Result]:
    """The best ``limit`` matches the caller may see, best first."""
    terms = parse_query(query)
    limit = max(1, min(limit, MAX_RESULTS))
    results: list[Result] = []
    scope = _scope(user)
    if scope is None:
        return []
    entries = _phrase_first(_ranked(terms, scope, kind, limit * 4 + 40), terms)
    loaded = _preload(entries)  # noqa: F841  (held so the checks below find the objects in the identity map)
    for entry in entries:
        if _visible(entry, user):
            results.append(_result(entry, terms))
            if len(results) == limit:
                break
    return results


def _phrase_first(entries: list[SearchEntry], terms: text.Terms) -> list[SearchEntry]:
    """The words as the phrase asked for come first (in the title, then in the text), each group in the
    database's order: "nghi dinh" puts "Nghị định 30" above a text that has "ổn định" and "nghị quyết"."""
    if len(terms.words) < 2:
        return entries

    def group(entry: SearchEntry) -> int:
        if text.has_phrase(entry.title, terms):
            return 0
        return 1 if entry.body and text.has_phrase(entry.body[:200_000], terms) else 2

    return sorted(entries, key=group)


def _scope(user: User) -> sa.ColumnElement[bool] | None:
    """A superset (never wider than the access rules) of what ``user`` may see, as SQL; None for nothing."""
    e = SearchEntry.__table__.c
    readable = [str(level) for level in Confidentiality if user.may_read(level)]
    level_ok = (e.kind != str(EntryKind.DOCUMENT)) | e.confidentiality.in_(readable)
    if user.is_secretariat:
        return level_ok
    full: list[int] = []
    guest_meetings: list[int] = []
    guest_items: list[int] = []
    for meeting in meeting_access.visible_meetings(user):
        participant = meeting_access.participant_of(meeting, user)
        if participant is not None and participant.role == ParticipantRole.GUEST and meeting.chair_id != user.id:
            guest_meetings.append(meeting.id)
            guest_items.extend(participant.agenda_item_ids or [])
        else:
            full.append(meeting.id)
    ballots = [b.id for b in ballots_for(user)]
    if not (full or guest_meetings or ballots):
        return None
    is_ballot = e.kind == str(EntryKind.BALLOT)
    return level_ok & sa.or_(
        is_ballot & e.object_id.in_(ballots),
        ~is_ballot & e.meeting_id.in_(full),
        (e.kind == str(EntryKind.MEETING)) & e.meeting_id.in_(guest_meetings),
        ~is_ballot & (e.kind != str(EntryKind.MEETING)) & e.meeting_id.in_(guest_meetings)
        & e.agenda_item_id.in_(guest_items),
    )


def _ranked(terms: text.Terms, scope: sa.ColumnElement[bool], kind: str | None, limit: int) -> list[SearchEntry]:
    query = select(SearchEntry).where(scope)
    if kind:
        query = query.where(SearchEntry.kind == kind)
    if db.session.get_bind().dialect.name == "postgresql":
        tsquery = sa.func.to_tsquery(sa.cast("simple", REGCONFIG), terms.tsquery())
        rank = sa.func.ts_rank(SearchEntry.vector, tsquery)
        query = query.where(SearchEntry.vector.op("@@")(tsquery)).order_by(rank.desc())
    else:
        fts = sa.table(FTS_TABLE, sa.column("rowid"))
        rank = sa.func.bm25(sa.literal_column(FTS_TABLE), _TITLE_WEIGHT, 1.0)
        query = (query.join(fts, fts.c.rowid == SearchEntry.id)
                 .where(sa.text(f"{FTS_TABLE} MATCH :match").bindparams(match=terms.fts5()))
                 .order_by(rank))
    return list(db.session.scalars(query.order_by(SearchEntry.updated_at.desc(), SearchEntry.id.desc())
                                   .limit(limit)))


def _preload(entries: list[SearchEntry]) -> list[object]:
    """Load the candidates' meetings (with participants), documents and ballots in three queries."""
    def ids(*kinds: EntryKind, attr: str = "object_id") -> set[int]:
        return {getattr(e, attr) for e in entries if e.kind in kinds and getattr(e, attr) is not None}

    meeting_ids = ids(*[k for k in EntryKind if k != EntryKind.BALLOT], attr="meeting_id")
    loaded: list[object] = []
    if meeting_ids:
        loaded += db.session.scalars(select(Meeting).where(Meeting.id.in_(meeting_ids))
                                     .options(selectinload(Meeting.participants))).all()
    if document_ids := ids(EntryKind.DOCUMENT):
        loaded += db.session.scalars(select(Document).where(Document.id.in_(document_ids))).all()
    if ballot_ids := ids(EntryKind.BALLOT):
        loaded += db.session.scalars(select(Ballot).where(Ballot.id.in_(ballot_ids))
                                     .options(selectinload(Ballot.recipients))).all()
    return loaded


def _visible(entry: SearchEntry, user: User) -> bool:
    """The domains' own rules, object by object."""
    if entry.kind == EntryKind.BALLOT:
        try:
            get_ballot_for(user, entry.object_id)
        except NotFound:
            return False
        return True
    meeting = db.session.get(Meeting, entry.meeting_id) if entry.meeting_id is not None else None
    if meeting is None or not meeting_access.may_see_meeting(meeting, user):
        return False
    if entry.kind == EntryKind.MEETING:
        return True
    if entry.kind == EntryKind.DOCUMENT:
        document = db.session.get(Document, entry.object_id)
        return (document is not None and document_access.may_list(document, user)
                and document_access.read_refusal(document, user) is None)
    return entry.agenda_item_id is not None and meeting_access.may_see_item(meeting, entry.agenda_item_id, user)


def _result(entry: SearchEntry, terms: text.Terms) -> Result:
    kind = EntryKind(entry.kind)
    if kind == EntryKind.BALLOT:
        url = url_for("ballots_web.ballot_page", ballot_id=entry.object_id)
    elif kind == EntryKind.DOCUMENT:
        url = url_for("documents_web.viewer", document_id=entry.object_id)
    elif kind == EntryKind.MEETING:
        url = url_for("meetings_web.meeting_page", meeting_id=entry.meeting_id)
    else:  # agenda items and conclusions are shown on the meeting page, each under its item
        url = url_for("meetings_web.meeting_page", meeting_id=entry.meeting_id) + (
            f"#item-{entry.agenda_item_id}" if entry.agenda_item_id else "")
    pieces = text.highlight(entry.body, terms) if entry.body else []
    if not any(hit for _, hit in pieces):
        pieces = text.highlight(entry.title, terms)
    return Result(kind=str(kind), id=entry.object_id, meeting_id=entry.meeting_id,
                  agenda_item_id=entry.agenda_item_id, title=entry.title, pieces=pieces, url=url)


def reindex(*, actor: User | None) -> int:
    """Rebuild the whole index (after a restore, or for data from before the search tables); the row count."""
    from search import index

    with write_transaction():
        count = index.rebuild(db.session())
        audit.record(actor, "search.reindexed", None, {"entries": count},
                     actor_label=None if actor else "cli")
    return count


def reindex_if_empty() -> int:
    """Fill an empty index when there is something to index (``init`` on an existing database)."""
    from search import index

    has_sources = any(db.session.scalar(select(model.id).limit(1)) is not None for model in (Meeting, Ballot))
    if not has_sources or not index.is_empty(db.session()):
        return 0
    return reindex(actor=None)
