"""Task states: where each action may start, and when a task counts as overdue. No database here."""

from __future__ import annotations

import enum
from datetime import date, datetime

from ecabinet.errors import Conflict
from ecabinet.pdf import to_vn_time
from meetings.notices.models import TaskStatus

OVERDUE = "overdue"


class TaskAction(enum.StrEnum):
    PROGRESS = "progress"
    COMPLETE = "complete"
    REOPEN = "reopen"


def next_status(current: TaskStatus, action: TaskAction) -> TaskStatus:
    """The state after ``action``, or Conflict naming why the task is not where the action starts."""
    if action == TaskAction.PROGRESS:
        if current == TaskStatus.DONE:
            raise Conflict("task_done")
        return TaskStatus.IN_PROGRESS
    if action == TaskAction.COMPLETE:
        if current == TaskStatus.DONE:
            raise Conflict("task_already_done")
        return TaskStatus.DONE
    if current != TaskStatus.DONE:
        raise Conflict("task_not_done")
    # a reopened task was worked on already: it goes back to "in progress", not to "open"
    return TaskStatus.IN_PROGRESS


def may_act(action: TaskAction, *, is_owner: bool, is_secretariat: bool) -> bool:
    """The owner reports progress; the secretariat, which tracks tasks until done, also closes and reopens."""
    if action == TaskAction.PROGRESS:
        return is_owner or is_secretariat
    return is_secretariat


def hanoi_today(now: datetime) -> date:
    return to_vn_time(now).date()


def is_overdue(status: TaskStatus | str, deadline: date, today: date) -> bool:
    """Unfinished after its deadline day (the deadline day itself still counts as on time)."""
    return status != TaskStatus.DONE and today > deadline


def shown_status(status: TaskStatus | str, deadline: date, today: date) -> str:
    return OVERDUE if is_overdue(status, deadline, today) else str(status)
