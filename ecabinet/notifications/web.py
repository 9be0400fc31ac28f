"""Pages: the person's notifications (the bell's list), their settings, and the secretariat's outbox."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, has_request_context, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from ecabinet.auth.access import require_secretariat
from ecabinet.errors import AppError
from ecabinet.notifications import outbox, service
from ecabinet.notifications.kinds import headline
from ecabinet.notifications.mail import details
from ecabinet.notifications.models import Channel, MailState

web = Blueprint("notifications_web", __name__)


@web.app_context_processor
def bell() -> dict[str, Any]:
    """The top bar's unread count, on every page of a logged-in person (not in a mail the worker renders)."""
    if not has_request_context() or not current_user.is_authenticated:
        return {}
    return {"unread_notifications": service.unread_count(current_user.id)}


@web.get("/notifications")
@login_required
def notifications_page() -> str:
    items = [{"n": n, "headline": headline(n), "details": details(n)} for n in service.list_for(current_user)]
    return render_template("notifications/list.html", items=items)


@web.get("/notifications/<int:notification_id>")
@login_required
def open_notification(notification_id: int) -> Response:
    """Opening a notification marks it read and goes to its page."""
    notification = service.mark_read(service.get_for(current_user, notification_id), actor=current_user)
    return redirect(notification.path)


@web.post("/notifications/read")
@login_required
def read_all() -> Response:
    service.mark_all_read(actor=current_user)
    return redirect(url_for("notifications_web.notifications_page"))


def _settings(error: str | None = None, saved: bool = False, status: int = 200) -> tuple[str, int]:
    return render_template("notifications/settings.html", settings=service.preferences(current_user),
                           channels=[(c.value, _channel_label(c)) for c in (Channel.BOTH, Channel.EMAIL, Channel.APP)],
                           has_email=bool(current_user.email), error=error, saved=saved), status


def _channel_label(channel: Channel) -> str:
    return {Channel.BOTH: _("E-mail and in the app"), Channel.EMAIL: _("E-mail only"),
            Channel.APP: _("In the app only")}[channel]


@web.get("/notifications/settings")
@login_required
def settings_page() -> tuple[str, int]:
    return _settings()


@web.post("/notifications/settings")
@login_required
def save_settings() -> Any:
    kinds = [p["kind"] for p in service.preferences(current_user)["preferences"]]
    channels = {kind: request.form.get(f"channel-{kind}", "") for kind in kinds if f"channel-{kind}" in request.form}
    try:
        service.set_preferences(current_user, channels=channels, language=request.form.get("language") or None,
                                actor=current_user)
    except AppError as refused:
        return _settings(error=refused.message, status=refused.status)
    return _settings(saved=True)


@web.get("/outbox")
@login_required
def outbox_page() -> str:
    require_secretariat(current_user)
    state = request.args.get("state")
    state = state if state in set(MailState) else None
    return render_template("notifications/outbox.html", counts=outbox.state_counts(), state=state,
                           mails=[outbox.mail_dict(row) for row in outbox.recent(state=state)],
                           smtp_configured=bool(current_app.config.get("SMTP_URL")))
