"""Conclusion notices ("thông báo kết luận"): the signed notice of a meeting and the follow-up tasks it assigns."""

from flask import Flask
from flask_babel import lazy_gettext as _l

from ecabinet import errors, notifications
from ecabinet import web as core_web
from ecabinet.auth import approvals
from meetings.notices import (
    models,  # noqa: F401  (tables register with the metadata)
    service,
    views,
    web,
)

#: the error codes of this package, given to ecabinet.errors by init_app
MESSAGES = {
    "notice_meeting_not_closed": _l("A conclusion notice can be drawn up only after the session is closed."),
    "notice_exists": _l("This meeting already has a conclusion notice."),
    "notice_no_conclusions": _l("The meeting has no conclusions to announce yet."),
    "notice_issued": _l("The conclusion notice is issued and can no longer change."),
    "notice_not_issued": _l("The conclusion notice is not issued yet: its tasks cannot be updated."),
    "notice_signing_failed": _l("The signed conclusion notice could not be validated; nothing was recorded."),
    "task_description_required": _l("Describe the task."),
    "task_item_invalid": _l("The agenda item is not part of this meeting."),
    "task_owner_invalid": _l("The person responsible must be an active member of the Government."),
    "task_deadline_past": _l("The deadline cannot be before today."),
    "task_note_required": _l("Write a note about the progress."),
    "task_owner_only": _l("Only the person responsible for the task or the secretariat can report on it."),
    "task_done": _l("The task is done. The secretariat can reopen it."),
    "task_already_done": _l("The task is already done."),
    "task_not_done": _l("Only a finished task can be reopened."),
}


def init_app(app: Flask) -> None:
    """Register the notice and task routes, the pages and the home section (events: ``ecabinet.realtime``)."""
    errors.MESSAGES.update(MESSAGES)
    app.register_blueprint(views.api)
    app.register_blueprint(web.web)
    web.register_page_labels()
    approvals.register("notice.issue", service.issue_approved, may_decide=lambda user: user.is_secretariat)
    register_notification_kinds()
    notifications.register_sweep(service.sweep_task_deadlines)
    if web.home_section not in core_web.HOME_SECTIONS:
        core_web.HOME_SECTIONS.append(web.home_section)


def register_notification_kinds() -> None:
    """What is told about notices and their tasks (``ecabinet.notifications``)."""
    notifications.register_kind("notice.issued", label=_l("A conclusion notice of my meeting is issued"),
                                headline=_l("Conclusion notice issued: %(title)s"), order=50)
    notifications.register_kind("task.assigned", label=_l("A task is assigned to me"),
                                headline=_l("Task assigned to you: %(title)s"), order=51)
    notifications.register_kind("task.due_soon", label=_l("A task of mine falls due soon"),
                                headline=_l("Task due soon: %(title)s"), order=52)
    notifications.register_kind("task.overdue", label=_l("A task of mine is overdue"),
                                headline=_l("Task overdue: %(title)s"), order=53)
