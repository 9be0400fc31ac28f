"""What one viewer sees of the live session: the same audiences the events have (``meetings.events``)."""

from __future__ import annotations

from typing import Any

from documents.models import Document
from ecabinet.database import db
from meetings.access import MEMBERS, may_see_audience, user_group, viewer_groups
from meetings.events import item_audience
from meetings.models import Meeting, ParticipantRole


def sees_item(groups: frozenset[str], item_id: int | None) -> bool:
    return may_see_audience(groups, item_audience(item_id))


def sees_speaker(groups: frozenset[str], row: dict[str, Any]) -> bool:
    return may_see_audience(groups, item_audience(row["agenda_item_id"]) | {user_group(row["user_id"])})


def sees_attendance(groups: frozenset[str], row: dict[str, Any]) -> bool:
    """Guests are shown to members and to themselves only, as on the meeting page."""
    if row["role"] != ParticipantRole.GUEST:
        return True
    return may_see_audience(groups, frozenset({MEMBERS, user_group(row["user_id"])}))


def _presentation_item(presentation: dict[str, Any] | None) -> int | None:
    document = db.session.get(Document, presentation["document_id"]) if presentation else None
    return document.agenda_item_id if document is not None else None


def live_state_for(state: dict[str, Any], meeting: Meeting, viewer: Any) -> dict[str, Any]:
    """``service.live_state`` as ``viewer`` may see it: only the items (and their speakers, votes and
    the document presented) of its audience. Precondition: ``viewer`` may see the meeting."""
    groups = viewer_groups(meeting, viewer)
    out = dict(state)
    out["agenda"] = [item for item in state["agenda"] if sees_item(groups, item["id"])]
    if state["current_item_id"] is not None and not sees_item(groups, state["current_item_id"]):
        out["current_item_id"] = None
    if state["presentation"] and not sees_item(groups, _presentation_item(state["presentation"])):
        out["presentation"] = None
    out["attendance"] = [row for row in state["attendance"] if sees_attendance(groups, row)]
    out["speakers"] = [row for row in state["speakers"] if sees_speaker(groups, row)]
    out["votes"] = [vote for vote in state["votes"] if sees_item(groups, vote["agenda_item_id"])]
    out["wishes_to_speak"] = [row for row in state.get("wishes_to_speak", []) if sees_speaker(groups, row)]
    out["consent_candidates"] = [item_id for item_id in state.get("consent_candidates", [])
                                 if sees_item(groups, item_id)]
    return out
