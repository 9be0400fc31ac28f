"""Opinion ballots (title, summary, questions) as search finds them."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ballots.models import Ballot, Question
from ballots.service import ballots_for, get_ballot_for
from ecabinet.auth.models import User
from ecabinet.database import db
from ecabinet.errors import NotFound
from search import index
from search.models import EntryKind, SearchEntry
from search.sources import Found

_E = SearchEntry.__table__.c


class BallotSearch:
    """``search.sources.SearchSource`` of the ballots package (registered in ``ballots.init_app``)."""

    kinds: tuple[EntryKind, ...] = (EntryKind.BALLOT,)
    watched: Mapping[type[Any], tuple[str, ...]] = {Ballot: ("title", "summary"), Question: ("text",)}

    def touched(self, obj: Any) -> Hashable | None:
        return obj.ballot_id if isinstance(obj, Question) else obj.id

    def gone(self, obj: Any) -> sa.ColumnElement[bool] | None:
        if isinstance(obj, Ballot):
            return (_E.kind == str(EntryKind.BALLOT)) & (_E.object_id == obj.id)
        return None  # a question removed: its ballot is rewritten

    def write(self, connection: sa.Connection, session: Session, thing: Hashable) -> None:
        ballot = session.get(Ballot, thing)
        if ballot is not None:
            _write_ballot(connection, session, ballot)

    def rebuild(self, connection: sa.Connection, session: Session) -> None:
        for ballot in session.scalars(select(Ballot).order_by(Ballot.id)).all():
            _write_ballot(connection, session, ballot)

    def has_content(self, session: Session) -> bool:
        return session.scalar(select(Ballot.id).limit(1)) is not None

    def scope(self, user: User) -> sa.ColumnElement[bool] | None:
        """The secretariat's all; anyone else's the ballots they receive (``ballots_for``)."""
        is_ballot = _E.kind == str(EntryKind.BALLOT)
        if user.is_secretariat:
            return is_ballot
        ballots = [ballot.id for ballot in ballots_for(user)]
        return is_ballot & _E.object_id.in_(ballots) if ballots else None

    def preload(self, entries: list[SearchEntry]) -> list[object]:
        return list(db.session.scalars(select(Ballot).where(Ballot.id.in_({e.object_id for e in entries}))
                                       .options(selectinload(Ballot.recipients))).all())

    def visible(self, entry: SearchEntry, user: User) -> bool:
        try:
            get_ballot_for(user, entry.object_id)
        except NotFound:
            return False
        return True

    def url(self, entry: SearchEntry) -> str:
        return url_for("ballots_web.ballot_page", ballot_id=entry.object_id)

    def context(self, results: Sequence[Found]) -> dict[tuple[str, int], dict[str, Any]]:
        shown: dict[tuple[str, int], dict[str, Any]] = {}
        for result in results:
            ballot = db.session.get(Ballot, result.id)
            if ballot is not None:
                shown[(result.kind, result.id)] = {"title": ballot.number, "when": ballot.deadline, "deadline": True}
        return shown


def _write_ballot(connection: sa.Connection, session: Session, ballot: Ballot) -> None:
    questions = session.scalars(select(Question.text).where(Question.ballot_id == ballot.id)
                                .order_by(Question.position))
    index.put(connection, EntryKind.BALLOT, ballot.id, title=ballot.title,
              body="\n".join([ballot.summary or "", *questions]).strip())
