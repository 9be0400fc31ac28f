"""The live session room: attendance, agenda progress, speakers, votes, conclusions."""

from flask import Flask
from flask_babel import lazy_gettext as _l

from ecabinet import errors, realtime
from meetings.live import models  # noqa: F401  (tables register with the metadata)

# the session rules' refusals (Law on Government Organization; Government working regulation)
#: the error codes of this package, given to ecabinet.errors by init_app
MESSAGES = {
    "quorum_not_reached": _l("The quorum is not present: at least two thirds of all members must be checked in."),
    "voter_not_checked_in": _l("Check in before you vote: only members present vote."),
    "voter_recorded_absent": _l("You are recorded as absent: check in again before you vote."),
    "delegate_member_present": _l("The member you stand in for is present and votes in person."),
    "seat_already_voted": _l("A vote has already been cast for this member, in person or by the delegate."),
    "consent_block_empty": _l("No item is left in the consent block."),
    "consent_block_changed": _l("The consent block has changed since it was shown. Review it again before adopting."),
    "item_not_in_consent_block": _l("This item is not in the consent block."),
    "consent_objection_not_allowed": _l("Only members of the meeting can take an item out of the consent block."),
}


def init_app(app: Flask) -> None:
    errors.MESSAGES.update(MESSAGES)
    # deferred: meetings.events reads meetings.live.models, and these views import meetings.events
    from meetings.live import hall, views, web

    app.register_blueprint(views.api)
    app.register_blueprint(web.web)
    realtime.set_display_authenticator(hall.socket_login, still_valid=hall.still_valid)
