"""What search knows of the domains: the sources each registers in its ``init_app``.

Search sits below the domains it indexes (meetings and ballots use search, never the reverse): a
domain describes its searchable things as a ``SearchSource`` and registers it with ``register``;
the index writer, the ranking and the pages ask the registered sources only.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session

from ecabinet.auth.models import User
from search.models import EntryKind, SearchEntry

_SOURCES = "search.sources"  # app.extensions key


class Found(Protocol):
    """A result as the search page shows it (``search.service.Result``)."""

    @property
    def kind(self) -> str: ...

    @property
    def id(self) -> int: ...

    @property
    def meeting_id(self) -> int | None: ...


class SearchSource(Protocol):
    """One domain's searchable things: how its rows become index entries and who may see them."""

    #: the kinds of entry this source writes and answers for
    kinds: tuple[EntryKind, ...]
    #: the models whose rows feed entries, each with the columns whose change rewrites them (none: any)
    watched: Mapping[type[Any], tuple[str, ...]]

    def touched(self, obj: Any) -> Hashable | None:
        """The thing whose entries a new, changed or deleted row of a watched model rewrites."""

    def gone(self, obj: Any) -> sa.ColumnElement[bool] | None:
        """The entries a deleted row takes with it (None: rewrite ``touched(obj)`` instead)."""

    def write(self, connection: sa.Connection, session: Session, thing: Hashable) -> None:
        """Rewrite the entries of ``thing`` (``search.index.put`` and ``delete``); nothing if it is gone."""

    def rebuild(self, connection: sa.Connection, session: Session) -> None:
        """Write the entries of every thing of this source (the index is empty)."""

    def has_content(self, session: Session) -> bool:
        """Whether there is anything to index at all."""

    def scope(self, user: User) -> sa.ColumnElement[bool] | None:
        """A superset (never wider than the access rules) of this source's entries ``user`` may see, as
        SQL over ``SearchEntry``; None for none."""

    def preload(self, entries: list[SearchEntry]) -> list[object]:
        """Load what ``visible`` looks at for these candidates in a few queries (held by the caller)."""

    def visible(self, entry: SearchEntry, user: User) -> bool:
        """The domain's own access rules, applied to the object behind one candidate."""

    def url(self, entry: SearchEntry) -> str:
        """The page that shows the entry's object in the browser UI."""

    def context(self, results: Sequence[Found]) -> dict[tuple[str, int], dict[str, Any]]:
        """Per (kind, object id): a title and a time (``when``; ``deadline``: whether it is one) that tell
        results apart on the search page."""


def register(app: Flask, source: SearchSource) -> None:
    """Make ``source``'s things searchable in ``app`` (from the domain's ``init_app``)."""
    app.extensions.setdefault(_SOURCES, []).append(source)


def sources(app: Flask | None = None) -> list[SearchSource]:
    registered: list[SearchSource] = (app or current_app).extensions.get(_SOURCES, [])
    return registered


def source_of(kind: str) -> SearchSource:
    return next(source for source in sources() if kind in source.kinds)
