"""write_transaction sees the latest committed state: what was read before it is read again when another
connection may have changed it, and only then; its broadcasts run right after the commit, before the
objects are expired; after it, the objects are read afresh."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from ecabinet import audit
from ecabinet.auth.models import User
from ecabinet.database import after_commit, db, write_transaction
from tests.conftest import issue_token
from tests.live.scenario import published_meeting


@contextmanager
def user_reads() -> Iterator[list[str]]:
    """The statements that read the users table while the block runs."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM users" in statement:
            seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note)


def rename_elsewhere(user_id: int, full_name: str) -> None:
    """Another connection (another process, a concurrent request) commits a change."""
    with db.engine.begin() as connection:
        connection.execute(sa.update(User).where(User.id == user_id).values(full_name=full_name))


def read_in_a_snapshot(user_id: int) -> User:
    db.session.remove()
    user = db.session.get_one(User, user_id)
    assert user.full_name  # read: the session's snapshot holds it
    return user


def test_a_change_committed_after_the_read_is_seen_in_the_write(app, cast):
    user_id = cast.member_a.id
    user = read_in_a_snapshot(user_id)
    rename_elsewhere(user_id, "Trần Đức Long (đổi tên)")
    with write_transaction():
        assert user.full_name == "Trần Đức Long (đổi tên)"


def test_an_unchanged_read_is_not_read_again_on_sqlite(app, cast):
    user = read_in_a_snapshot(cast.member_a.id)
    with user_reads() as reads, write_transaction():
        assert user.full_name == "Trần Đức Long"
    # PostgreSQL reads at each statement, not from a snapshot: what was read before the lock is read again
    assert len(reads) == (0 if db.engine.dialect.name == "sqlite" else 1)


def test_the_broadcasts_run_on_the_committed_objects_before_they_are_read_again(app, cast):
    user_id = cast.member_a.id
    user = read_in_a_snapshot(user_id)
    seen: list[tuple[str, set[str]]] = []
    with write_transaction():
        user.title = "Bộ trưởng"
        after_commit(lambda: seen.append((user.title, set(sa.inspect(user).expired_attributes))))
    assert seen == [("Bộ trưởng", set())]  # nothing had to be read again before the broadcast
    rename_elsewhere(user_id, "Đổi tên sau")
    assert user.full_name == "Đổi tên sau"  # expired after the broadcasts: read afresh


def test_the_caller_remembered_by_the_login_is_read_again_in_the_write(app, cast, client):
    scenario = published_meeting(cast, present=True)
    meeting_id, item_id, chair_id = scenario.meeting.id, scenario.items[0].id, cast.chair.id
    headers = {"Authorization": f"Bearer {issue_token(cast.chair)}"}
    assert client.post(f"/api/v1/meetings/{meeting_id}/session/start", headers=headers).status_code == 200
    # renamed behind the app's back: the remembered login still holds the old name
    with db.engine.begin() as connection:
        connection.execute(sa.update(User).where(User.id == chair_id).values(username="thu_tuong"))
    db.session.remove()
    answer = client.post(f"/api/v1/meetings/{meeting_id}/agenda/{item_id}/activate", headers=headers)
    assert answer.status_code == 200
    last = db.session.scalars(sa.select(audit.AuditRecord).order_by(audit.AuditRecord.id.desc())).first()
    assert last is not None and last.action == "agenda.activated" and last.actor_label == "thu_tuong"
