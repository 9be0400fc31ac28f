"""The live screens: chair's console, member's tablet, secretariat's panel, the hall's room screen."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template
from flask_login import current_user, login_required

from meetings.access import get_meeting_for
from meetings.live.service import participant
from meetings.models import ParticipantRole

web = Blueprint("live_web", __name__)


def _screen_for(meeting) -> str:
    if meeting.chair_id == current_user.id:
        return "chair"
    if current_user.is_secretariat:
        return "secretariat"
    return "member"


def _abilities(meeting) -> dict[str, Any]:
    """What this person may do in the room, so the page shows only the controls that apply."""
    entry = participant(meeting, current_user)
    role = str(entry.role) if entry else None
    delegates_vote = current_app.config.get("DELEGATES_VOTE", False)
    return {"role": role,
            "can_check_in": entry is not None and (role != ParticipantRole.DELEGATE or entry.approved_at is not None),
            "can_speak": entry is not None,
            # the same rule as ``service.withdraw_from_consent_block``: members and approved delegates
            "can_object": role == ParticipantRole.MEMBER or (role == ParticipantRole.DELEGATE and entry is not None
                                                             and entry.approved_at is not None),
            "can_vote": role == ParticipantRole.MEMBER or (role == ParticipantRole.DELEGATE and delegates_vote
                                                           and entry is not None and entry.approved_at is not None)}


@web.get("/meetings/<int:meeting_id>/live")
@login_required
def live(meeting_id: int) -> str:
    meeting = get_meeting_for(current_user, meeting_id)
    return render_template("live/live.html", meeting=meeting, screen=_screen_for(meeting), **_abilities(meeting))


@web.get("/meetings/<int:meeting_id>/room")
@login_required
def room(meeting_id: int) -> str:
    """The hall screen for a logged-in operator (the projector itself uses a display credential at /hall)."""
    meeting = get_meeting_for(current_user, meeting_id)
    return render_template("hall/hall.html", meeting=meeting)


@web.get("/hall")
def hall_screen() -> str:
    """The hall projector's kiosk page; the display token travels in the URL fragment, never to the server log."""
    return render_template("hall/hall.html", meeting=None)
