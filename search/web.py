"""The search page of the browser UI (a plain GET form: works without JavaScript)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

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
                           labels=kind_labels(), max_chars=service.MAX_QUERY_CHARS, context=service.context(results))

