"""The live screens: chair's console, member's tablet, secretariat's panel, the hall's room screen."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

web = Blueprint("live_web", __name__)


def _screen_for(meeting) -> str:
    if meeting.chair_id == current_user.id:
        return "chair"
    if current_user.is_secretariat:
        return "secretariat"
    return "member"


@web.get("/meetings/<int:meeting_id>/live")
@login_required
def live(meeting_id: int) -> str:
    from meetings.access import get_meeting_for

    meeting = get_meeting_for(current_user, meeting_id)
    return render_template("live/live.html", meeting=meeting, screen=_screen_for(meeting))


@web.get("/meetings/<int:meeting_id>/room")
@login_required
def room(meeting_id: int) -> str:
    from meetings.access import get_meeting_for

    meeting = get_meeting_for(current_user, meeting_id)
    return render_template("live/live.html", meeting=meeting, screen="room")


@web.get("/hall")
def hall_screen() -> str:
    """The hall projector's kiosk page; the display token travels in the URL fragment, never to the server log."""
    return render_template("hall/hall.html")
