"""Pure rules of a Government session (Law on Government Organization; working regulation)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

SPEAKING_SECONDS_MIN = 30
SPEAKING_SECONDS_MAX = 3600


def quorum_required(total_members: int) -> int:
    """At least two thirds of ALL members must be present."""
    return -(-2 * total_members // 3)


def quorum_reached(present: int, total_members: int) -> bool:
    return total_members > 0 and present >= quorum_required(total_members)


@dataclass(frozen=True)
class VoteResult:
    agree: int
    disagree: int
    abstain: int
    not_voted: int
    total_members: int
    passed: bool
    tie: bool
    decided_by_chair: bool

    def as_dict(self) -> dict[str, int | bool]:
        return asdict(self)


def vote_result(*, agree: int, disagree: int, abstain: int, total_members: int,
                chair_choice: str | None) -> VoteResult:
    """More than half of ALL members must agree; on a tie the side the chair voted for wins.

    ``chair_choice`` is None when the chair did not vote or the vote is secret (then a tie cannot
    be broken without revealing the chair's choice, and the motion does not pass).
    """
    not_voted = max(total_members - agree - disagree - abstain, 0)
    tie = agree == disagree and agree > 0 and 2 * agree == total_members
    passed = 2 * agree > total_members
    decided_by_chair = False
    if tie and chair_choice in ("agree", "disagree"):
        passed = chair_choice == "agree"
        decided_by_chair = True
    return VoteResult(agree, disagree, abstain, not_voted, total_members, passed, tie, decided_by_chair)
