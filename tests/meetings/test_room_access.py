"""Who may stay in a meeting's live room: the sweeper's check of a whole room at once must give each
user the answer of the one-by-one rule, on every database."""

from __future__ import annotations

import pytest

from meetings.access import may_see_meeting, users_who_may_see_meeting
from meetings.models import MeetingStatus
from tests.live.scenario import published_meeting


@pytest.mark.parametrize("status", [MeetingStatus.PUBLISHED, MeetingStatus.IN_SESSION, MeetingStatus.DRAFT])
def test_the_room_check_gives_each_user_the_answer_of_the_rule(cast, status):
    everyone = [cast.chair, cast.secretary, cast.member_a, cast.member_b, cast.delegate, cast.guest, cast.admin,
                cast.outsider]
    meeting = published_meeting(cast, status=status).meeting
    no_such_user = max(user.id for user in everyone) + 1000

    staying = users_who_may_see_meeting(meeting, {user.id for user in everyone} | {no_such_user})

    assert staying == {user.id for user in everyone if may_see_meeting(meeting, user)}
    assert cast.outsider.id not in staying and no_such_user not in staying
    assert {cast.chair.id, cast.secretary.id} <= staying
    participants = {cast.member_a.id, cast.member_b.id, cast.delegate.id, cast.guest.id}
    assert participants <= staying if status != MeetingStatus.DRAFT else not participants & staying


def test_a_room_of_one_participant_and_of_one_outsider(cast):
    meeting = published_meeting(cast).meeting

    assert users_who_may_see_meeting(meeting, {cast.member_a.id}) == {cast.member_a.id}
    assert users_who_may_see_meeting(meeting, {cast.outsider.id}) == set()
