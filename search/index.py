"""Keeping the index current: rows are rewritten in the flush that changes their source.

An ``after_flush`` listener (installed by ``search.init_app``) asks the registered sources
(``search.sources``) which of their things the flush wrote and has them rewrite their entries with
Core statements on the same connection, so the index commits or rolls back with the change itself.
The domains' services stay unaware of search.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy import inspect, select
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.orm import Session

from ecabinet import storage
from ecabinet.auth.models import Confidentiality
from ecabinet.database import listen, utcnow
from search import text
from search.models import FTS_TABLE, EntryKind, SearchEntry
from search.sources import SearchSource, sources

entries = SearchEntry.__table__


def _changed(obj: Any, names: tuple[str, ...]) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def _after_flush(session: Session, flush_context: Any) -> None:
    if not has_app_context():
        return
    registered = sources()
    things: dict[SearchSource, set[Hashable]] = {}
    gone: list[sa.ColumnElement[bool]] = []
    for source in registered:
        for obj in session.deleted:
            if type(obj) in source.watched:
                condition = source.gone(obj)
                if condition is not None:
                    gone.append(condition)
                elif (thing := source.touched(obj)) is not None:
                    things.setdefault(source, set()).add(thing)
        for obj in list(session.new) + list(session.dirty):
            names = source.watched.get(type(obj))
            if names is None or (obj not in session.new and not _changed(obj, names)):
                continue
            if (thing := source.touched(obj)) is not None:
                things.setdefault(source, set()).add(thing)
    if not (gone or things):
        return
    connection = session.connection()
    for condition in gone:
        delete(connection, condition)
    for source, keys in things.items():
        for thing in keys:
            source.write(connection, session, thing)


def install() -> None:
    """Keep the index in step with each flush, on every session (from search.init_app)."""
    listen(Session, "after_flush", _after_flush)


def pdf_text(sha256: str) -> str:
    """The text of a stored PDF, for a source indexing files."""
    return _stored_pdf_text(str(current_app.config["DATA_DIR"]), sha256)


@functools.lru_cache(maxsize=64)
def _stored_pdf_text(data_dir: str, sha256: str) -> str:
    """Versions are immutable and content-addressed, so the text of a sha256 never changes."""
    try:
        data = storage.get(sha256)
    except FileNotFoundError:
        return ""
    return text.pdf_text(data)


def put(connection: sa.Connection, kind: EntryKind, object_id: int, *, title: str, body: str,
         meeting_id: int | None = None, agenda_item_id: int | None = None,
         confidentiality: Confidentiality | str = Confidentiality.NORMAL) -> None:
    """Insert or rewrite the row of (kind, object_id) and its engine-specific text index."""
    title = title[:500]
    body = body[:text.MAX_TEXT_CHARS]
    values: dict[str, Any] = {"meeting_id": meeting_id, "agenda_item_id": agenda_item_id, "title": title, "body": body,
              "confidentiality": str(confidentiality), "updated_at": utcnow()}
    folded_title, folded_body = text.index_text(title), text.index_text(body)
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        simple = sa.cast("simple", REGCONFIG)
        # setweight takes a "char" label, which a bound VARCHAR does not match: hence the literals
        values["vector"] = (sa.func.setweight(sa.func.to_tsvector(simple, folded_title), sa.literal_column("'A'"))
                            .op("||")(sa.func.setweight(sa.func.to_tsvector(simple, folded_body),
                                                        sa.literal_column("'B'"))))
    key = (entries.c.kind == str(kind)) & (entries.c.object_id == object_id)
    entry_id = connection.scalar(select(entries.c.id).where(key))
    if entry_id is None:
        entry_id = connection.scalar(entries.insert().values(kind=str(kind), object_id=object_id, **values)
                                     .returning(entries.c.id))
    else:
        connection.execute(entries.update().where(entries.c.id == entry_id).values(**values))
    if not postgres:
        connection.execute(sa.text(f"DELETE FROM {FTS_TABLE} WHERE rowid = :id"), {"id": entry_id})  # noqa: S608 (the table name is our constant)
        connection.execute(sa.text(f"INSERT INTO {FTS_TABLE} (rowid, title, body) VALUES (:id, :title, :body)"),  # noqa: S608 (the table name is our constant)
                           {"id": entry_id, "title": folded_title, "body": folded_body})


def delete(connection: sa.Connection, condition: sa.ColumnElement[bool]) -> None:
    ids: list[int] = list(connection.scalars(select(entries.c.id).where(condition)))
    if not ids:
        return
    connection.execute(entries.delete().where(entries.c.id.in_(ids)))
    if connection.dialect.name != "postgresql":
        connection.execute(sa.text(f"DELETE FROM {FTS_TABLE} WHERE rowid IN :ids")  # noqa: S608 (the table name is our constant)
                           .bindparams(sa.bindparam("ids", expanding=True)), {"ids": ids})


def rebuild(session: Session) -> int:
    """Empty the index and fill it again from every registered source; the row count.

    Precondition: inside ``write_transaction()``.
    """
    connection = session.connection()
    connection.execute(entries.delete())
    if connection.dialect.name != "postgresql":
        connection.execute(sa.text(f"DELETE FROM {FTS_TABLE}"))  # noqa: S608 (the table name is our constant)
    for source in sources():
        source.rebuild(connection, session)
    return int(connection.scalar(select(sa.func.count()).select_from(entries)) or 0)


def is_empty(session: Session) -> bool:
    return session.scalar(select(entries.c.id).limit(1)) is None
