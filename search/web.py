"""The search page of the browser UI (a plain GET form: works without JavaScript)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ecabinet.database import db
from ecabinet.errors import Invalid
from search import service
from search.schemas import KINDS

web = Blueprint("search_web", __name__)


def kind_labels() -> dict[str, str]:
    return {"meeting": _("Meeting"), "agenda_item": _("Agenda item"), "document": _("Dossier"),
            "conclusion": _("Conclusion"), "ballot": _("Opinion ballot")}


@web.get("/search")
@login_required
def search_page() -> str:
    query = request.args.get("q", "")
    kind = request.args.get("kind") or None
    kind = kind if kind in KINDS else None
    results: list[service.Result] = []
    error = None
    if query.strip():
        try:
            results = service.search(current_user, query, kind=kind, limit=service.MAX_RESULTS)
        except Invalid as refused:
            error = refused.message
    return render_template("search/search.html", query=query, kind=kind, results=results, error=error,
                           labels=kind_labels(), max_chars=service.MAX_QUERY_CHARS, context=_context(results))


def _context(results: list[service.Result]) -> dict[tuple[str, int], dict[str, Any]]:
    """Each result's meeting (title, date) or, for a ballot, its deadline: what a person needs to tell them apart."""
    from ballots.models import Ballot
    from meetings.models import Meeting

    meeting_ids = {r.meeting_id for r in results if r.meeting_id is not None}
    meetings = {m.id: m for m in db.session.scalars(select(Meeting).where(Meeting.id.in_(meeting_ids)))} \
        if meeting_ids else {}
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for r in results:
        if r.kind == "ballot":
            ballot = db.session.get(Ballot, r.id)
            if ballot is not None:
                out[(r.kind, r.id)] = {"title": ballot.number, "when": ballot.deadline, "deadline": True}
        elif r.meeting_id in meetings:
            meeting = meetings[r.meeting_id]
            out[(r.kind, r.id)] = {"title": meeting.title, "when": meeting.starts_at, "deadline": False}
    return out
