"""The tally: more than half of ALL members, and the non-answer policy."""

import pytest

from ballots import rules


def _answers(*choices: str) -> list[list[dict[str, object]]]:
    return [[{"question_id": 1, "choice": c}] for c in choices]


@pytest.mark.parametrize(("agree", "total", "passed"), [
    (0, 0, False), (1, 1, True), (1, 2, False), (2, 3, True), (2, 4, False), (3, 4, True),
    (13, 26, False), (14, 26, True), (14, 27, True), (13, 27, False),
])
def test_more_than_half_of_all_members(agree: int, total: int, passed: bool) -> None:
    assert rules.passes(agree, total) is passed


def test_counts_and_non_answers() -> None:
    [row] = rules.tally([1], _answers("agree", "agree", "disagree", "other"), 7)
    assert row == {"question_id": 1, "agree": 2, "disagree": 1, "other": 1, "no_answer": 3,
                   "total_members": 7, "passed": False}


@pytest.mark.parametrize(("policy", "passed"), [("not_counted", False), ("agree", True)])
def test_non_answer_policy(policy: str, passed: bool) -> None:
    [row] = rules.tally([1], _answers("agree", "agree", "disagree"), 5, policy)
    assert (row["no_answer"], row["passed"]) == (2, passed)


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="policy"):
        rules.tally([1], [], 3, "silence")


def test_questions_are_counted_separately() -> None:
    answers = [[{"question_id": 1, "choice": "agree"}, {"question_id": 2, "choice": "disagree"}]] * 3
    rows = rules.tally([1, 2], answers, 4)
    assert [(r["agree"], r["disagree"], r["passed"]) for r in rows] == [(3, 0, True), (0, 3, False)]
