"""An in-session vote under contention, on a real `serve`: every member fires several casts at once
while the chair closes the vote in the middle of them. One vote per member, nothing counted after the
close, the tally equal to what was recorded, and the event stream and audit chain whole."""

from __future__ import annotations

import random
import signal
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from ecabinet import audit
from ecabinet.auth.models import User
from ecabinet.database import db
from ecabinet.realtime import MeetingEvent
from meetings.live.models import Vote, VoteParticipation
from tests.conftest import issue_token
from tests.live.harness import Http, ServerProcess
from tests.live.scenario import published_meeting

pytestmark = pytest.mark.slow
CASTS_PER_MEMBER = 3


@pytest.mark.parametrize("secret", [False, True], ids=["named", "secret"])
def test_concurrent_casts_racing_the_close_count_each_member_once(app, cast, database_url, tmp_path, secret):
    scenario = published_meeting(cast, extra_members=20, present=True)
    meeting_id = scenario.meeting.id
    members = [cast.chair, cast.member_a, cast.member_b,
               *db.session.scalars(sa.select(User).where(User.username.like("minister%"))).all()]
    tokens = {member.id: issue_token(member) for member in members}
    server = ServerProcess(tmp_path, database_url).start()
    try:
        chair = Http(server.url, tokens[cast.chair.id])
        assert chair.post(f"/meetings/{meeting_id}/session/start").status_code == 200
        opened = chair.post(f"/meetings/{meeting_id}/votes", json={"question": "Thông qua dự thảo Nghị định?",
                                                                  "secret": secret})
        assert opened.status_code == 201, opened.text
        vote_id = opened.json()["id"]
        jobs = [(member.id, choice) for member in members
                for choice in random.Random(member.id).choices(["agree", "disagree", "abstain"], k=CASTS_PER_MEMBER)]
        random.Random(2026).shuffle(jobs)

        def cast_one(job: tuple[int, str]) -> tuple[int, int, str | None]:
            response = Http(server.url, tokens[job[0]]).post(f"/votes/{vote_id}/cast", json={"choice": job[1]})
            code = None if response.status_code == 201 else response.json()["error"]["code"]
            return job[0], response.status_code, code

        with ThreadPoolExecutor(max_workers=12) as pool:
            first = [pool.submit(cast_one, job) for job in jobs[:len(jobs) // 2]]
            closing = pool.submit(chair.post, f"/votes/{vote_id}/close")
            rest = [pool.submit(cast_one, job) for job in jobs[len(jobs) // 2:]]
            outcomes = [future.result() for future in first + rest]
            closed = closing.result()
        assert closed.status_code == 200, closed.text
    finally:
        server.stop(signal.SIGKILL)

    accepted = [member_id for member_id, status, _ in outcomes if status == 201]
    assert len(accepted) == len(set(accepted)), "a member's vote was counted twice"
    assert {(status, code) for _, status, code in outcomes if status != 201} <= {(409, "already_voted"),
                                                                                 (409, "vote_closed")}
    db.session.rollback()
    vote = db.session.get(Vote, vote_id)
    recorded = db.session.scalars(sa.select(VoteParticipation).where(VoteParticipation.vote_id == vote_id)).all()
    assert sorted(p.user_id for p in recorded) == sorted(accepted)
    assert all(p.cast_at <= vote.closed_at for p in recorded)
    assert vote.agree + vote.disagree + vote.abstain == len(recorded)
    assert closed.json()["agree"] + closed.json()["disagree"] + closed.json()["abstain"] == len(recorded)
    if secret:
        assert all(p.choice is None for p in recorded)
    else:
        assert vote.agree == sum(p.choice == "agree" for p in recorded)
    assert sorted(vote.entitled_user_ids) == sorted(tokens)

    events = db.session.scalars(sa.select(MeetingEvent).where(MeetingEvent.meeting_id == meeting_id)
                                .order_by(MeetingEvent.seq)).all()
    assert [event.seq for event in events] == list(range(1, len(events) + 1))
    kinds = [event.type for event in events]
    assert kinds.count("vote.cast") == len(recorded)
    assert kinds[-1] == "vote.closed"  # no cast was recorded after the close
    assert audit.verify() is None
