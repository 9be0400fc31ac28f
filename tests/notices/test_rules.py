"""Task states and the overdue rule, exhaustively (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ecabinet.errors import Conflict
from meetings.notices.models import TaskStatus
from meetings.notices.rules import (
    TaskAction,
    hanoi_today,
    is_overdue,
    may_act,
    next_status,
    shown_status,
)

OPEN, WORKING, DONE = TaskStatus.OPEN, TaskStatus.IN_PROGRESS, TaskStatus.DONE


@pytest.mark.parametrize(("current", "action", "expected"), [
    (OPEN, TaskAction.PROGRESS, WORKING), (WORKING, TaskAction.PROGRESS, WORKING),
    (DONE, TaskAction.PROGRESS, "task_done"),
    (OPEN, TaskAction.COMPLETE, DONE), (WORKING, TaskAction.COMPLETE, DONE),
    (DONE, TaskAction.COMPLETE, "task_already_done"),
    (OPEN, TaskAction.REOPEN, "task_not_done"), (WORKING, TaskAction.REOPEN, "task_not_done"),
    (DONE, TaskAction.REOPEN, WORKING),
])
def test_transitions(current, action, expected):
    if isinstance(expected, TaskStatus):
        assert next_status(current, action) == expected
    else:
        with pytest.raises(Conflict) as refused:
            next_status(current, action)
        assert refused.value.code == expected


@pytest.mark.parametrize(("action", "owner", "secretariat", "allowed"), [
    (action, owner, secretariat, (action == TaskAction.PROGRESS and owner) or secretariat)
    for action in TaskAction for owner in (False, True) for secretariat in (False, True)])
def test_who_may_act(action, owner, secretariat, allowed):
    assert may_act(action, is_owner=owner, is_secretariat=secretariat) is allowed


@pytest.mark.parametrize(("status", "today", "overdue"), [
    (OPEN, date(2026, 12, 14), False), (OPEN, date(2026, 12, 15), False), (OPEN, date(2026, 12, 16), True),
    (WORKING, date(2026, 12, 16), True), (DONE, date(2026, 12, 16), False), (DONE, date(2027, 6, 1), False)])
def test_overdue_from_the_day_after_the_deadline(status, today, overdue):
    assert is_overdue(status, date(2026, 12, 15), today) is overdue
    assert shown_status(status, date(2026, 12, 15), today) == ("overdue" if overdue else str(status))


def test_the_day_is_counted_in_hanoi():
    # 17:00 UTC is midnight in Hanoi (UTC+7)
    assert hanoi_today(datetime(2026, 12, 15, 16, 59, tzinfo=UTC)) == date(2026, 12, 15)
    assert hanoi_today(datetime(2026, 12, 15, 17, 0, tzinfo=UTC)) == date(2026, 12, 16)
