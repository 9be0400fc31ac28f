"""Quorum and majority: two thirds of ALL members present; more than half of ALL members agree."""

from __future__ import annotations

import pytest

from meetings.live.rules import (
    consent_exclusion,
    is_present,
    quorum_reached,
    quorum_required,
    vote_result,
    voting_refusal,
)


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


@pytest.mark.parametrize(("role", "checked_in", "absent", "policy", "approved", "member_present", "refusal"), [
    ("member", True, False, False, False, False, None),
    ("member", False, False, False, False, False, "voter_not_checked_in"),
    ("member", False, True, False, False, False, "voter_recorded_absent"),
    ("guest", True, False, True, False, False, "not_entitled_to_vote"),
    ("delegate", True, False, False, True, False, "not_entitled_to_vote"),   # the policy says no
    ("delegate", True, False, True, False, False, "not_entitled_to_vote"),   # not approved by the chair
    ("delegate", True, False, True, True, True, "delegate_member_present"),
    ("delegate", False, False, True, True, False, "voter_not_checked_in"),
    ("delegate", True, False, True, True, False, None),
])
def test_only_members_present_vote_and_delegates_as_the_policy_says(role, checked_in, absent, policy, approved,
                                                                    member_present, refusal):
    assert voting_refusal(role=role, checked_in=checked_in, recorded_absent=absent, delegates_vote=policy,
                          delegate_approved=approved, represented_present=member_present) == refusal


@pytest.mark.parametrize(("checked_in", "absent", "present"), [(True, False, True), (False, False, False),
                                                               (False, True, False), (True, True, False)])
def test_present_means_checked_in_and_not_recorded_absent(checked_in, absent, present):
    assert is_present(checked_in=checked_in, recorded_absent=absent) is present


@pytest.mark.parametrize(("state", "reason"), [
    ({}, None),
    ({"marked": False}, "not_marked"),
    ({"adopted": True}, "adopted"),
    ({"activated": True}, "discussed"),
    ({"voted": True}, "voted"),
    ({"objected": True}, "objected"),
    ({"marked": False, "objected": True}, "not_marked"),
])
def test_the_consent_block_holds_only_marked_items_not_discussed_voted_or_objected(state, reason):
    facts = {"marked": True, "adopted": False, "activated": False, "voted": False, "objected": False, **state}
    assert consent_exclusion(**facts) == reason
