"""The search index: one row per searchable thing, derived from the domains' own tables.

The text is matched through an engine-specific index over the folded tokens: the ``vector`` column
(tsvector with a GIN index) on PostgreSQL, the FTS5 virtual table ``search_fts`` (rowid = entry id,
created by the migration) on SQLite, where ``vector`` stays NULL.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from alembic.autogenerate import compare as alembic_compare
from alembic.util import DispatchPriority, PriorityDispatchResult
from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from ecabinet.auth.models import Confidentiality
from ecabinet.database import Model, UTCDateTime, utcnow

FTS_TABLE = "search_fts"


class EntryKind(enum.StrEnum):
    MEETING = "meeting"
    AGENDA_ITEM = "agenda_item"
    DOCUMENT = "document"
    CONCLUSION = "conclusion"
    BALLOT = "ballot"


class SearchEntry(Model):
    """No foreign keys on purpose: the row is rewritten after the flush that changes (or deletes) its source."""

    __tablename__ = "search_entries"
    __table_args__ = (UniqueConstraint("kind", "object_id"),
                      Index("ix_search_entries_meeting_id", "meeting_id"),
                      Index("ix_search_entries_vector", "vector", postgresql_using="gin"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[EntryKind] = mapped_column(String(20))
    #: the id of the meeting, agenda item (agenda_item and conclusion), document or ballot
    object_id: Mapped[int]
    meeting_id: Mapped[int | None] = mapped_column(default=None)
    #: guests see only the entries of the items they are invited to
    agenda_item_id: Mapped[int | None] = mapped_column(default=None)
    #: the document's level; meetings, items and ballots follow their own visibility rules
    confidentiality: Mapped[Confidentiality] = mapped_column(String(20), default=Confidentiality.NORMAL)
    title: Mapped[str] = mapped_column(String(500))
    #: the original text (with diacritics), for snippets
    body: Mapped[str] = mapped_column(Text, default="")
    vector: Mapped[Any | None] = mapped_column(TSVECTOR().with_variant(Text(), "sqlite"), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<SearchEntry({self.id}, {self.kind} {self.object_id}): {self.title[:40]}>"


def _keep_fts_tables(autogen_context: Any, upgrade_ops: Any, schemas: Any) -> PriorityDispatchResult:
    """Autogenerate (and the migrations-match-models test) must not drop the FTS5 table and its
    shadow tables, which no model describes."""
    upgrade_ops.ops = [op for op in upgrade_ops.ops
                       if not (getattr(op, "table_name", "") or "").startswith(FTS_TABLE)]
    return PriorityDispatchResult.CONTINUE


# alembic copies this global registry into every autogenerate context (its plugin hook)
alembic_compare.comparators.dispatch_for("schema", qualifier="sqlite", priority=DispatchPriority.LAST)(
    _keep_fts_tables)
