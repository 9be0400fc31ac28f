"""Notifications: what each person is told (in the app, by e-mail, or both), from one outbox.

Domains call ``notify`` inside the write transaction of the change (and register their kinds and
their periodic sweeps); the core names no domain. See docs/NOTIFICATIONS.md.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from ecabinet.notifications.kinds import register_kind
from ecabinet.notifications.outbox import register_sweep
from ecabinet.notifications.service import NO_ADDRESS, already_sent, is_classified, notify

__all__ = ["already_sent", "init_app", "is_classified", "notify", "register_kind", "register_sweep"]


def init_app(app: Flask) -> None:
    # deferred: these import the ecabinet package (add_background_task, LANGUAGES), which imports this one
    from ecabinet import add_background_task
    from ecabinet.notifications import views, web
    from ecabinet.notifications.outbox import DEACTIVATED, start_worker
    from ecabinet.web import register_labels

    register_labels("mail_state", {"pending": _l("Waiting"), "sending": _l("Sending"), "sent": _l("Sent"),
                                   "failed": _l("Failed")})
    register_labels("mail_error", {NO_ADDRESS: _l("The account has no e-mail address."),
                                   DEACTIVATED: _l("The account was deactivated before the mail was sent.")})
    register_labels("mail_cause", {
        "unreachable": _l("The mail server could not be reached."),
        "tls": _l("The secure connection to the mail server failed (certificate or TLS)."),
        "login_refused": _l("The mail server refused the login (ECABINET_SMTP_URL's user or password)."),
        "recipient_refused": _l("The mail server refused the recipient's address."),
        "server_refused": _l("The mail server refused the message."),
        "disconnected": _l("The mail server closed the connection."),
        "invalid": _l("The message or the server's settings cannot be sent as they are."),
    })
    app.register_blueprint(views.api)
    app.register_blueprint(web.web)
    add_background_task(app, start_worker)
