"""/api/v1 meetings: parse → access → service → serialize."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import Response, current_app
from flask_login import current_user, login_required

from ecabinet.auth.access import require_secretariat
from ecabinet.errors import Forbidden, NotFound
from ecabinet.idempotency import idempotent
from meetings import access, dossiers, service
from meetings.schemas import (
    AgendaItemIn,
    AgendaItemPatch,
    CancelIn,
    GroupIn,
    GroupInviteIn,
    MeetingIn,
    MeetingPatch,
    MembersIn,
    ParticipantIn,
    PositionIn,
    PostponeIn,
    dump_group,
    dump_item,
    dump_meeting,
    dump_meeting_summary,
    dump_participant,
    meeting_snapshot,
)

api = APIBlueprint("meetings_api", __name__, url_prefix="/api/v1", tag="Meetings")


@api.post("/meetings")
@api.input(MeetingIn, arg_name="body")
@api.doc(responses={201: "the meeting (draft)", 403: "secretariat only"})
@login_required
@idempotent
def create_meeting(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The secretariat prepares a meeting (draft)."""
    meeting = service.create_meeting(**body, actor=current_user)
    return dump_meeting(meeting, current_user), 201


@api.get("/meetings")
@login_required
def list_meetings() -> dict[str, Any]:
    """Meetings the caller may see (others are not listed)."""
    return {"meetings": [dump_meeting_summary(m) for m in access.visible_meetings(current_user)]}


@api.get("/meetings/<int:meeting_id>")
@login_required
def get_meeting(meeting_id: int) -> Response:
    """The meeting with its participants and the agenda the caller may see."""
    viewer = current_user._get_current_object()  # once: each use of the proxy looks the user up again
    snapshot = meeting_snapshot(meeting_id)
    if snapshot is None:
        raise NotFound()
    access.require_visible(snapshot.meeting, viewer)
    return current_app.response_class(snapshot.answer_for(viewer), mimetype=current_app.json.mimetype)  # type: ignore[attr-defined]  # DefaultJSONProvider's


@api.patch("/meetings/<int:meeting_id>")
@api.input(MeetingPatch, arg_name="body")
@login_required
def update_meeting(meeting_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Edit the meeting; participants of a published meeting are notified."""
    meeting = service.update_meeting(access.get_meeting_for(current_user, meeting_id), body, actor=current_user)
    return dump_meeting(meeting, current_user)


@api.post("/meetings/<int:meeting_id>/publish")
@login_required
def publish_meeting(meeting_id: int) -> dict[str, Any]:
    """Send the invitations; dossiers become readable to participants."""
    meeting = service.publish_meeting(access.get_meeting_for(current_user, meeting_id), actor=current_user)
    return dump_meeting(meeting, current_user)


@api.post("/meetings/<int:meeting_id>/participants")
@api.input(ParticipantIn, arg_name="body")
@login_required
@idempotent
def add_participant(meeting_id: int, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Invite a member, a delegate (represents_user_id) or a guest (agenda_item_ids)."""
    meeting = access.get_meeting_for(current_user, meeting_id)
    return dump_participant(service.add_participant(meeting, **body, actor=current_user)), 201


@api.post("/meetings/<int:meeting_id>/participants/members")
@api.input(MembersIn, arg_name="body")
@login_required
@idempotent
def add_members(meeting_id: int, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Invite several members at once; those already invited are skipped: ``{"added": [participants]}``."""
    meeting = access.get_meeting_for(current_user, meeting_id)
    added = service.add_members(meeting, body["user_ids"], actor=current_user)
    return {"added": [dump_participant(p) for p in added]}, 201


@api.post("/meetings/<int:meeting_id>/participants/group")
@api.input(GroupInviteIn, arg_name="body")
@api.doc(responses={201: "the members invited", 403: "secretariat only", 404: "unknown group"})
@login_required
@idempotent
def add_group(meeting_id: int, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Invite a saved group's members: ``{"added": [participants], "skipped": [{"user_id", "reason"}]}``
    (already invited people are neither; inactive, no longer members or not cleared for the level are skipped)."""
    meeting = access.get_meeting_for(current_user, meeting_id)
    group = service.get_group(body["group_id"], actor=current_user)
    added, skips = service.add_group(meeting, group, actor=current_user)
    return {"added": [dump_participant(p) for p in added],
            "skipped": [{"user_id": user_id, "reason": reason} for user_id, reason in skips.items()]}, 201


@api.get("/participant-groups")
@api.doc(responses={403: "secretariat only"})
@login_required
def list_groups() -> dict[str, Any]:
    """The secretariat's saved groups of members, by name."""
    return {"groups": [dump_group(g) for g in service.list_groups(actor=current_user)]}


@api.post("/participant-groups")
@api.input(GroupIn, arg_name="body")
@api.doc(responses={201: "the group", 403: "secretariat only", 409: "name taken"})
@login_required
@idempotent
def create_group(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Save a set of members under a name (members only; each at most once)."""
    return dump_group(service.create_group(**body, actor=current_user)), 201


@api.put("/participant-groups/<int:group_id>")
@api.input(GroupIn, arg_name="body")
@api.doc(responses={403: "secretariat only", 409: "name taken"})
@login_required
def update_group(group_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Rename a group and replace its members."""
    group = service.get_group(group_id, actor=current_user)
    return dump_group(service.update_group(group, **body, actor=current_user))


@api.delete("/participant-groups/<int:group_id>")
@api.doc(responses={204: "forgotten", 403: "secretariat only"})
@login_required
def delete_group(group_id: int) -> tuple[str, int]:
    """Forget a saved group (meetings keep the participants it brought)."""
    service.delete_group(service.get_group(group_id, actor=current_user), actor=current_user)
    return "", 204


@api.delete("/meetings/<int:meeting_id>/participants/<int:participant_id>")
@login_required
def remove_participant(meeting_id: int, participant_id: int) -> tuple[str, int]:
    """Withdraw an invitation before the session (409 once the person took part)."""
    meeting = access.get_meeting_for(current_user, meeting_id)
    service.remove_participant(meeting, participant_id, actor=current_user)
    return "", 204


@api.delete("/meetings/<int:meeting_id>/agenda/<int:item_id>")
@login_required
def remove_agenda_item(meeting_id: int, item_id: int) -> tuple[str, int]:
    """Take an item off the agenda before the session (409 once it has dossiers, positions, votes...)."""
    meeting = access.get_meeting_for(current_user, meeting_id)
    item = access.get_item_for(current_user, meeting, item_id)
    service.remove_agenda_item(meeting, item, actor=current_user)
    return "", 204


@api.post("/meetings/<int:meeting_id>/cancel")
@api.input(CancelIn, arg_name="body")
@login_required
def cancel_meeting(meeting_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Call the meeting off with a reason; status ``cancelled``; participants are told."""
    meeting = access.get_meeting_for(current_user, meeting_id)
    return dump_meeting_summary(service.cancel_meeting(meeting, reason=body["reason"], actor=current_user))


@api.post("/meetings/<int:meeting_id>/postpone")
@api.input(PostponeIn, arg_name="body")
@login_required
def postpone_meeting(meeting_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Move the session to a later time with a reason; the status is unchanged; participants are told."""
    meeting = access.get_meeting_for(current_user, meeting_id)
    return dump_meeting_summary(service.postpone_meeting(meeting, reason=body["reason"],
                                                         starts_at=body["starts_at"], actor=current_user))


@api.post("/meetings/<int:meeting_id>/participants/<int:participant_id>/approve")
@login_required
def approve_delegate(meeting_id: int, participant_id: int) -> dict[str, Any]:
    """The chair approves a delegate attending for an absent member."""
    meeting = access.get_meeting_for(current_user, meeting_id)
    return dump_participant(service.approve_delegate(meeting, participant_id, actor=current_user))


@api.post("/meetings/<int:meeting_id>/agenda")
@api.input(AgendaItemIn, arg_name="body")
@login_required
@idempotent
def add_agenda_item(meeting_id: int, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Append an agenda item."""
    meeting = access.get_meeting_for(current_user, meeting_id)
    return dump_item(service.add_agenda_item(meeting, **body, actor=current_user)), 201


@api.patch("/meetings/<int:meeting_id>/agenda/<int:item_id>")
@api.input(AgendaItemPatch, arg_name="body")
@login_required
def update_agenda_item(meeting_id: int, item_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Edit an item; ``position`` moves it (reorder)."""
    meeting = access.get_meeting_for(current_user, meeting_id)
    item = access.get_item_for(current_user, meeting, item_id)
    return dump_item(service.update_agenda_item(meeting, item, body, actor=current_user))


@api.put("/meetings/<int:meeting_id>/agenda/<int:item_id>/position")
@api.input(PositionIn, arg_name="body")
@login_required
def set_position(meeting_id: int, item_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """The caller's pre-session position: agree without discussion, objection, or wish to speak."""
    meeting = access.get_meeting_for(current_user, meeting_id)
    item = access.get_item_for(current_user, meeting, item_id)
    position = service.set_position(meeting, item, body["stance"], actor=current_user)
    return {"agenda_item_id": item.id, "stance": str(position.stance)}


@api.get("/meetings/<int:meeting_id>/positions")
@login_required
def positions(meeting_id: int) -> dict[str, Any]:
    """The tally per item (chair and secretariat)."""
    meeting = access.get_meeting_for(current_user, meeting_id)
    if not access.may_see_tally(meeting, current_user):
        raise Forbidden("chair_or_secretariat_only")
    return {"items": [{"agenda_item_id": item.id, "title": item.title, **service.tally(item)}
                      for item in meeting.agenda]}


@api.get("/meetings/<int:meeting_id>/paper-saved")
@api.doc(tags=["Documents"])
@login_required
def meeting_paper_saved(meeting_id: int) -> dict[str, Any]:
    """Pages × recipients of every dossier distributed in this meeting (secretariat)."""
    meeting = access.get_meeting_for(current_user, meeting_id)
    require_secretariat(current_user)
    return dossiers.paper_saved(meeting)


@api.get("/paper-saved")
@api.doc(tags=["Documents"])
@login_required
def total_paper_saved() -> dict[str, Any]:
    """The figure the Government Office reports: per meeting and in total (secretariat)."""
    require_secretariat(current_user)
    return dossiers.paper_saved_total()
