"""The session record a draft is drawn from reads a fixed number of queries, however long the session."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from ecabinet.auth.models import Role, User
from ecabinet.database import db, utcnow
from meetings.live.models import SpeakerRequest, SpeakerStatus, Vote, VoteParticipation, VoteStatus
from meetings.minutes.service import session_record
from meetings.models import AgendaItem, Meeting, Participant, ParticipantRole
from tests.conftest import make_user


def _record_with_queries(meeting_id: int, secretary_id: int) -> tuple[dict, int]:
    db.session.remove()  # a fresh session, as a request has: nothing already in the identity map
    meeting, secretary = db.session.get(Meeting, meeting_id), db.session.get(User, secretary_id)
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        record = session_record(meeting, secretary)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return record, len(statements)


def test_more_items_votes_and_members_add_no_queries(closed_session, cast):
    meeting_id = closed_session.meeting_id
    _, before = _record_with_queries(meeting_id, cast.secretary.id)
    newcomer = make_user("member_c", roles=[Role.MEMBER], full_name="Vũ Thị Mai", title="Bộ trưởng Bộ Nội vụ")
    db.session.add(Participant(meeting_id=meeting_id, user_id=newcomer.id, role=ParticipantRole.MEMBER,
                               checked_in_at=utcnow()))
    item = AgendaItem(meeting_id=meeting_id, position=3, title="Nghị quyết phiên họp", presenter="Văn phòng Chính phủ")
    db.session.add(item)
    db.session.flush()
    at = utcnow()  # after the fixture's session: these votes come last
    db.session.add(SpeakerRequest(meeting_id=meeting_id, agenda_item_id=item.id, user_id=newcomer.id,
                                  status=SpeakerStatus.FINISHED, requested_at=at, granted_at=at,
                                  finished_at=at + timedelta(seconds=40)))
    for question, item_id in (("Thông qua Nghị quyết?", item.id), ("Bổ sung nội dung?", closed_session.items[0].id)):
        vote = Vote(meeting_id=meeting_id, agenda_item_id=item_id, question=question, status=VoteStatus.CLOSED,
                    opened_at=at, closed_at=at + timedelta(minutes=1), agree=2, disagree=1,
                    result={"agree": 2, "disagree": 1, "abstain": 0, "not_voted": 1, "total_members": 4,
                            "passed": False})
        db.session.add(vote)
        db.session.flush()
        db.session.add_all(VoteParticipation(vote_id=vote.id, user_id=user_id, choice=choice, cast_at=at)
                           for user_id, choice in ((cast.chair.id, "agree"), (cast.member_a.id, "agree"),
                                                   (newcomer.id, "disagree")))
    db.session.commit()

    record, after = _record_with_queries(meeting_id, cast.secretary.id)

    assert after == before
    last = record["items"][-1]
    assert [s["full_name"] for s in last["speakers"]] == ["Vũ Thị Mai"]
    assert last["votes"][0]["names"] == [{"full_name": "Phạm Minh Quang", "choice": "agree"},
                                         {"full_name": "Trần Đức Long", "choice": "agree"},
                                         {"full_name": "Vũ Thị Mai", "choice": "disagree"}]
    first_votes = record["items"][0]["votes"]
    assert [v["question"] for v in first_votes] == ["Thông qua dự án Luật?", "Bổ sung nội dung?"]
    assert [n["full_name"] for n in first_votes[0]["names"]] == ["Trần Đức Long", "Phạm Minh Quang"]
    assert [d["version"] for d in record["items"][0]["documents"]] == [2]
    assert "Vũ Thị Mai" in [p["full_name"] for p in record["present"]]
