"""/api/v1/me/notifications (the caller's list and preferences) and /api/v1/outbox (the secretariat)."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import current_app
from flask_login import current_user, login_required

from ecabinet.auth.access import require_secretariat
from ecabinet.notifications import outbox, service
from ecabinet.notifications.kinds import headline
from ecabinet.notifications.models import Notification
from ecabinet.notifications.schemas import (
    NotificationOut,
    NotificationsOut,
    NotificationsQuery,
    OutboxOut,
    OutboxQuery,
    PreferencesIn,
    PreferencesOut,
    ReadAllOut,
)

api = APIBlueprint("notifications_api", __name__, url_prefix="/api/v1", tag="Notifications")


def notification_dict(notification: Notification) -> dict[str, Any]:
    return {**notification.as_dict(), "text": headline(notification)}


@api.get("/me/notifications")
@api.input(NotificationsQuery, location="query", arg_name="query")
@api.output(NotificationsOut)
@login_required
def list_notifications(query: dict[str, Any]) -> dict[str, Any]:
    """The caller's notifications shown in the app, newest first (50), and how many are unread."""
    items = service.list_for(current_user, unread_only=query["unread"])
    return {"notifications": [notification_dict(n) for n in items], "unread": service.unread_count(current_user.id)}


@api.post("/me/notifications/<int:notification_id>/read")
@api.output(NotificationOut)
@login_required
def read_notification(notification_id: int) -> dict[str, Any]:
    """Mark one of the caller's notifications read (404 for anyone else's); repeating it changes nothing."""
    notification = service.mark_read(service.get_for(current_user, notification_id), actor=current_user)
    return notification_dict(notification)


@api.post("/me/notifications/read")
@api.output(ReadAllOut)
@login_required
def read_all() -> dict[str, Any]:
    """Mark every notification of the caller read."""
    return {"marked": service.mark_all_read(actor=current_user), "unread": 0}


@api.get("/me/notifications/preferences")
@api.output(PreferencesOut)
@login_required
def get_preferences() -> dict[str, Any]:
    """Per kind, where the caller is told (``email``, ``app`` or ``both``, the default), and the mail's language."""
    return service.preferences(current_user)


@api.put("/me/notifications/preferences")
@api.input(PreferencesIn, arg_name="body")
@api.output(PreferencesOut)
@login_required
def put_preferences(body: dict[str, Any]) -> dict[str, Any]:
    """Change the channel of the kinds given (others stay) and the mail's language; audited."""
    channels = {item["kind"]: item["channel"] for item in body.get("preferences", [])}
    return service.set_preferences(current_user, channels=channels, language=body.get("language"),
                                   actor=current_user)


@api.get("/outbox")
@api.input(OutboxQuery, location="query", arg_name="query")
@api.output(OutboxOut)
@login_required
def get_outbox(query: dict[str, Any]) -> dict[str, Any]:
    """The secretariat: the mails sent, waiting and failed (with why), newest first (200), and counts."""
    require_secretariat(current_user)
    return {"counts": outbox.state_counts(), "smtp_configured": bool(current_app.config.get("SMTP_URL")),
            "mails": [outbox.mail_dict(row) for row in outbox.recent(state=query.get("state"))]}
