"""The only writer of conclusion notices and their follow-up tasks.

Each call runs in one write transaction with one audit record; task and notice events go to the
owners' own streams and to the streams of the secretariat cleared for the meeting's level
(``ecabinet.realtime``), sent after the commit. Notices never write to the meeting:
an archived meeting stays exactly as it was signed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from cryptography import x509
from flask import current_app
from sqlalchemy import Select, func, select

from ecabinet import audit, keystore, notifications, realtime, storage
from ecabinet.auth import approvals
from ecabinet.auth.access import require_secretariat
from ecabinet.auth.models import Confidentiality, Role, User
from ecabinet.database import db, utcnow, write_transaction
from ecabinet.errors import AppError, Conflict, Forbidden, Invalid, NotFound
from ecabinet.signing import SignatureRejected, sign_pdf, validate_signed_pdf
from meetings.access import participant_of
from meetings.models import Meeting, MeetingStatus, ParticipantRole
from meetings.notices import pdf, rules
from meetings.notices.models import (
    ConclusionNotice,
    NoticeStatus,
    NoticeTask,
    TaskStatus,
    TaskUpdate,
)
from meetings.notices.rules import TaskAction
from meetings.notices.schemas import dump_notice_record, dump_task

log = logging.getLogger(__name__)
_AUDIT_ACTIONS = {TaskAction.PROGRESS: "task.progress_reported", TaskAction.COMPLETE: "task.completed",
                  TaskAction.REOPEN: "task.reopened"}


class SigningFailed(AppError):
    status = 500
    default_code = "notice_signing_failed"


def _publish(event: str, data: dict[str, Any], meeting: Meeting, owner_ids: Sequence[int]) -> None:
    """To each owner's own stream and each secretary's cleared for the meeting's level, once per person."""
    for user_id in dict.fromkeys([*realtime.secretariat_ids(meeting.confidentiality), *owner_ids]):
        realtime.publish_to_user(user_id, event, data)


def today() -> date:
    return rules.hanoi_today(utcnow())


# --- visibility --------------------------------------------------------------------------------------

def _owns_a_task(notice: ConclusionNotice, user: User) -> bool:
    return any(task.owner_user_id == user.id for task in notice.tasks)


def may_see_notice(notice: ConclusionNotice, meeting: Meeting, user: User) -> bool:
    """Drafts: the secretariat. Issued: also the chair, the meeting's members and delegates, and task owners.

    Guests are left out: they see only the items they were invited to, and a notice concludes every item.
    """
    if not user.may_read(meeting.confidentiality):
        return False
    if user.is_secretariat:
        return True
    if notice.status != NoticeStatus.ISSUED:
        return False
    if meeting.chair_id == user.id or _owns_a_task(notice, user):
        return True
    participant = participant_of(meeting, user)
    return participant is not None and participant.role != ParticipantRole.GUEST


def _meeting_of(notice: ConclusionNotice) -> Meeting:
    meeting = db.session.get(Meeting, notice.meeting_id)
    assert meeting is not None
    return meeting


def get_notice_for(user: User, notice_id: int) -> ConclusionNotice:
    """The notice, or NotFound when unknown or not visible to ``user``."""
    notice = db.session.get(ConclusionNotice, notice_id)
    if notice is None or not may_see_notice(notice, _meeting_of(notice), user):
        raise NotFound()
    return notice


def notices_for(user: User, meeting: Meeting | None = None) -> list[ConclusionNotice]:
    query = select(ConclusionNotice).order_by(ConclusionNotice.id.desc())
    if meeting is not None:
        query = query.where(ConclusionNotice.meeting_id == meeting.id)
    return [n for n in db.session.scalars(query) if may_see_notice(n, _meeting_of(n), user)]


def notice_of(meeting: Meeting) -> ConclusionNotice | None:
    return db.session.scalar(select(ConclusionNotice).where(ConclusionNotice.meeting_id == meeting.id))


def may_see_task(task: NoticeTask, user: User) -> bool:
    """As its notice (the secretariat sees drafts' tasks too, at the meeting's level only)."""
    return may_see_notice(task.notice, _meeting_of(task.notice), user)


def get_task_for(user: User, task_id: int) -> NoticeTask:
    task = db.session.get(NoticeTask, task_id)
    if task is None or not may_see_task(task, user):
        raise NotFound()
    return task


# --- drafting -----------------------------------------------------------------------------------------

def _require_concluded(meeting: Meeting) -> None:
    # a notice is its own document: allowed after the archive, which it leaves untouched
    if meeting.status not in (MeetingStatus.CLOSED, MeetingStatus.ARCHIVED):
        raise Conflict("notice_meeting_not_closed")


def _require_draft(notice: ConclusionNotice) -> None:
    if notice.status != NoticeStatus.DRAFT:
        raise Conflict("notice_issued")


def _checked_tasks(meeting: Meeting, tasks: Sequence[dict[str, Any]], *, first: int = 0) -> list[dict[str, Any]]:
    """Each task's description, owner (an active member), agenda item (of this meeting) and deadline (not past)."""
    item_ids = {item.id for item in meeting.agenda}
    now = today()
    out = []
    for index, task in enumerate(tasks, first):
        where = f"tasks[{index}]"
        description = (task.get("description") or "").strip()
        if not description:
            raise Invalid("task_description_required", fields={f"{where}.description": "required"})
        item_id = task.get("agenda_item_id")
        if item_id is not None and item_id not in item_ids:
            raise Invalid("task_item_invalid", fields={f"{where}.agenda_item_id": "not an item of this meeting"})
        owner = db.session.get(User, task["owner_user_id"])
        if owner is None or not owner.active or not owner.has_role(Role.MEMBER):
            raise Invalid("task_owner_invalid", fields={f"{where}.owner_user_id": "not an active member"})
        if not owner.may_read(meeting.confidentiality):
            raise Invalid("participant_not_cleared", fields={f"{where}.owner_user_id": "not cleared for the meeting"})
        if task["deadline"] < now:
            raise Invalid("task_deadline_past", fields={f"{where}.deadline": "before today"})
        out.append({"agenda_item_id": item_id, "description": description, "owner_user_id": owner.id,
                    "deadline": task["deadline"]})
    return out


def _add_tasks(notice: ConclusionNotice, checked: list[dict[str, Any]]) -> list[NoticeTask]:
    added = []
    for row in checked:
        task = NoticeTask(notice_id=notice.id, position=len(notice.tasks) + 1, **row)
        db.session.add(task)
        notice.tasks.append(task)
        added.append(task)
    db.session.flush()
    return added


def _task_audit(tasks: Sequence[NoticeTask]) -> list[dict[str, Any]]:
    return [{"id": t.id, "owner_user_id": t.owner_user_id, "deadline": t.deadline.isoformat(),
             "agenda_item_id": t.agenda_item_id, "description": t.description} for t in tasks]


def create_notice(meeting: Meeting, *, intro: str, tasks: Sequence[dict[str, Any]], actor: User) -> ConclusionNotice:
    """Draft the meeting's notice from its conclusions (closed or archived meetings only; one per meeting)."""
    require_secretariat(actor)
    with write_transaction():
        db.session.refresh(meeting)
        _require_concluded(meeting)
        if notice_of(meeting) is not None:
            raise Conflict("notice_exists")
        if not any((item.conclusion or "").strip() for item in meeting.agenda):
            raise Conflict("notice_no_conclusions")
        checked = _checked_tasks(meeting, tasks)
        notice = ConclusionNotice(meeting_id=meeting.id, intro=intro.strip(), created_by_id=actor.id)
        db.session.add(notice)
        db.session.flush()
        added = _add_tasks(notice, checked)
        audit.record(actor, "notice.created", notice, {"meeting_id": meeting.id, "intro": notice.intro,
                                                       "tasks": _task_audit(added)})
    return notice


def edit_notice(notice: ConclusionNotice, *, intro: str | None, tasks: Sequence[dict[str, Any]] | None,
                actor: User) -> ConclusionNotice:
    """Rewrite the draft's intro and/or replace its task list; an issued notice never changes."""
    require_secretariat(actor)
    with write_transaction():
        db.session.refresh(notice)
        _require_draft(notice)
        data: dict[str, Any] = {"meeting_id": notice.meeting_id}
        if intro is not None:
            notice.intro = data["intro"] = intro.strip()
        if tasks is not None:
            checked = _checked_tasks(_meeting_of(notice), tasks)
            notice.tasks.clear()
            db.session.flush()
            data["tasks"] = _task_audit(_add_tasks(notice, checked))
        notice.updated_at = utcnow()
        audit.record(actor, "notice.edited", notice, data)
    return notice


def add_task(notice: ConclusionNotice, task: dict[str, Any], *, actor: User) -> NoticeTask:
    """Add one follow-up task to a draft."""
    require_secretariat(actor)
    with write_transaction():
        db.session.refresh(notice)
        _require_draft(notice)
        (added,) = _add_tasks(notice, _checked_tasks(_meeting_of(notice), [task], first=len(notice.tasks)))
        notice.updated_at = utcnow()
        audit.record(actor, "notice.task_added", notice, {"meeting_id": notice.meeting_id,
                                                          "tasks": _task_audit([added])})
    return added


def preview_pdf(notice: ConclusionNotice) -> bytes:
    """An unsigned, unnumbered rendering of a draft for the secretariat to proofread."""
    return pdf.render_notice(dump_notice_record(notice, _meeting_of(notice)), number_symbol=None, at=utcnow()).pdf


def _next_number(year: int) -> int:
    # serialised by write_transaction: numbers have no gaps and no duplicates (Decree 30 Art. 15)
    highest = db.session.scalar(select(func.max(ConclusionNotice.number)).where(ConclusionNotice.year == year))
    return (highest or 0) + 1


def _office_certificate() -> x509.Certificate:
    cert = keystore.office_signer().signing_cert
    assert cert is not None  # build_signer always gives its certificate
    return x509.load_der_x509_certificate(cert.dump())


def issue_notice(notice: ConclusionNotice, *, actor: User) -> ConclusionNotice:
    """Number, render, sign with the Government Office's key and validate; then the notice is immutable.

    Signing runs inside the write transaction on purpose: the number, the signed PDF and the record
    commit together or not at all, so a failed signature leaves no gap in the year's numbering.
    """
    require_secretariat(actor)
    with write_transaction():
        db.session.refresh(notice)
        _require_draft(notice)
        meeting = _meeting_of(notice)
        db.session.refresh(meeting)
        _require_concluded(meeting)
        record = dump_notice_record(notice, meeting)
        if not any(item["conclusion"].strip() for item in record["items"]):
            raise Conflict("notice_no_conclusions")
        now = utcnow()
        year = rules.hanoi_today(now).year
        number = _next_number(year)
        symbol = f"{number:02d}/{pdf.SYMBOL}"
        built = pdf.render_notice(record, number_symbol=symbol, at=now)
        box = built.signature_boxes["office"]
        signed = sign_pdf(built.pdf, keystore.office_signer(), field_name=pdf.FIELD_NAME, box=box.rect,
                          page=box.page_index, reason=f"Ban hành Thông báo kết luận số {symbol}",
                          location=pdf.PLACE, signer_name_text=["Văn phòng Chính phủ", "Chính phủ"],
                          timestamper_url=current_app.config.get("TSA_URL"))
        unsigned_sha = hashlib.sha256(built.pdf).hexdigest()
        try:
            report = validate_signed_pdf(signed, trust_roots=keystore.trust_roots(),
                                         expected_first_revision_sha256=unsigned_sha,
                                         expected_signer=_office_certificate())
        except SignatureRejected as rejected:
            log.error("own signature on notice %s refused by validation: %s", notice.id, rejected.code)
            raise SigningFailed() from None
        storage.put(built.pdf)
        notice.signed_sha256 = storage.put(signed)
        notice.unsigned_sha256 = unsigned_sha
        notice.status = NoticeStatus.ISSUED
        notice.content = record
        notice.year, notice.number = year, number
        notice.issued_at = notice.updated_at = now
        notice.issued_by_id = actor.id
        audit.record(actor, "notice.issued", notice, {
            "meeting_id": meeting.id, "number": symbol, "sha256": notice.signed_sha256,
            "signer_subject": report.subject, "level": report.level, "task_ids": [t.id for t in notice.tasks]})
        payload = {"notice_id": notice.id, "meeting_id": meeting.id, "number": symbol, "issued_at": now.isoformat(),
                   "task_ids": [t.id for t in notice.tasks]}
        _publish("notice.issued", payload, meeting, [t.owner_user_id for t in notice.tasks])
        _notify_issued(notice, meeting)
    return notice


def _notify_issued(notice: ConclusionNotice, meeting: Meeting) -> None:
    """The meeting's members and delegates, the chair and the owners hear of the notice; each owner of each task."""
    readers = [meeting.chair_id, *(p.user_id for p in meeting.participants if p.role != ParticipantRole.GUEST),
               *(t.owner_user_id for t in notice.tasks)]
    notifications.notify(readers, "notice.issued", ("notice", notice.id), path=f"/meetings/{meeting.id}/notice",
                         title=f"{notice.number_symbol} — {meeting.title}", level=meeting.confidentiality)
    for task in notice.tasks:
        _notify_task(task, meeting, "task.assigned")


def _notify_task(task: NoticeTask, meeting: Meeting, kind: str, *, key: str | None = None) -> int:
    """Tell the task's owner; the number of notifications made (0 when ``key`` was used already)."""
    return len(notifications.notify([task.owner_user_id], kind, ("task", task.id), path=f"/tasks#task-{task.id}",
                                    title=task.description[:200], level=meeting.confidentiality,
                                    data={"deadline": task.deadline.isoformat()}, key=key))


#: a task is "due soon" this many days before its deadline day
DUE_SOON_DAYS = 2


def sweep_task_deadlines(now: datetime) -> int:
    """Tell owners once when a task falls due soon and once when it is overdue (the outbox worker's sweep).

    The key carries the deadline: a task whose deadline moves is announced again for the new one.
    """
    on = rules.hanoi_today(now)
    rows = db.session.execute(
        select(NoticeTask, Meeting).join(ConclusionNotice, NoticeTask.notice_id == ConclusionNotice.id)
        .join(Meeting, Meeting.id == ConclusionNotice.meeting_id)
        .where(ConclusionNotice.status == NoticeStatus.ISSUED, NoticeTask.status != TaskStatus.DONE,
               NoticeTask.deadline <= on + timedelta(days=DUE_SOON_DAYS))).all()
    made = 0
    for task, meeting in rows:
        kind = "task.overdue" if rules.is_overdue(task.status, task.deadline, on) else "task.due_soon"
        key = f"{kind}:{task.id}:{task.deadline.isoformat()}"
        if notifications.already_sent(key, task.owner_user_id):
            continue  # told on an earlier pass: no write transaction for nothing
        with write_transaction():
            made += _notify_task(task, meeting, kind, key=key)
    return made


def request_issue(notice: ConclusionNotice, *, actor: User) -> Any:
    """Under four eyes (``ECABINET_FOUR_EYES`` has ``notice.issue``): record the request for another member
    of the secretariat to approve, and issue nothing yet; None when issuing needs no second person."""
    if not approvals.guarded(["notice.issue"]):
        return None
    require_secretariat(actor)
    _require_draft(notice)
    _require_concluded(_meeting_of(notice))
    return approvals.request_approval("notice.issue", target_id=notice.id, payload={"meeting_id": notice.meeting_id},
                                      kinds=["notice.issue"], actor=actor)


def issue_approved(request: Any, approver: User) -> ConclusionNotice:
    notice = db.session.get(ConclusionNotice, request.target_id)
    if notice is None:
        raise NotFound()
    return issue_notice(notice, actor=approver)


def notice_pdf(notice: ConclusionNotice) -> bytes:
    """The signed PDF of an issued notice; a draft preview otherwise (the caller checks who may see drafts)."""
    if notice.signed_sha256:
        return storage.get(notice.signed_sha256)
    return preview_pdf(notice)


# --- follow-up tasks -----------------------------------------------------------------------------------

def _update_task(task: NoticeTask, action: TaskAction, note: str, *, actor: User) -> NoticeTask:
    """Move a task of an issued notice: the owner reports progress, the secretariat completes or reopens."""
    if not rules.may_act(action, is_owner=task.owner_user_id == actor.id, is_secretariat=actor.is_secretariat):
        raise Forbidden("secretariat_only" if action != TaskAction.PROGRESS else "task_owner_only")
    note = note.strip()
    if action == TaskAction.PROGRESS and not note:
        raise Invalid("task_note_required", fields={"note": "required"})
    with write_transaction():
        db.session.refresh(task)
        if task.notice.status != NoticeStatus.ISSUED:
            raise Conflict("notice_not_issued")
        before = task.status
        task.status = rules.next_status(before, action)
        now = utcnow()
        task.updated_at = now
        task.done_at = now if task.status == TaskStatus.DONE else None
        if note:
            task.last_note = note
        db.session.add(TaskUpdate(task_id=task.id, actor_id=actor.id, action=str(action), from_status=str(before),
                                  to_status=str(task.status), note=note, at=now))
        db.session.flush()
        audit.record(actor, _AUDIT_ACTIONS[action], task, {"notice_id": task.notice_id, "from": str(before),
                                                           "to": str(task.status), "note": note})
        _publish("task.updated", dump_task(task), _meeting_of(task.notice), [task.owner_user_id])
    return task


def report_progress(task: NoticeTask, *, note: str, actor: User) -> NoticeTask:
    """The owner (or the secretariat for them) reports progress: open → in progress, with a note."""
    return _update_task(task, TaskAction.PROGRESS, note, actor=actor)


def complete_task(task: NoticeTask, *, note: str, actor: User) -> NoticeTask:
    """The secretariat marks the task done."""
    return _update_task(task, TaskAction.COMPLETE, note, actor=actor)


def reopen_task(task: NoticeTask, *, note: str, actor: User) -> NoticeTask:
    """The secretariat reopens a done task (back to in progress)."""
    return _update_task(task, TaskAction.REOPEN, note, actor=actor)


def _status_filter(query: Select[Any], status: str, on: date) -> Select[Any]:
    if status == rules.OVERDUE:
        return query.where(NoticeTask.status != TaskStatus.DONE, NoticeTask.deadline < on)
    query = query.where(NoticeTask.status == status)
    return query if status == TaskStatus.DONE else query.where(NoticeTask.deadline >= on)


def list_tasks(user: User, *, mine: bool = False, status: str | None = None, owner_user_id: int | None = None,
               meeting_id: int | None = None, notice_id: int | None = None) -> list[NoticeTask]:
    """Tasks of issued notices, by deadline. Members only ever get their own; the secretariat filters all."""
    cleared = [str(level) for level in Confidentiality if user.may_read(level)]
    query = (select(NoticeTask).join(ConclusionNotice, NoticeTask.notice_id == ConclusionNotice.id)
             .join(Meeting, Meeting.id == ConclusionNotice.meeting_id)
             .where(ConclusionNotice.status == NoticeStatus.ISSUED, Meeting.confidentiality.in_(cleared))
             .order_by(NoticeTask.deadline, NoticeTask.id))
    if mine or not user.is_secretariat:
        query = query.where(NoticeTask.owner_user_id == user.id)
    if owner_user_id is not None:
        query = query.where(NoticeTask.owner_user_id == owner_user_id)
    if meeting_id is not None:
        query = query.where(ConclusionNotice.meeting_id == meeting_id)
    if notice_id is not None:
        query = query.where(NoticeTask.notice_id == notice_id)
    if status is not None:
        query = _status_filter(query, status, today())
    return list(db.session.scalars(query))
