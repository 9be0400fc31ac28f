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


def is_present(*, checked_in: bool, recorded_absent: bool) -> bool:
    """Present means checked in and not recorded absent since (a member who left is absent)."""
    return checked_in and not recorded_absent


def voting_refusal(*, role: str, checked_in: bool, recorded_absent: bool, delegates_vote: bool,
                   delegate_approved: bool = False, represented_present: bool = False) -> str | None:
    """Why a participant may not vote now (an error code), or None when they may.

    Only members present vote; the chair votes as a member. A delegate votes only where the
    deployment's policy allows it (``DELEGATES_VOTE``), once the chair approved them, when present,
    and only while the member they stand in for is not present.
    """
    if role == "delegate":
        if not delegates_vote or not delegate_approved:
            return "not_entitled_to_vote"
        if represented_present:
            return "delegate_member_present"
    elif role != "member":
        return "not_entitled_to_vote"
    if recorded_absent:
        return "voter_recorded_absent"
    if not checked_in:
        return "voter_not_checked_in"
    return None


def consent_exclusion(*, marked: bool, adopted: bool, activated: bool, voted: bool, objected: bool) -> str | None:
    """Why an agenda item is not in the consent block (a reason code), or None when it is.

    The block holds only items the secretariat marked before the session, never one already taken up
    (activated) or put to a vote, and any member's objection or wish to speak takes an item out.
    """
    if not marked:
        return "not_marked"
    if adopted:
        return "adopted"
    if activated:
        return "discussed"
    if voted:
        return "voted"
    if objected:
        return "objected"
    return None
