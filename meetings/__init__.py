"""Meetings: preparation, participants, agenda, pre-session positions (the live session is meetings.live)."""

from flask import Flask
from flask_babel import lazy_gettext as _l

from documents.access import set_owner
from ecabinet import errors, realtime
from ecabinet import web as core_web
from ecabinet.database import db
from ecabinet.demo import DEMO_STEPS
from ecabinet.notifications import register_kind
from meetings import (
    access,
    events,
    models,  # noqa: F401  (tables register with the metadata)
    schemas,
    views,
    web,
)
from meetings.demo import demo_step
from meetings.dossiers import MeetingDossiers
from meetings.models import Meeting
from meetings.searchable import MeetingSearch
from search import sources

#: the error codes of this package, given to ecabinet.errors by init_app
MESSAGES = {
    "meeting_already_published": _l("The meeting is already published."),
    "already_participant": _l("This person is already a participant."),
    "represented_not_member": _l("A delegate represents a member of this meeting."),
    "guest_items_required": _l("Choose the agenda items the guest is invited to."),
    "not_a_delegate": _l("This participant is not a delegate."),
    "delegate_already_approved": _l("The chair has already approved this delegate."),
    "position_not_allowed": _l("Only members of this meeting can give a position on its items."),
    "positions_closed": _l("Positions can be given only while the meeting is published, before the session."),
    "clearance_insufficient": _l("Your clearance does not allow you to read this document."),
    "empty_file": _l("The file is empty."),
    "file_too_large": _l("The file is larger than the allowed limit."),
    "not_a_pdf": _l("Only PDF files are accepted."),
    "pdf_encrypted": _l("Encrypted PDF files are not accepted. Remove the password and upload again."),
    "pdf_damaged": _l("The PDF file is damaged and cannot be read."),
    "pdf_active_content": _l("The PDF contains active content that cannot be removed."),
    "version_not_found": _l("This version does not exist."),
    "participant_not_cleared": _l("This person is not cleared for the meeting's classification."),
    "chair_not_cleared": _l("The chair is not cleared for the meeting's classification."),
    "classification_above_clearance": _l("You cannot classify a meeting above your own clearance."),
    "upload_above_clearance": _l("You cannot upload a document above your own clearance."),
    "meeting_cancelled": _l("The meeting has been cancelled."),
    "meeting_started": _l("The session has started: participants and agenda items can no longer be removed."),
    "participant_has_acts": _l("This participant has already taken part (a position, the floor, a vote or a "
                               "check-in) or has a delegate: the invitation can no longer be withdrawn."),
    "item_has_acts": _l("This item already has dossiers, positions, a vote, a conclusion or invited guests: "
                        "it can no longer be removed."),
    "reason_required": _l("Give the reason."),
    "starts_at_past": _l("The new time must be in the future."),
    "chair_not_member": _l("The chair of a meeting must be one of its members, not a guest or a delegate."),
    "group_name_taken": _l("A group with this name already exists."),
    "consent_block_frozen": _l("The consent block is fixed once the session has started."),
}


def init_app(app: Flask) -> None:
    """Register the meetings routes, pages, home section, demo step, the socket join rule, the rules of the
    dossiers filed under its items and what search finds in it."""
    errors.MESSAGES.update(MESSAGES)
    app.register_blueprint(views.api)
    app.register_blueprint(web.web)
    web.register_page_labels()
    schemas.install_listeners()
    set_owner(app, MeetingDossiers())
    sources.register(app, MeetingSearch())

    def who_may_stay(meeting_id: int, user_ids: set[int]) -> set[int]:
        meeting = db.session.get(Meeting, meeting_id)
        return access.users_who_may_see_meeting(meeting, user_ids) if meeting is not None else set()

    realtime.set_join_authorizer(access.join_view, room_authorizer=who_may_stay)
    realtime.set_audience_resolver(events.audience_of)
    if web.home_section not in core_web.HOME_SECTIONS:
        core_web.HOME_SECTIONS.append(web.home_section)
    if demo_step not in DEMO_STEPS:
        DEMO_STEPS.append(demo_step)
    register_notification_kinds()


def register_notification_kinds() -> None:
    """What participants are told about a meeting (``ecabinet.notifications``)."""
    register_kind("meeting.published", label=_l("A meeting I take part in is published"),
                  headline=_l("Invitation to the meeting: %(title)s"), order=10)
    register_kind("meeting.changed", label=_l("A meeting I take part in changes"),
                  headline=_l("Meeting changed: %(title)s"), order=11)
    register_kind("meeting.postponed", label=_l("A meeting I take part in is postponed"),
                  headline=_l("Meeting postponed: %(title)s"), order=12)
    register_kind("meeting.cancelled", label=_l("A meeting I take part in is cancelled"),
                  headline=_l("Meeting cancelled: %(title)s"), order=13)
