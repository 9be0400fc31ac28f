"""The only writer of meetings, participants, agenda items and pre-session positions.

Each call is one write transaction with one audit record; a change other participants must see is
published to the meeting's event stream (broadcast after commit).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from documents.models import Document
from ecabinet import audit, notifications, realtime
from ecabinet.auth.access import require_secretariat
from ecabinet.auth.models import Confidentiality, Role, User
from ecabinet.database import db, utcnow, write_transaction
from ecabinet.errors import Conflict, Forbidden, Invalid, NotFound
from meetings import access
from meetings.live.models import SpeakerRequest, Vote, VoteParticipation
from meetings.models import (
    AgendaItem,
    ItemPosition,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Participant,
    ParticipantGroup,
    ParticipantGroupMember,
    ParticipantRole,
    Stance,
)

EDITABLE_FIELDS = ("title", "kind", "starts_at", "location", "chair_id", "confidentiality")


def require_editable(meeting: Meeting) -> None:
    """Preparation changes stop once the meeting is closed; archived meetings never change."""
    if meeting.status == MeetingStatus.ARCHIVED:
        raise Conflict("meeting_archived")
    if meeting.status == MeetingStatus.CLOSED:
        raise Conflict("meeting_closed")
    if meeting.status == MeetingStatus.CANCELLED:
        raise Conflict("meeting_cancelled")


def _user(user_id: int, field: str) -> User:
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        raise Invalid(fields={field: "unknown user"})
    return user


def require_cleared(user: User, level: Confidentiality | str, field: str) -> None:
    """A meeting at Mật or above admits only people cleared for its level (chair and participants)."""
    if not user.may_read(level):
        code = "chair_not_cleared" if field == "chair_id" else "participant_not_cleared"
        raise Invalid(code, fields={field: f"not cleared for {Confidentiality(level)}"})


def _require_classifiable(actor: User, level: Confidentiality | str) -> None:
    """The secretariat classifies only up to its own clearance (it could not see the meeting otherwise)."""
    if not actor.may_read(level):
        raise Forbidden("classification_above_clearance")


def _publish_if_distributed(meeting: Meeting, event_type: str, data: dict[str, Any]) -> None:
    """Participants hear about a meeting only once it was published to them."""
    if meeting.status != MeetingStatus.DRAFT:
        realtime.publish(meeting.id, event_type, data)


def notify_participants(meeting: Meeting, kind: str, data: dict[str, Any]) -> None:
    """Tell every participant (in the app and by mail, as each chose); a classified meeting is not named."""
    notifications.notify([p.user_id for p in meeting.participants], kind, ("meeting", meeting.id),
                         path=f"/meetings/{meeting.id}", title=meeting.title, level=meeting.confidentiality,
                         data=data)


def create_meeting(*, title: str, kind: str, starts_at: datetime, location: str, chair_id: int,
                   confidentiality: str = Confidentiality.NORMAL, actor: User) -> Meeting:
    """A draft meeting whose chair is one of its members (checks in and votes as one); the chair may be
    changed while editing."""
    require_secretariat(actor)
    _require_classifiable(actor, Confidentiality(confidentiality))
    with write_transaction():
        require_cleared(_user(chair_id, "chair_id"), confidentiality, "chair_id")
        meeting = Meeting(title=title.strip(), kind=MeetingKind(kind), starts_at=starts_at, location=location.strip(),
                          chair_id=chair_id, confidentiality=Confidentiality(confidentiality),
                          status=MeetingStatus.DRAFT, created_by_id=actor.id)
        db.session.add(meeting)
        db.session.flush()
        db.session.add(Participant(meeting_id=meeting.id, user_id=chair_id, role=ParticipantRole.MEMBER,
                                   agenda_item_ids=[]))
        db.session.flush()
        audit.record(actor, "meeting.created", meeting, {"title": meeting.title, "kind": str(meeting.kind),
                                                         "chair_id": chair_id})
    db.session.refresh(meeting)
    return meeting


def _seat_chair(meeting: Meeting, chair: User) -> Participant | None:
    """Make the (new) chair a member participant; None when they already were one.

    A chair invited as a guest or a delegate is refused: the chair of a Government session is a member.
    """
    entry = access.participant_of(meeting, chair)
    if entry is not None:
        if entry.role != ParticipantRole.MEMBER:
            raise Conflict("chair_not_member")
        return None
    entry = Participant(meeting_id=meeting.id, user_id=chair.id, role=ParticipantRole.MEMBER, agenda_item_ids=[])
    db.session.add(entry)
    db.session.flush()
    return entry


def update_meeting(meeting: Meeting, changes: dict[str, Any], *, actor: User) -> Meeting:
    """Edit the meeting's details; a published meeting's participants are told (``meeting.updated``)."""
    require_secretariat(actor)
    if changes.get("confidentiality") is not None:
        _require_classifiable(actor, Confidentiality(changes["confidentiality"]))
    with write_transaction():
        require_editable(meeting)
        level = Confidentiality(changes.get("confidentiality") or meeting.confidentiality)
        chair_id = changes.get("chair_id") or meeting.chair_id
        require_cleared(_user(chair_id, "chair_id"), level, "chair_id")
        for participant in meeting.participants:
            require_cleared(participant.user, level, "confidentiality")
        changed: dict[str, Any] = {}
        seated: Participant | None = None
        for field in EDITABLE_FIELDS:
            if field not in changes or changes[field] is None:
                continue
            value = changes[field]
            if field == "chair_id":
                seated = _seat_chair(meeting, _user(value, "chair_id"))
            if field == "kind":
                value = MeetingKind(value)
            if field == "confidentiality":
                value = Confidentiality(value)
            if isinstance(value, str) and field in ("title", "location"):
                value = value.strip()
            if getattr(meeting, field) != value:
                setattr(meeting, field, value)
                changed[field] = value.isoformat() if isinstance(value, datetime) else value
        audit.record(actor, "meeting.updated", meeting,
                     {**changed, **({"chair_made_member": seated.user_id} if seated else {})})
        if seated is not None:
            _publish_if_distributed(meeting, "participant.added",
                                    {"participant_id": seated.id, "user_id": seated.user_id, "role": "member"})
        _publish_if_distributed(meeting, "meeting.updated", {"meeting_id": meeting.id, "changed": sorted(changed)})
        if changed and meeting.status != MeetingStatus.DRAFT:
            notify_participants(meeting, "meeting.changed", {"starts_at": meeting.starts_at.isoformat(),
                                                             "location": meeting.location})
    db.session.refresh(meeting)
    return meeting


def publish_meeting(meeting: Meeting, *, actor: User) -> Meeting:
    """Send the invitations: participants see the meeting and its dossiers from now on."""
    require_secretariat(actor)
    with write_transaction():
        if meeting.status != MeetingStatus.DRAFT:
            raise Conflict("meeting_already_published")
        meeting.status = MeetingStatus.PUBLISHED
        meeting.published_at = utcnow()
        recipients = [p.user_id for p in meeting.participants]
        audit.record(actor, "meeting.published", meeting, {"participants": recipients})
        realtime.publish(meeting.id, "meeting.published",
                         {"meeting_id": meeting.id, "title": meeting.title, "starts_at": meeting.starts_at.isoformat(),
                          "participant_ids": recipients})
        notify_participants(meeting, "meeting.published", {"starts_at": meeting.starts_at.isoformat(),
                                                           "location": meeting.location})
    return meeting


def add_participant(meeting: Meeting, *, user_id: int, role: str, represents_user_id: int | None = None,
                    agenda_item_ids: list[int] | None = None, actor: User) -> Participant:
    """Invite a member, a delegate (for a member of this meeting; the chair approves) or a guest (given items)."""
    require_secretariat(actor)
    with write_transaction():
        require_editable(meeting)
        user = _user(user_id, "user_id")
        if access.participant_of(meeting, user) is not None:
            raise Conflict("already_participant")
        require_cleared(user, meeting.confidentiality, "user_id")
        participant_role = ParticipantRole(role)
        item_ids: list[int] = []
        if participant_role == ParticipantRole.DELEGATE:
            represented = next((p for p in meeting.participants
                                if p.user_id == represents_user_id and p.role == ParticipantRole.MEMBER), None)
            if represented is None:
                raise Invalid("represented_not_member", fields={"represents_user_id": "not a member of this meeting"})
        elif represents_user_id is not None:
            raise Invalid(fields={"represents_user_id": "only a delegate represents a member"})
        if participant_role == ParticipantRole.GUEST:
            item_ids = sorted(set(agenda_item_ids or []))
            own = {item.id for item in meeting.agenda}
            if not item_ids or not set(item_ids) <= own:
                raise Invalid("guest_items_required", fields={"agenda_item_ids": "items of this meeting"})
        participant = Participant(meeting_id=meeting.id, user_id=user.id, role=participant_role,
                                  represents_user_id=represents_user_id if participant_role == ParticipantRole.DELEGATE
                                  else None, agenda_item_ids=item_ids)
        db.session.add(participant)
        db.session.flush()
        audit.record(actor, "participant.added", meeting,
                     {"user_id": user.id, "role": str(participant_role), "represents_user_id": represents_user_id,
                      "agenda_item_ids": item_ids})
        _publish_if_distributed(meeting, "participant.added",
                                {"participant_id": participant.id, "user_id": user.id, "role": str(participant_role)})
    return participant


def approve_delegate(meeting: Meeting, participant_id: int, *, actor: User) -> Participant:
    """The chair consents to a delegate attending in place of an absent member."""
    if meeting.chair_id != actor.id:
        raise Forbidden("chair_only")
    with write_transaction():
        require_editable(meeting)
        participant = db.session.get(Participant, participant_id)
        if participant is None or participant.meeting_id != meeting.id:
            raise NotFound()
        if participant.role != ParticipantRole.DELEGATE:
            raise Conflict("not_a_delegate")
        if participant.approved_at is not None:
            raise Conflict("delegate_already_approved")
        participant.approved_at = utcnow()
        audit.record(actor, "delegate.approved", meeting,
                     {"participant_id": participant.id, "user_id": participant.user_id,
                      "represents_user_id": participant.represents_user_id})
        _publish_if_distributed(meeting, "delegate.approved",
                                {"participant_id": participant.id, "user_id": participant.user_id,
                                 "represents_user_id": participant.represents_user_id})
    return participant


def require_consent_block_open(meeting: Meeting) -> None:
    """The secretariat marks items for the consent block only before the session starts."""
    if meeting.status not in (MeetingStatus.DRAFT, MeetingStatus.PUBLISHED):
        raise Conflict("consent_block_frozen")


def add_agenda_item(meeting: Meeting, *, title: str, presenter: str = "", duration_minutes: int = 15,
                    consent_block: bool = False, actor: User) -> AgendaItem:
    """Append an item at the end of the agenda (marked for the consent block if asked, before the session)."""
    require_secretariat(actor)
    with write_transaction():
        require_editable(meeting)
        if consent_block:
            require_consent_block_open(meeting)
        last = db.session.scalar(select(func.max(AgendaItem.position)).where(AgendaItem.meeting_id == meeting.id))
        item = AgendaItem(meeting_id=meeting.id, position=(last or 0) + 1, title=title.strip(),
                          presenter=presenter.strip(), duration_minutes=duration_minutes, consent_block=consent_block)
        db.session.add(item)
        db.session.flush()
        audit.record(actor, "agenda_item.added", item, {"meeting_id": meeting.id, "title": item.title,
                                                        "consent_block": consent_block})
        _publish_if_distributed(meeting, "agenda.changed", {"item_id": item.id, "change": "added"})
    db.session.refresh(meeting)
    return item


def update_agenda_item(meeting: Meeting, item: AgendaItem, changes: dict[str, Any], *, actor: User) -> AgendaItem:
    """Edit an item; a new ``position`` (1-based) moves it and renumbers the others; ``consent_block`` marks
    it for adoption without discussion (only before the session starts)."""
    require_secretariat(actor)
    with write_transaction():
        require_editable(meeting)
        changed: dict[str, Any] = {}
        if changes.get("consent_block") is not None and changes["consent_block"] != item.consent_block:
            require_consent_block_open(meeting)
            item.consent_block = bool(changes["consent_block"])
            changed["consent_block"] = item.consent_block
        for field in ("title", "presenter", "duration_minutes"):
            if changes.get(field) is not None and getattr(item, field) != changes[field]:
                setattr(item, field, changes[field].strip() if isinstance(changes[field], str) else changes[field])
                changed[field] = getattr(item, field)
        if changes.get("position") is not None:
            items = sorted(meeting.agenda, key=lambda i: i.position)
            target = max(1, min(int(changes["position"]), len(items)))
            if item.position != target:
                items.remove(item)
                items.insert(target - 1, item)
                for number, each in enumerate(items, start=1):
                    each.position = number
                changed["position"] = target
        audit.record(actor, "agenda_item.updated", item, changed)
        _publish_if_distributed(meeting, "agenda.changed", {"item_id": item.id, "change": "updated",
                                                            "fields": sorted(changed)})
    db.session.refresh(meeting)
    return item


def set_position(meeting: Meeting, item: AgendaItem, stance: str, *, actor: User) -> ItemPosition:
    """A member's pre-session position on an item; one row per member and item (locked by the write lock)."""
    if not access.may_take_position(meeting, actor):
        raise Forbidden("position_not_allowed")
    with write_transaction():
        if meeting.status != MeetingStatus.PUBLISHED:
            raise Conflict("positions_closed")
        position = db.session.scalar(select(ItemPosition).where(ItemPosition.agenda_item_id == item.id,
                                                                ItemPosition.user_id == actor.id))
        if position is None:
            position = ItemPosition(agenda_item_id=item.id, user_id=actor.id, stance=Stance(stance))
            db.session.add(position)
        position.stance = Stance(stance)
        position.updated_at = utcnow()
        db.session.flush()
        # no event: the tally is for the chair and the secretariat only
        audit.record(actor, "position.set", item, {"stance": str(stance)})
    return position


def tally(item: AgendaItem) -> dict[str, int]:
    """How many members agree without discussion, object, or wish to speak on an item."""
    counts = {str(s): 0 for s in Stance}
    rows = db.session.execute(select(ItemPosition.stance, func.count()).where(ItemPosition.agenda_item_id == item.id)
                              .group_by(ItemPosition.stance))
    for stance, count in rows:
        counts[str(stance)] = count
    return counts


def _require_preparing(meeting: Meeting) -> None:
    """Removing people or items is lawful only before the session starts (nothing has been done with them)."""
    require_editable(meeting)
    if meeting.status != MeetingStatus.DRAFT and meeting.status != MeetingStatus.PUBLISHED:
        raise Conflict("meeting_started")


def add_members(meeting: Meeting, user_ids: list[int], *, actor: User) -> list[Participant]:
    """Invite several members at once (e.g. every Government member); those already invited are skipped."""
    require_secretariat(actor)
    with write_transaction():
        require_editable(meeting)
        users = [_user(user_id, "user_ids") for user_id in dict.fromkeys(user_ids)]
        added = _invite_members(meeting, users, actor=actor, audit_data={})
    db.session.refresh(meeting)
    return added


def _invite_members(meeting: Meeting, users: list[User], *, actor: User,
                    audit_data: dict[str, Any]) -> list[Participant]:
    """Seat ``users`` as members, skipping those already invited; all or none (each must be a member cleared
    for the meeting's level). Precondition: inside ``write_transaction()``."""
    present = {p.user_id for p in meeting.participants}
    users = [u for u in users if u.id not in present]
    if any(not u.has_role(Role.MEMBER) for u in users):
        raise Invalid(fields={"user_ids": "members only"})
    for user in users:
        require_cleared(user, meeting.confidentiality, "user_ids")
    added = []
    for user in users:
        participant = Participant(meeting_id=meeting.id, user_id=user.id, role=ParticipantRole.MEMBER,
                                  agenda_item_ids=[])
        db.session.add(participant)
        db.session.flush()
        audit.record(actor, "participant.added", meeting, {"user_id": user.id, "role": "member",
                                                           "represents_user_id": None, "agenda_item_ids": [],
                                                           **audit_data})
        _publish_if_distributed(meeting, "participant.added",
                                {"participant_id": participant.id, "user_id": user.id, "role": "member"})
        added.append(participant)
    return added


def group_skips(meeting: Meeting, group: ParticipantGroup) -> dict[int, str]:
    """Why a group's people would not be invited to ``meeting``: ``inactive``, ``not_a_member`` (a role
    changed since the group was saved) or ``not_cleared`` for the meeting's level; keyed by user id."""
    skips = {}
    for user in (m.user for m in group.members):
        if not user.active:
            skips[user.id] = "inactive"
        elif not user.has_role(Role.MEMBER):
            skips[user.id] = "not_a_member"
        elif not user.may_read(meeting.confidentiality):
            skips[user.id] = "not_cleared"
    return skips


def add_group(meeting: Meeting, group: ParticipantGroup, *, actor: User) -> tuple[list[Participant], dict[int, str]]:
    """Invite a saved group's members to the meeting; those already invited are skipped, and so are those
    ``group_skips`` names (returned with the reason): a group saved for ordinary meetings still serves a Mật one."""
    require_secretariat(actor)
    with write_transaction():
        require_editable(meeting)
        skips = group_skips(meeting, group)
        users = [m.user for m in group.members if m.user_id not in skips]
        added = _invite_members(meeting, users, actor=actor, audit_data={"group_id": group.id})
    db.session.refresh(meeting)
    return added, skips


def _group_members(user_ids: list[int]) -> list[User]:
    users = [_user(user_id, "user_ids") for user_id in dict.fromkeys(user_ids)]
    if any(not u.has_role(Role.MEMBER) for u in users):
        raise Invalid(fields={"user_ids": "members only"})
    return users


def _require_free_name(name: str, *, other_than: int | None = None) -> str:
    name = " ".join(name.split())
    if not name:
        raise Invalid(fields={"name": "required"})
    taken = db.session.scalar(select(ParticipantGroup.id).where(ParticipantGroup.name == name))
    if taken is not None and taken != other_than:
        raise Conflict("group_name_taken")
    return name


def create_group(*, name: str, user_ids: list[int], actor: User) -> ParticipantGroup:
    """Save a set of members under a name, for inviting them together to later meetings."""
    require_secretariat(actor)
    with write_transaction():
        users = _group_members(user_ids)
        group = ParticipantGroup(name=_require_free_name(name), created_by_id=actor.id,
                                 members=[ParticipantGroupMember(user_id=u.id) for u in users])
        db.session.add(group)
        db.session.flush()
        audit.record(actor, "participant_group.created", group, {"name": group.name, "user_ids": [u.id for u in users]})
    return group


def update_group(group: ParticipantGroup, *, name: str, user_ids: list[int], actor: User) -> ParticipantGroup:
    """Rename a group and replace its members; meetings it was used for keep their participants."""
    require_secretariat(actor)
    with write_transaction():
        users = _group_members(user_ids)
        group.name = _require_free_name(name, other_than=group.id)
        wanted = {u.id for u in users}
        kept = [m for m in group.members if m.user_id in wanted]
        have = {m.user_id for m in kept}
        group.members = kept + [ParticipantGroupMember(user_id=u.id) for u in users if u.id not in have]
        group.updated_at = utcnow()
        audit.record(actor, "participant_group.updated", group, {"name": group.name, "user_ids": sorted(wanted)})
    return group


def delete_group(group: ParticipantGroup, *, actor: User) -> None:
    """Forget a saved group; meetings it was used for keep their participants."""
    require_secretariat(actor)
    with write_transaction():
        data = {"name": group.name, "user_ids": [m.user_id for m in group.members]}
        audit.record(actor, "participant_group.deleted", group, data)
        db.session.delete(group)


def get_group(group_id: int, *, actor: User) -> ParticipantGroup:
    """A saved group (the secretariat's own tool: anyone else gets 403)."""
    require_secretariat(actor)
    group = db.session.get(ParticipantGroup, group_id)
    if group is None:
        raise NotFound()
    return group


def list_groups(*, actor: User) -> list[ParticipantGroup]:
    """Every saved group, by name."""
    require_secretariat(actor)
    return list(db.session.scalars(select(ParticipantGroup).order_by(ParticipantGroup.name)))


def remove_participant(meeting: Meeting, participant_id: int, *, actor: User) -> None:
    """Withdraw an invitation before the session; refused once the person took part (a position, the floor,
    a vote, a check-in) or a delegate attends in their place."""
    require_secretariat(actor)
    with write_transaction():
        participant = db.session.get(Participant, participant_id)
        if participant is None or participant.meeting_id != meeting.id:
            raise NotFound()
        _require_preparing(meeting)
        item_ids = [item.id for item in meeting.agenda]
        acted = participant.checked_in_at is not None or any(
            p.role == ParticipantRole.DELEGATE and p.represents_user_id == participant.user_id
            for p in meeting.participants)
        acted = acted or bool(item_ids and db.session.scalar(select(func.count(ItemPosition.id)).where(
            ItemPosition.user_id == participant.user_id, ItemPosition.agenda_item_id.in_(item_ids))))
        acted = acted or bool(db.session.scalar(select(func.count(SpeakerRequest.id)).where(
            SpeakerRequest.meeting_id == meeting.id, SpeakerRequest.user_id == participant.user_id)))
        acted = acted or bool(db.session.scalar(select(func.count(VoteParticipation.id)).where(
            VoteParticipation.user_id == participant.user_id, VoteParticipation.vote_id.in_(
                select(Vote.id).where(Vote.meeting_id == meeting.id)))))
        if acted:
            raise Conflict("participant_has_acts")
        data = {"participant_id": participant.id, "user_id": participant.user_id, "role": str(participant.role)}
        db.session.delete(participant)
        audit.record(actor, "participant.removed", meeting, data)
        _publish_if_distributed(meeting, "participant.removed", data)
    db.session.refresh(meeting)


def remove_agenda_item(meeting: Meeting, item: AgendaItem, *, actor: User) -> None:
    """Take an item off the agenda before the session and renumber the rest; refused once it has a dossier,
    positions, a vote or a conclusion, or guests are invited to it."""
    require_secretariat(actor)
    with write_transaction():
        _require_preparing(meeting)
        counts = [select(func.count(model.id)).where(model.agenda_item_id == item.id)
                  for model in (Document, ItemPosition, Vote, SpeakerRequest)]
        if (item.conclusion or any(db.session.scalar(query) for query in counts)
                or any(item.id in (p.agenda_item_ids or []) for p in meeting.participants)):
            raise Conflict("item_has_acts")
        data = {"meeting_id": meeting.id, "item_id": item.id, "title": item.title, "position": item.position}
        if meeting.current_item_id == item.id:
            meeting.current_item_id = None
        db.session.delete(item)
        db.session.flush()
        remaining = sorted((i for i in meeting.agenda if i.id != item.id), key=lambda i: i.position)
        for number, each in enumerate(remaining, start=1):
            each.position = number
        audit.record(actor, "agenda_item.removed", meeting, data)
        _publish_if_distributed(meeting, "agenda.changed", {"item_id": data["item_id"], "change": "removed"})
    db.session.refresh(meeting)


def cancel_meeting(meeting: Meeting, *, reason: str, actor: User) -> Meeting:
    """Call the meeting off before its session; participants are told why (``meeting.cancelled``)."""
    require_secretariat(actor)
    reason = reason.strip()
    if not reason:
        raise Invalid("reason_required", fields={"reason": "required"})
    with write_transaction():
        _require_preparing(meeting)
        was = str(meeting.status)
        meeting.status = MeetingStatus.CANCELLED
        audit.record(actor, "meeting.cancelled", meeting, {"reason": reason, "previous_status": was})
        if was != MeetingStatus.DRAFT:
            realtime.publish(meeting.id, "meeting.cancelled", {"meeting_id": meeting.id, "reason": reason})
            notify_participants(meeting, "meeting.cancelled", {"reason": reason})
    return meeting


def postpone_meeting(meeting: Meeting, *, reason: str, starts_at: datetime, actor: User) -> Meeting:
    """Move the session to a later time with a reason; the status stays (a published meeting stays published)
    and participants are told the new time (``meeting.postponed``)."""
    require_secretariat(actor)
    reason = reason.strip()
    if not reason:
        raise Invalid("reason_required", fields={"reason": "required"})
    with write_transaction():
        _require_preparing(meeting)
        if starts_at <= utcnow():
            raise Invalid("starts_at_past", fields={"starts_at": "in the past"})
        before = meeting.starts_at
        meeting.starts_at = starts_at
        audit.record(actor, "meeting.postponed", meeting, {"reason": reason, "from": before.isoformat(),
                                                           "to": starts_at.isoformat()})
        _publish_if_distributed(meeting, "meeting.postponed", {"meeting_id": meeting.id, "reason": reason,
                                                               "starts_at": starts_at.isoformat()})
        if meeting.status != MeetingStatus.DRAFT:
            notify_participants(meeting, "meeting.postponed", {"starts_at": starts_at.isoformat(), "reason": reason})
    return meeting


def votes_by_item(meeting: Meeting) -> dict[int | None, list[Vote]]:
    """The meeting's votes in the order they were held, by agenda item (None: a vote on no item)."""
    out: dict[int | None, list[Vote]] = {}
    for vote in db.session.scalars(select(Vote).where(Vote.meeting_id == meeting.id).order_by(Vote.id)):
        out.setdefault(vote.agenda_item_id, []).append(vote)
    return out


_STATUS_CHANGES = ("meeting.cancelled", "meeting.postponed")


def status_reason(meeting: Meeting) -> dict[str, Any] | None:
    """The reason given when the meeting was cancelled or last postponed (kept in the audit record)."""
    record = db.session.scalar(select(audit.AuditRecord).where(
        audit.AuditRecord.object_type == "meetings", audit.AuditRecord.object_id == str(meeting.id),
        audit.AuditRecord.action.in_(_STATUS_CHANGES)).order_by(audit.AuditRecord.id.desc()))
    if record is None:
        return None
    return {"action": record.action, "at": record.at, **json.loads(record.data or "{}")}


def postponed(meetings: Sequence[Meeting]) -> set[int]:
    """The published meetings whose last change of date was a postponement (the status stays "published")."""
    published = {str(m.id): m.id for m in meetings if str(m.status) == "published"}
    if not published:
        return set()
    last: dict[int, str] = {}
    for object_id, action in db.session.execute(select(audit.AuditRecord.object_id, audit.AuditRecord.action).where(
            audit.AuditRecord.object_type == "meetings", audit.AuditRecord.object_id.in_(list(published)),
            audit.AuditRecord.action.in_(_STATUS_CHANGES)).order_by(audit.AuditRecord.id)):
        last[published[object_id]] = action
    return {mid for mid, action in last.items() if action == "meeting.postponed"}
