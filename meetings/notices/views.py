"""/api/v1 conclusion notices and follow-up tasks: parse → access → service → serialize."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import Response
from flask_login import current_user, login_required

from ecabinet.idempotency import idempotent
from meetings.access import get_meeting_for
from meetings.notices import schemas, service
from meetings.notices.schemas import (
    NewTaskIn,
    NoticeIn,
    NoticePatch,
    ProgressIn,
    TaskNoteIn,
    TaskQuery,
)

api = APIBlueprint("notices_api", __name__, url_prefix="/api/v1", tag="Conclusion notices and tasks")


@api.post("/meetings/<int:meeting_id>/notices")
@api.input(NoticeIn, arg_name="body")
@api.doc(responses={201: "the notice (draft)", 403: "secretariat only", 409: "meeting not closed, or already noticed"})
@login_required
@idempotent
def create_notice(meeting_id: int, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The secretariat drafts the meeting's conclusion notice, with follow-up tasks."""
    meeting = get_meeting_for(current_user, meeting_id)
    return schemas.dump_notice(service.create_notice(meeting, **body, actor=current_user)), 201


@api.get("/meetings/<int:meeting_id>/notices")
@login_required
def meeting_notices(meeting_id: int) -> dict[str, Any]:
    """The meeting's notice, when the caller may see it (drafts: the secretariat)."""
    meeting = get_meeting_for(current_user, meeting_id)
    return {"notices": [schemas.dump_notice(n) for n in service.notices_for(current_user, meeting)]}


@api.get("/notices")
@login_required
def list_notices() -> dict[str, Any]:
    """Every notice the caller may see, newest first."""
    return {"notices": [schemas.dump_notice(n) for n in service.notices_for(current_user)]}


@api.get("/notices/<int:notice_id>")
@login_required
def get_notice(notice_id: int) -> dict[str, Any]:
    return schemas.dump_notice(service.get_notice_for(current_user, notice_id))


@api.patch("/notices/<int:notice_id>")
@api.input(NoticePatch, arg_name="body")
@login_required
def edit_notice(notice_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """The secretariat edits a draft: the intro, and/or the whole task list."""
    notice = service.get_notice_for(current_user, notice_id)
    return schemas.dump_notice(service.edit_notice(notice, intro=body.get("intro"), tasks=body.get("tasks"),
                                                   actor=current_user))


@api.post("/notices/<int:notice_id>/tasks")
@api.input(NewTaskIn, arg_name="body")
@login_required
@idempotent
def add_task(notice_id: int, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The secretariat adds one follow-up task to a draft."""
    notice = service.get_notice_for(current_user, notice_id)
    return schemas.dump_task(service.add_task(notice, body, actor=current_user)), 201


@api.post("/notices/<int:notice_id>/issue")
@login_required
def issue_notice(notice_id: int) -> dict[str, Any] | tuple[dict[str, Any], int]:
    """Number, sign with the Government Office's key and validate; owners are notified of their tasks.
    Under four eyes: 202 with the request another member of the secretariat approves (/api/v1/approvals)."""
    notice = service.get_notice_for(current_user, notice_id)
    request = service.request_issue(notice, actor=current_user)
    if request is not None:
        return {"approval_request": request.as_dict()}, 202
    return schemas.dump_notice(service.issue_notice(notice, actor=current_user))


@api.get("/notices/<int:notice_id>/pdf")
@login_required
def notice_pdf(notice_id: int) -> Response:
    """The signed notice; for a draft (the secretariat only), an unsigned preview."""
    notice = service.get_notice_for(current_user, notice_id)
    name = (f"thong-bao-ket-luan-{notice.year}-{notice.number:02d}.pdf" if notice.number
            else f"du-thao-tb-{notice.id}.pdf")
    return Response(service.notice_pdf(notice), mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "private, no-store"})


@api.get("/tasks")
@api.input(TaskQuery, location="query", arg_name="query")
@login_required
def list_tasks(query: dict[str, Any]) -> dict[str, Any]:
    """``?mine=1``: the caller's tasks. The secretariat tracks every task (filters: status, owner, meeting)."""
    on = service.today()
    return {"tasks": [schemas.dump_task(t, on=on) for t in service.list_tasks(current_user, **query)]}


@api.get("/tasks/<int:task_id>")
@login_required
def get_task(task_id: int) -> dict[str, Any]:
    return schemas.dump_task(service.get_task_for(current_user, task_id), history=True)


@api.post("/tasks/<int:task_id>/progress")
@api.input(ProgressIn, arg_name="body")
@login_required
def report_progress(task_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """The owner reports progress with a note (open → in progress)."""
    task = service.get_task_for(current_user, task_id)
    return schemas.dump_task(service.report_progress(task, note=body["note"], actor=current_user), history=True)


@api.post("/tasks/<int:task_id>/done")
@api.input(TaskNoteIn, arg_name="body")
@login_required
def complete_task(task_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """The secretariat marks the task done."""
    task = service.get_task_for(current_user, task_id)
    return schemas.dump_task(service.complete_task(task, note=body["note"], actor=current_user), history=True)


@api.post("/tasks/<int:task_id>/reopen")
@api.input(TaskNoteIn, arg_name="body")
@login_required
def reopen_task(task_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """The secretariat reopens a done task."""
    task = service.get_task_for(current_user, task_id)
    return schemas.dump_task(service.reopen_task(task, note=body["note"], actor=current_user), history=True)
