"""The chair's commands in a room ask the database a fixed number of statements, whatever the room's size:
counted here, so that a change adding one (a re-read after the snapshot ended, a lazy load in a loop, a
second look-up of the same row) fails a test instead of slowing every command a room waits for
(bench/room50.py). Counted: every statement SQLAlchemy sends, the write transaction's BEGIN IMMEDIATE
included; below it, SQLite's own transaction control (a read's BEGIN, ending the read snapshot) is not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from ecabinet.database import db
from tests.conftest import issue_token
from tests.live.scenario import published_meeting

#: per engine: statements of each command, as a tablet would send it after its first request
EXPECTED = {
    "sqlite": {"activate": 11, "present": 11, "vote_open": 12, "vote_close": 13},
    "postgresql": {"activate": 12, "present": 12, "vote_open": 13, "vote_close": 15},
}


def _with_document(meeting_id: int, item_id: int, chair_id: int) -> int:
    from documents.models import Document, DocumentVersion

    document = Document(meeting_id=meeting_id, agenda_item_id=item_id, title="Tờ trình", created_by_id=chair_id)
    db.session.add(document)
    db.session.flush()
    db.session.add(DocumentVersion(document_id=document.id, number=1, sha256="0" * 64, size=1, pages=20,
                                   uploaded_by_id=chair_id))
    db.session.commit()
    return document.id


def _statements(call: Callable[[], Any]) -> tuple[Any, list[str]]:
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()))

    db.session.remove()  # the request starts from an empty session, as a served request does
    sa.event.listen(db.engine, "before_cursor_execute", note)
    try:
        answer = call()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note)
    return answer, seen


@pytest.mark.parametrize("members", [0, 20])
def test_each_chair_command_sends_the_same_few_statements_whatever_the_room(app, cast, client, members):
    scenario = published_meeting(cast, extra_members=members, present=True)
    meeting_id, items = scenario.meeting.id, [item.id for item in scenario.items]
    document_id = _with_document(meeting_id, items[0], cast.chair.id)
    headers = {"Authorization": f"Bearer {issue_token(cast.chair)}"}
    api = "/api/v1"
    assert client.post(f"{api}/meetings/{meeting_id}/session/start", headers=headers).status_code == 200
    vote: dict[str, int] = {}
    commands: dict[str, Callable[[], Any]] = {
        "activate": lambda: client.post(f"{api}/meetings/{meeting_id}/agenda/{items[0]}/activate", headers=headers),
        "present": lambda: client.post(f"{api}/meetings/{meeting_id}/present", headers=headers,
                                       json={"document_id": document_id, "page": 3}),
        "vote_open": lambda: client.post(f"{api}/meetings/{meeting_id}/votes", headers=headers,
                                         json={"question": "Thông qua?", "secret": False, "agenda_item_id": items[0]}),
        "vote_close": lambda: client.post(f"{api}/votes/{vote['id']}/close", headers=headers),
    }
    counts = {}
    for name, command in commands.items():
        answer, statements = _statements(command)
        assert answer.status_code in (200, 201), answer.get_data(as_text=True)
        if name == "vote_open":
            vote["id"] = answer.get_json()["id"]
        counts[name] = len(statements)
    assert counts == EXPECTED[db.engine.dialect.name]
