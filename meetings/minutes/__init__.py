"""Minutes ("biên bản") drawn from the session record, signed by the secretary then the chair; the archive."""

from flask import Flask
from flask_babel import lazy_gettext as _l

from ecabinet import errors, security
from ecabinet.cli import cli as ecabinet_cli
from ecabinet.notifications import register_kind
from meetings.minutes import models  # noqa: F401  (tables register with the metadata)
from meetings.minutes.cli import archive_group
from meetings.minutes.views import api, may_upload_signed_minutes

#: the error codes of this package, given to ecabinet.errors by init_app
MESSAGES = {
    "meeting_not_closed": _l("Minutes can be drawn up only after the session is closed."),
    "minutes_not_found": _l("The minutes have not been drawn up yet."),
    "minutes_signing_started": _l("The minutes are being signed and can no longer change."),
    "minutes_already_signed": _l("The minutes are already signed."),
    "secretary_must_sign_first": _l("The secretary signs the minutes before the chair."),
    "not_a_minutes_signer": _l("Only the secretary and the chair of the meeting sign its minutes."),
    "meeting_not_archived": _l("The archive is available once the minutes are signed."),
    "minutes_signing_failed": _l("The signed minutes could not be validated; nothing was recorded."),
}

_registered = False


def init_app(app: Flask) -> None:
    """Register the minutes routes and the ``archive`` command group."""
    global _registered
    errors.MESSAGES.update(MESSAGES)
    app.register_blueprint(api)
    security.guard_upload("minutes_api.upload_signed", may_upload_signed_minutes)
    register_kind("minutes.awaiting_signature", label=_l("Minutes wait for my signature"),
                  headline=_l("Minutes awaiting your signature: %(title)s"), order=40)
    if not _registered:
        ecabinet_cli.add_command(archive_group)
        _registered = True
