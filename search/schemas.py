"""Request and response shapes of the search API (they feed the OpenAPI document)."""

from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Integer, List, Nested, String
from apiflask.validators import OneOf, Range

from search.models import EntryKind
from search.service import MAX_QUERY_CHARS, MAX_RESULTS, Result

KINDS = [str(kind) for kind in EntryKind]


class SearchQuery(Schema):
    q = String(load_default="", metadata={"description": f"words to find, diacritics optional "
                                                         f"(\"nghi dinh\" finds \"Nghị định\"); at most "
                                                         f"{MAX_QUERY_CHARS} characters; the last word "
                                                         f"also matches as a prefix"})
    kind = String(load_default=None, validate=OneOf(KINDS))
    limit = Integer(load_default=20, validate=Range(1, MAX_RESULTS))


class SearchResultOut(Schema):
    kind = String(metadata={"enum": KINDS})
    id = Integer(metadata={"description": "the id of the meeting, agenda item (agenda_item, conclusion), "
                                          "document or ballot"})
    meeting_id = Integer(allow_none=True)
    agenda_item_id = Integer(allow_none=True)
    title = String()
    snippet = String(metadata={"description": "the text around the first match, with its diacritics"})
    url = String(metadata={"description": "the page that shows it in the browser UI"})


class SearchOut(Schema):
    results = List(Nested(SearchResultOut))


def dump_result(result: Result) -> dict[str, object]:
    return {"kind": result.kind, "id": result.id, "meeting_id": result.meeting_id,
            "agenda_item_id": result.agenda_item_id, "title": result.title, "snippet": result.snippet,
            "url": result.url}
