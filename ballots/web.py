"""Tablet pages: the member's inbox and answer form, the secretariat's editor and live board."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ballots import service
from ecabinet.auth.models import Role, User
from ecabinet.database import db
from ecabinet.pdf import format_vn_datetime

web = Blueprint("ballots_web", __name__)


def home_section(user: User) -> dict[str, Any]:
    """The home page's ballot inbox, with deadlines."""
    items = []
    for ballot in service.ballots_for(user)[:10]:
        badge = {"draft": _("Draft"), "issued": _("Deadline") + " " + format_vn_datetime(ballot.deadline),
                 "closed": _("Closed")}[ballot.status]
        items.append({"url": url_for("ballots_web.ballot_page", ballot_id=ballot.id), "title": ballot.title,
                      "subtitle": ballot.number, "badge": badge})
    actions = [{"url": url_for("ballots_web.editor"), "label": _("New ballot")}] if user.is_secretariat else []
    return {"title": _("My opinion ballots"), "items": items, "empty": _("No opinion ballots yet."),
            "actions": actions}


def register_home_section() -> None:
    from ecabinet.web import HOME_SECTIONS

    if home_section not in HOME_SECTIONS:
        HOME_SECTIONS.append(home_section)


@web.get("/ballots/<int:ballot_id>")
@login_required
def ballot_page(ballot_id: int) -> str:
    ballot = service.get_ballot_for(current_user, ballot_id)
    data = service.ballot_dict(ballot, current_user)
    names = {u.id: u for u in db.session.query(User).filter(User.id.in_([r.user_id for r in ballot.recipients]))}
    return render_template("ballots/ballot.html", ballot=ballot, data=data, names=names,
                           deadline=format_vn_datetime(ballot.deadline),
                           is_open=service.is_open(ballot), secretariat=current_user.is_secretariat)


@web.get("/ballots/new")
@login_required
def editor() -> str:
    service.require_secretariat(current_user)
    members = db.session.query(User).filter(User.active.is_(True)).order_by(User.full_name).all()
    return render_template("ballots/editor.html", members=[m for m in members if Role.MEMBER in m.roles])
