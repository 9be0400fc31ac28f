"""Pages: the secretariat's notice editor and task tracker, the member's task list (writes go through the API)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ecabinet.auth import service as auth_service
from ecabinet.auth.models import Role, User
from ecabinet.web import label, register_labels
from meetings.access import get_meeting_for
from meetings.notices import pdf, rules, schemas, service
from meetings.notices.schemas import TASK_STATUSES

web = Blueprint("notices_web", __name__, static_folder="static", static_url_path="/static/notices")


def register_page_labels() -> None:
    """The labels the pages show for this package's codes (``label`` in ecabinet.web), given by init_app."""
    register_labels("task_status", {"open": _l("Not started"), "in_progress": _l("In progress"), "done": _l("Done"),
                                    "overdue": _l("Overdue")})
    register_labels("task_action", {"progress": _l("Progress reported"), "complete": _l("Marked done"),
                                    "reopen": _l("Reopened")})
    register_labels("notice_status", {"draft": _l("Draft"), "issued": _l("Issued")})


def home_section(user: User) -> dict[str, Any]:
    """"My follow-up tasks" on the home page; the secretariat's links to the tracker."""
    tasks = service.list_tasks(user, mine=not user.is_secretariat)
    on = service.today()
    open_tasks = [t for t in tasks if t.status != "done"][:8]
    actions = [{"url": url_for("notices_web.tasks_page"), "label": _("All follow-up tasks")}]
    if user.is_secretariat:
        actions.append({"url": url_for("notices_web.notices_page"), "label": _("Conclusion notices")})
    return {"title": _("Follow-up tasks") if user.is_secretariat else _("My follow-up tasks"),
            "items": [{"url": url_for("notices_web.tasks_page") + f"#task-{t.id}", "title": t.description[:120],
                       "subtitle": f"{t.notice.number_symbol} · {pdf.owner_body(schemas.dump_task(t, on=on)['owner'])}"
                                   f" · {pdf.deadline_text(t.deadline.isoformat())}",
                       "badge": label(rules.shown_status(t.status, t.deadline, on), "task_status"),
                       "urgent": rules.is_overdue(t.status, t.deadline, on)}
                      for t in open_tasks],
            "empty": _("No follow-up tasks."), "actions": actions}


@web.get("/tasks")
@login_required
def tasks_page() -> str:
    """The member's own tasks; for the secretariat, the tracker of every task, filtered by owner and state."""
    on = service.today()
    status = request.args.get("status")
    chosen = status if status in TASK_STATUSES else None
    owner = request.args.get("owner", type=int) if current_user.is_secretariat else None
    tasks = [schemas.dump_task(t, on=on, history=True)
             for t in service.list_tasks(current_user, status=chosen, owner_user_id=owner)]
    owners = []
    if current_user.is_secretariat:
        owners = [u for u in auth_service.active_users(by_name=True) if u.has_role(Role.MEMBER)]
    return render_template("notices/tasks.html", tasks=tasks, statuses=TASK_STATUSES, chosen=chosen, owner=owner,
                           owners=owners, secretariat=current_user.is_secretariat, deadline_text=pdf.deadline_text,
                           owner_body=pdf.owner_body)


@web.get("/notices")
@login_required
def notices_page() -> str:
    notices = [schemas.dump_notice(n) for n in service.notices_for(current_user)]
    return render_template("notices/list.html", notices=notices)


@web.get("/meetings/<int:meeting_id>/notice")
@login_required
def meeting_notice_page(meeting_id: int) -> Any:
    """The meeting's notice: the editor for the secretariat (creating the draft from here), read-only otherwise."""
    meeting = get_meeting_for(current_user, meeting_id)
    notice = next(iter(service.notices_for(current_user, meeting)), None)
    members = []
    if current_user.is_secretariat:
        members = [u for u in auth_service.active_users(by_name=True) if u.has_role(Role.MEMBER)]
    shown = schemas.dump_notice(notice) if notice else None
    return render_template("notices/notice.html", meeting=meeting, notice=shown,
                           members=members, secretariat=current_user.is_secretariat,
                           deadline_text=pdf.deadline_text, owner_body=pdf.owner_body,
                           concluded=str(meeting.status) in ("closed", "archived"))
