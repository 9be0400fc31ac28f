"""Request shapes of the conclusion-notice and task API (they also feed the OpenAPI document)."""

from apiflask import Schema
from apiflask.fields import Boolean, Date, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range

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
