"""/api/v1 live-session routes: parse → access → service → serialize."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import Response, request
from flask_login import current_user, login_required

from ecabinet import realtime
from ecabinet.auth import service as auth_service
from ecabinet.auth.models import User
from ecabinet.errors import Invalid, NotFound
from meetings import access
from meetings.access import get_item_for
from meetings.live import hall, rules, service
from meetings.live.audience import live_state_for, sees_item, sees_speaker
from meetings.live.models import Vote
from meetings.live.schemas import (
    AttendanceIn,
    CastIn,
    ConclusionIn,
    ConsentAdoptIn,
    ConsentWithdrawIn,
    DisplayIn,
    EnqueueIn,
    EventsQuery,
    PresentIn,
    VoteIn,
)
from meetings.models import Meeting

api = APIBlueprint("live_api", __name__, url_prefix="/api/v1", tag="Live session")


def _meeting(meeting_id: int) -> Meeting:
    return access.get_meeting_for(current_user, meeting_id)


def _vote(vote_id: int) -> tuple[Vote, Meeting]:
    """The vote and its meeting, or NotFound when unknown or outside the caller's audience (a guest's
    other items). The meeting is handed on: the service then finds it in the session, not reads it again."""
    vote = service.vote_by_id(vote_id)
    if vote is None:
        raise NotFound()
    meeting = _meeting(vote.meeting_id)
    if not sees_item(access.viewer_groups(meeting, current_user), vote.agenda_item_id):
        raise NotFound()
    return vote, meeting


def _live(meeting: Meeting) -> dict[str, Any]:
    return live_state_for(service.live_state(meeting), meeting, current_user)


def _user(user_id: int) -> User:
    user = auth_service.user_by_id(user_id)
    if user is None:
        raise NotFound()
    return user


@api.post("/meetings/<int:meeting_id>/session/start")
@login_required
def start_session(meeting_id: int) -> dict[str, Any]:
    """The chair opens the session."""
    return _live(service.start_session(_meeting(meeting_id), actor=current_user))


@api.post("/meetings/<int:meeting_id>/session/close")
@login_required
def close_session(meeting_id: int) -> dict[str, Any]:
    """The chair closes the session."""
    return _live(service.close_session(_meeting(meeting_id), actor=current_user))


@api.get("/meetings/<int:meeting_id>/live")
@login_required
def live_state(meeting_id: int) -> dict[str, Any]:
    """The room as a tablet draws it, with the event number it reflects."""
    return _live(_meeting(meeting_id))


@api.get("/meetings/<int:meeting_id>/events")
@api.input(EventsQuery, location="query", arg_name="query")
@login_required
def events(meeting_id: int, query: dict[str, int]) -> dict[str, Any]:
    """Catch-up over HTTP: every event after ``after``, in order (``hidden`` where not for the caller)."""
    meeting = _meeting(meeting_id)
    return {"events": realtime.events_for(meeting_id, query["after"], access.viewer_groups(meeting, current_user))}


@api.post("/meetings/<int:meeting_id>/checkin")
@login_required
def check_in(meeting_id: int) -> tuple[dict[str, Any], int]:
    """The caller checks in; the answer holds a receipt."""
    return service.check_in(_meeting(meeting_id), actor=current_user), 201


@api.post("/meetings/<int:meeting_id>/attendance")
@api.input(AttendanceIn, arg_name="body")
@login_required
def set_attendance(meeting_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """The secretariat checks a member in, or records an absence with its reason."""
    meeting = _meeting(meeting_id)
    member = _user(body["user_id"])
    if body["present"]:
        return service.check_in(meeting, actor=current_user, member=member)
    return service.record_absence(meeting, member, body.get("absence_reason", ""), actor=current_user)


@api.get("/meetings/<int:meeting_id>/quorum")
@login_required
def quorum(meeting_id: int) -> dict[str, Any]:
    """Present members against two thirds of all members."""
    return service.quorum(_meeting(meeting_id))


@api.post("/meetings/<int:meeting_id>/agenda/<int:item_id>/activate")
@login_required
def activate(meeting_id: int, item_id: int) -> dict[str, Any]:
    """Make an agenda item the current one."""
    activated = service.activate_item(_meeting(meeting_id), item_id, actor=current_user)
    return {"agenda_item_id": activated["agenda_item_id"], "title": activated["title"]}


@api.get("/meetings/<int:meeting_id>/consent-block")
@login_required
def consent_preview(meeting_id: int) -> dict[str, Any]:
    """The consent block as adoption would adopt it now, the items taken out and why, and the quorum."""
    return service.consent_preview(_meeting(meeting_id), current_user)


@api.post("/meetings/<int:meeting_id>/consent-block")
@api.input(ConsentAdoptIn, arg_name="body")
@login_required
def consent_block(meeting_id: int, body: dict[str, list[int]]) -> dict[str, Any]:
    """The chair adopts, without discussion, the block it was shown (409 when it changed since)."""
    ids = service.adopt_consent_block(_meeting(meeting_id), body["agenda_item_ids"], actor=current_user)
    return {"adopted_agenda_item_ids": ids}


@api.post("/meetings/<int:meeting_id>/agenda/<int:item_id>/consent-objection")
@api.input(ConsentWithdrawIn, arg_name="body")
@login_required
def consent_objection(meeting_id: int, item_id: int, body: dict[str, str]) -> tuple[dict[str, Any], int]:
    """A member objects to an item of the consent block, or wishes to speak on it: the item leaves the block."""
    meeting = _meeting(meeting_id)
    item = service.withdraw_from_consent_block(meeting, get_item_for(current_user, meeting, item_id),
                                               body["reason"], actor=current_user)
    return {"agenda_item_id": item.id, "reason": item.consent_withdrawn_reason,
            "consent_block": service.consent_preview(meeting, current_user)}, 201


@api.post("/meetings/<int:meeting_id>/present")
@api.input(PresentIn, arg_name="body")
@login_required
def present(meeting_id: int, body: dict[str, int]) -> dict[str, int]:
    """Tablets following the presenter jump to this document page."""
    return service.present_document(_meeting(meeting_id), body["document_id"], body["page"], actor=current_user)


@api.get("/meetings/<int:meeting_id>/speakers")
@login_required
def list_speakers(meeting_id: int) -> dict[str, Any]:
    """The queue of requests to speak, with time spoken."""
    meeting = _meeting(meeting_id)
    groups = access.viewer_groups(meeting, current_user)
    return {"speakers": [row for row in service.speakers(meeting) if sees_speaker(groups, row)]}


@api.post("/meetings/<int:meeting_id>/speakers")
@login_required
def request_floor(meeting_id: int) -> tuple[dict[str, Any], int]:
    """The caller asks for the floor; the answer holds a receipt."""
    return service.request_floor(_meeting(meeting_id), actor=current_user), 201


@api.post("/meetings/<int:meeting_id>/speakers/<int:speaker_id>/grant")
@login_required
def grant_floor(meeting_id: int, speaker_id: int) -> dict[str, Any]:
    """The chair gives the floor; an optional body ``{"seconds": 180}`` sets the speaking time."""
    body = request.get_json(silent=True) or {}
    seconds = body.get("seconds") if isinstance(body, dict) else None
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int)):
        raise Invalid(fields={"seconds": f"{rules.SPEAKING_SECONDS_MIN}-{rules.SPEAKING_SECONDS_MAX}"})
    return service.grant_floor(_meeting(meeting_id), speaker_id, actor=current_user, seconds=seconds)


@api.post("/meetings/<int:meeting_id>/speakers/enqueue")
@api.input(EnqueueIn, arg_name="body")
@login_required
def enqueue_speaker(meeting_id: int, body: dict[str, int]) -> tuple[dict[str, Any], int]:
    """The chair or the secretariat puts a participant in the queue (a wish to speak from before)."""
    return service.enqueue_speaker(_meeting(meeting_id), _user(body["user_id"]), actor=current_user), 201


@api.post("/meetings/<int:meeting_id>/speakers/<int:speaker_id>/finish")
@login_required
def finish_floor(meeting_id: int, speaker_id: int) -> dict[str, Any]:
    """The chair or the speaker ends the turn."""
    return service.finish_floor(_meeting(meeting_id), speaker_id, actor=current_user)


@api.delete("/meetings/<int:meeting_id>/speakers/<int:speaker_id>")
@login_required
def withdraw_floor(meeting_id: int, speaker_id: int) -> dict[str, Any]:
    """The caller withdraws a request not yet granted."""
    return service.withdraw_floor(_meeting(meeting_id), speaker_id, actor=current_user)


@api.post("/meetings/<int:meeting_id>/votes")
@api.input(VoteIn, arg_name="body")
@login_required
def open_vote(meeting_id: int, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The chair opens a named or secret vote."""
    meeting = _meeting(meeting_id)
    _vote, view = service.open_vote(meeting, question=body["question"], secret=body["secret"],
                                    agenda_item_id=body.get("agenda_item_id"), actor=current_user)
    return view, 201


@api.get("/votes/<int:vote_id>")
@login_required
def get_vote(vote_id: int) -> dict[str, Any]:
    """Counts while open; the result (and names, for a named vote) after close."""
    vote, meeting = _vote(vote_id)
    return service.vote_view(vote, meeting=meeting)


@api.post("/votes/<int:vote_id>/cast")
@api.input(CastIn, arg_name="body")
@login_required
def cast_vote(vote_id: int, body: dict[str, str]) -> tuple[dict[str, Any], int]:
    """An entitled member votes once; the answer holds a receipt."""
    vote, meeting = _vote(vote_id)  # held while the service runs: it finds the meeting in the session
    return service.cast_vote(vote, body["choice"], actor=current_user), 201


@api.post("/votes/<int:vote_id>/close")
@login_required
def close_vote(vote_id: int) -> dict[str, Any]:
    """The chair closes the vote: the result counts against all members."""
    vote, meeting = _vote(vote_id)  # held while the service runs: it finds the meeting in the session
    result = service.close_vote(vote, actor=current_user)
    return {"vote_id": vote_id, **result.as_dict()}


@api.put("/meetings/<int:meeting_id>/agenda/<int:item_id>/conclusion")
@api.input(ConclusionIn, arg_name="body")
@login_required
def set_conclusion(meeting_id: int, item_id: int, body: dict[str, str]) -> dict[str, Any]:
    """The secretariat writes the item's conclusion."""
    item = service.set_conclusion(_meeting(meeting_id), item_id, body["text"], actor=current_user)
    return {"agenda_item_id": item.id, "conclusion": item.conclusion}


@api.get("/meetings/<int:meeting_id>/displays")
@login_required
def list_displays(meeting_id: int) -> dict[str, Any]:
    """The hall displays issued for this meeting (secretariat)."""
    return {"displays": hall.displays(_meeting(meeting_id), actor=current_user)}


@api.post("/meetings/<int:meeting_id>/displays")
@api.input(DisplayIn, arg_name="body")
@login_required
def issue_display(meeting_id: int, body: dict[str, str]) -> tuple[dict[str, Any], int]:
    """The secretariat issues a read-only display credential; the token is in this answer only."""
    return hall.issue_display(_meeting(meeting_id), body["name"], actor=current_user), 201


@api.delete("/meetings/<int:meeting_id>/displays/<int:display_id>")
@login_required
def revoke_display(meeting_id: int, display_id: int) -> dict[str, Any]:
    """The secretariat revokes a display credential."""
    return hall.revoke_display(_meeting(meeting_id), display_id, actor=current_user)


@api.get("/hall/state")
def hall_state() -> dict[str, Any]:
    """What a hall display shows, read with its ``X-Display-Token`` (no person is logged in)."""
    display = hall.display_for_token(request.headers.get("X-Display-Token"))
    hall.touch(display)
    return hall.hall_state(display)


@api.get("/hall/presented.pdf")
@api.doc(responses={200: "application/pdf: the presented page only", 403: "not_projectable"})
def hall_presented_page() -> Response:
    """The page being presented, for a hall display (read with its ``X-Display-Token``)."""
    display = hall.display_for_token(request.headers.get("X-Display-Token"))
    response = Response(hall.presented_page(display), mimetype="application/pdf")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@api.get("/meetings/<int:meeting_id>/hall")
@login_required
def hall_state_for_operator(meeting_id: int) -> dict[str, Any]:
    """The hall screen's state for a logged-in operator of the room screen."""
    return hall.projector_state(_meeting(meeting_id))
