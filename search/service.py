"""Search across meetings, agenda items, dossiers, conclusions and ballots, as the caller may see them.

The database ranks the candidates inside a coarse scope built from the domains' access rules (the
caller's meetings, a guest's items, readable levels, the caller's ballots: each registered source's
``scope``); each candidate is then checked again with those rules themselves (``visible``) before it
is shown, so the index can never widen access.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import REGCONFIG

from ecabinet import audit
from ecabinet.auth.models import User
from ecabinet.database import db, write_transaction
from ecabinet.errors import Invalid
from search import index, text
from search.models import FTS_TABLE, EntryKind, SearchEntry
from search.sources import source_of, sources

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
    scopes = [scope for source in sources() if (scope := source.scope(user)) is not None]
    return sa.or_(*scopes) if scopes else None


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
    """What each source's checks look at, loaded in a few queries per source."""
    loaded: list[object] = []
    for source in sources():
        if mine := [entry for entry in entries if entry.kind in source.kinds]:
            loaded += source.preload(mine)
    return loaded


def _visible(entry: SearchEntry, user: User) -> bool:
    """The domains' own rules, object by object."""
    return source_of(entry.kind).visible(entry, user)


def _result(entry: SearchEntry, terms: text.Terms) -> Result:
    kind = EntryKind(entry.kind)
    url = source_of(kind).url(entry)
    pieces = text.highlight(entry.body, terms) if entry.body else []
    if not any(hit for _, hit in pieces):
        pieces = text.highlight(entry.title, terms)
    return Result(kind=str(kind), id=entry.object_id, meeting_id=entry.meeting_id,
                  agenda_item_id=entry.agenda_item_id, title=entry.title, pieces=pieces, url=url)


def reindex(*, actor: User | None) -> int:
    """Rebuild the whole index (after a restore, or for data from before the search tables); the row count."""
    with write_transaction():
        count = index.rebuild(db.session())
        audit.record(actor, "search.reindexed", None, {"entries": count},
                     actor_label=None if actor else "cli")
    return count


def reindex_if_empty() -> int:
    """Fill an empty index when there is something to index (``init`` on an existing database)."""
    has_content = any(source.has_content(db.session()) for source in sources())
    if not has_content or not index.is_empty(db.session()):
        return 0
    return reindex(actor=None)


def context(results: list[Result]) -> dict[tuple[str, int], dict[str, Any]]:
    """Each result's title and time on the search page (a meeting's date, a ballot's deadline)."""
    shown: dict[tuple[str, int], dict[str, Any]] = {}
    for source in sources():
        if mine := [result for result in results if result.kind in source.kinds]:
            shown.update(source.context(mine))
    return shown
