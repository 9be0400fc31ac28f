"""Request shapes of the conclusion-notice and task API (they also feed the OpenAPI document), and the
``dump_`` serializers of notices and tasks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from apiflask import Schema
from apiflask.fields import Boolean, Date, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range

from ecabinet.auth.models import User
from ecabinet.database import utcnow
from meetings.models import Meeting
from meetings.notices import rules
from meetings.notices.models import ConclusionNotice, NoticeTask

TASK_STATUSES = ["open", "in_progress", "done", "overdue"]


class TaskIn(Schema):
    agenda_item_id = Integer(load_default=None, allow_none=True)
    description = String(required=True, validate=Length(1, 5000))
    #: the member (minister) answering for the task; the API shows their organisation
    owner_user_id = Integer(required=True)
    #: a calendar day, e.g. "2026-12-31"
    deadline = Date(required=True)


class NewTaskIn(TaskIn):
    """One task added to a draft (its own name in the OpenAPI document: TaskIn is also nested in NoticeIn)."""


class NoticeIn(Schema):
    intro = String(load_default="", validate=Length(max=50_000))
    tasks = List(Nested(TaskIn), load_default=list, validate=Length(max=200))


class NoticePatch(Schema):
    intro = String(validate=Length(max=50_000))
    #: replaces the whole task list of the draft
    tasks = List(Nested(TaskIn), validate=Length(max=200))


class TaskQuery(Schema):
    mine = Boolean(load_default=False)
    status = String(validate=OneOf(TASK_STATUSES))
    owner_user_id = Integer(validate=Range(min=1))
    meeting_id = Integer(validate=Range(min=1))
    notice_id = Integer(validate=Range(min=1))


class ProgressIn(Schema):
    note = String(required=True, validate=Length(1, 5000))


class TaskNoteIn(Schema):
    note = String(load_default="", validate=Length(max=5000))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _person(user: User) -> dict[str, Any]:
    return {"id": user.id, "full_name": user.full_name, "title": user.title, "organisation": user.organisation}


def dump_notice_record(notice: ConclusionNotice, meeting: Meeting) -> dict[str, Any]:
    """What the notice says: the meeting, its conclusions as they stand now, the intro and the tasks (JSON-ready)."""
    return {
        "meeting": {"id": meeting.id, "title": meeting.title, "kind": str(meeting.kind), "location": meeting.location,
                    "starts_at": _iso(meeting.starts_at), "started_at": _iso(meeting.started_at),
                    "closed_at": _iso(meeting.closed_at), "confidentiality": str(meeting.confidentiality)},
        "chair": {"user_id": meeting.chair_id, "full_name": meeting.chair.full_name, "title": meeting.chair.title},
        "intro": notice.intro,
        "items": [{"id": item.id, "position": item.position, "title": item.title, "presenter": item.presenter,
                   "conclusion": item.conclusion or ""} for item in meeting.agenda],
        "tasks": [{"id": t.id, "position": t.position, "agenda_item_id": t.agenda_item_id,
                   "description": t.description, "owner": _person(t.owner), "deadline": t.deadline.isoformat()}
                  for t in notice.tasks],
    }


def dump_task(task: NoticeTask, *, history: bool = False, on: date | None = None) -> dict[str, Any]:
    """A task as the API shows it; ``status`` is the shown one (``overdue`` when past its deadline on ``on``,
    Hanoi's today by default)."""
    on = on or rules.hanoi_today(utcnow())
    out: dict[str, Any] = {"id": task.id, "notice_id": task.notice_id, "meeting_id": task.notice.meeting_id,
           "number": task.notice.number_symbol, "position": task.position, "agenda_item_id": task.agenda_item_id,
           "description": task.description, "owner": _person(task.owner), "owner_user_id": task.owner_user_id,
           "deadline": task.deadline.isoformat(), "status": rules.shown_status(task.status, task.deadline, on),
           "work_status": str(task.status), "overdue": rules.is_overdue(task.status, task.deadline, on),
           "last_note": task.last_note, "updated_at": _iso(task.updated_at), "done_at": _iso(task.done_at)}
    if history:
        out["history"] = [{"action": u.action, "from": u.from_status, "to": u.to_status, "note": u.note,
                           "at": _iso(u.at), "actor": {"id": u.actor_id, "full_name": u.actor.full_name}}
                          for u in task.updates]
    return out


def dump_notice(notice: ConclusionNotice) -> dict[str, Any]:
    """A notice as the API shows it: an issued one with the conclusions it was signed with, a draft with
    the meeting's as they stand now."""
    meeting = notice.meeting
    record = notice.content or dump_notice_record(notice, meeting)
    on = rules.hanoi_today(utcnow())
    return {"id": notice.id, "meeting_id": notice.meeting_id, "meeting_title": meeting.title,
            "meeting_status": str(meeting.status), "status": str(notice.status), "number": notice.number_symbol,
            "intro": notice.intro, "items": record["items"],
            "tasks": [dump_task(t, on=on) for t in notice.tasks],
            "created_at": _iso(notice.created_at), "updated_at": _iso(notice.updated_at),
            "issued_at": _iso(notice.issued_at), "sha256": notice.signed_sha256,
            "pdf_url": f"/api/v1/notices/{notice.id}/pdf"}
