"""The offline briefcase: a member takes an upcoming meeting to read without a network, encrypted on the device."""

from flask import Flask
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ecabinet import errors
from meetings.briefcase import (
    models,  # noqa: F401  (tables register with the metadata)
    service,
    views,
    web,
)

#: the error codes of this package, given to ecabinet.errors by init_app
MESSAGES = {
    "briefcase_level_too_high": _l("Documents above Mật are never taken offline."),
    "briefcase_meeting_not_upcoming": _l("Only a published meeting or one in session can be taken offline."),
    "briefcase_wiped": _l("The secretariat has wiped the offline briefcase of this device."),
    "briefcase_ended": _l("This offline briefcase belongs to a login that has ended. Take the meeting offline again."),
    "briefcase_already_wiped": _l("This device is already wiped."),
}


def init_app(app: Flask) -> None:
    """Register the briefcase API, the offline pages and the service worker."""
    errors.MESSAGES.update(MESSAGES)
    app.register_blueprint(views.api)
    app.register_blueprint(web.web)
    app.jinja_env.globals["briefcase_refusal"] = lambda meeting: service.offline_refusal(meeting, current_user)
