"""Quorum and majority: two thirds of ALL members present; more than half of ALL members agree."""

from __future__ import annotations

import pytest

from meetings.live.rules import quorum_reached, quorum_required, vote_result


@pytest.mark.parametrize(("total", "required"), [(1, 1), (2, 2), (3, 2), (26, 18), (27, 18), (28, 19), (0, 0)])
def test_quorum_is_two_thirds_of_all_members_rounded_up(total, required):
    assert quorum_required(total) == required


@pytest.mark.parametrize(("present", "total", "reached"), [(17, 27, False), (18, 27, True), (27, 27, True),
                                                          (0, 0, False), (18, 26, True), (17, 26, False)])
def test_quorum_boundary(present, total, reached):
    assert quorum_reached(present, total) is reached


@pytest.mark.parametrize(("agree", "disagree", "abstain", "total", "passed"), [
    (14, 0, 0, 27, True),    # more than half of all 27
    (13, 0, 14, 27, False),  # 13 is not more than half of 27, whatever the others did
    (10, 2, 0, 12, True),
    (6, 0, 0, 12, False),    # exactly half is not a majority
    (15, 1, 0, 28, True),
    (14, 0, 0, 28, False),
])
def test_majority_counts_against_all_members(agree, disagree, abstain, total, passed):
    assert vote_result(agree=agree, disagree=disagree, abstain=abstain, total_members=total,
                       chair_choice=None).passed is passed


@pytest.mark.parametrize(("chair_choice", "passed", "decided"), [("agree", True, True), ("disagree", False, True),
                                                                  ("abstain", False, False), (None, False, False)])
def test_a_tie_follows_the_chair(chair_choice, passed, decided):
    result = vote_result(agree=13, disagree=13, abstain=0, total_members=26, chair_choice=chair_choice)
    assert result.tie and result.passed is passed and result.decided_by_chair is decided


def test_not_voted_counts_the_absent():
    result = vote_result(agree=3, disagree=1, abstain=1, total_members=9, chair_choice=None)
    assert result.not_voted == 4 and not result.passed
