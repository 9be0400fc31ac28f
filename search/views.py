"""/api/v1/search: parse → search (access checked per result) → serialize."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask_login import current_user, login_required

from search import service
from search.schemas import SearchOut, SearchQuery, dump_result

api = APIBlueprint("search_api", __name__, url_prefix="/api/v1", tag="Search")


@api.get("/search")
@api.input(SearchQuery, location="query", arg_name="params")
@api.output(SearchOut)
@api.doc(responses={422: "empty, word-less or over-long query"})
@login_required
def search(params: dict[str, Any]) -> dict[str, Any]:
    """Meetings, agenda items, dossiers (their text), conclusions and opinion ballots the caller may see, best first."""
    results = service.search(current_user, params["q"], kind=params["kind"], limit=params["limit"])
    return {"results": [dump_result(result) for result in results]}
