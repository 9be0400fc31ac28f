"""Meeting pages for tablets and the secretariat (the data comes from the JSON API; writes go through it too)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ecabinet.auth.models import Role, User
from ecabinet.database import db
from meetings import access
from meetings.schemas import dump_meeting, shown

web = Blueprint("meetings_web", __name__)

STATUS_LABELS = {"draft": "Bản nháp", "published": "Đã phát hành", "in_session": "Đang họp",
                 "closed": "Đã kết thúc", "archived": "Đã lưu trữ"}
ROLE_LABELS = {"member": "Thành viên", "delegate": "Người được ủy quyền", "guest": "Đại biểu mời"}


def home_section(user: User) -> dict[str, Any]:
    """"My meetings" on the home page."""
    meetings = access.visible_meetings(user)[:8]
    actions = [{"url": url_for("meetings_web.meetings_page"), "label": _("All meetings")}]
    return {"title": _("My meetings"),
            "items": [{"url": url_for("meetings_web.meeting_page", meeting_id=m.id), "title": m.title,
                       "subtitle": f"{shown(m.starts_at)[:16].replace('T', ' ')} · {m.location}",  # type: ignore[index]
                       "badge": STATUS_LABELS.get(str(m.status), str(m.status))} for m in meetings],
            "empty": _("No meetings yet."), "actions": actions}


@web.get("/meetings")
@login_required
def meetings_page() -> str:
    users = []
    if current_user.is_secretariat:
        users = list(db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)))
    return render_template("meetings/list.html", meetings=access.visible_meetings(current_user), users=users,
                           labels=STATUS_LABELS, shown=shown)


@web.get("/meetings/<int:meeting_id>")
@login_required
def meeting_page(meeting_id: int) -> str:
    meeting = access.get_meeting_for(current_user, meeting_id)
    data = dump_meeting(meeting, current_user)
    users = []
    paper = None
    if current_user.is_secretariat:
        from documents.service import paper_saved

        users = [u for u in db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id))
                 if not u.has_role(Role.ADMIN)]
        paper = paper_saved(meeting)
    return render_template("meetings/meeting.html", meeting=meeting, data=data, users=users, paper=paper,
                           labels=STATUS_LABELS, role_labels=ROLE_LABELS,
                           may_position=access.may_take_position(meeting, current_user))
