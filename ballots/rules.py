"""The tally of an opinion ballot: pure functions, no database."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

AGREE, DISAGREE, OTHER = "agree", "disagree", "other"
POLICIES = ("not_counted", "agree")


def passes(agree: int, total_members: int) -> bool:
    """A matter passes with MORE THAN HALF OF ALL members agreeing (Law on Government Organization)."""
    return total_members > 0 and 2 * agree > total_members


def tally(question_ids: Sequence[int], answers: Iterable[Sequence[Mapping[str, Any]]], total_members: int,
          policy: str = "not_counted") -> list[dict[str, Any]]:
    """Per question: counts of each choice, non-answers, and whether it passed under ``policy``."""
    if policy not in POLICIES:
        raise ValueError(f"unknown non-answer policy {policy!r}")
    counts = {qid: {AGREE: 0, DISAGREE: 0, OTHER: 0} for qid in question_ids}
    for member_answers in answers:
        for answer in member_answers:
            if answer["question_id"] in counts and answer["choice"] in (AGREE, DISAGREE, OTHER):
                counts[answer["question_id"]][answer["choice"]] += 1
    result = []
    for qid in question_ids:
        c = counts[qid]
        answered = c[AGREE] + c[DISAGREE] + c[OTHER]
        no_answer = max(total_members - answered, 0)
        approving = c[AGREE] + (no_answer if policy == "agree" else 0)
        result.append({"question_id": qid, "agree": c[AGREE], "disagree": c[DISAGREE], "other": c[OTHER],
                       "no_answer": no_answer, "total_members": total_members,
                       "passed": passes(approving, total_members)})
    return result
