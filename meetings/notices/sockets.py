"""Socket.IO: where task and notice events arrive."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_socketio import join_room

from ecabinet import realtime
from ecabinet.auth.models import User
from ecabinet.database import db
from ecabinet.errors import AppError, NotAuthenticated
from ecabinet.extensions import socketio
from meetings.notices import service


def register() -> None:
    """Bind the handler to the app's Socket.IO server (a new one per ``create_app``)."""

    @socketio.on("join_tasks")
    def on_join_tasks(payload: Any = None) -> dict[str, Any]:
        """Sent by a member's task list or the secretariat's tracker; ``task.updated`` and ``notice.issued``
        then arrive for the member's own tasks, and for every task on the secretariat's sockets."""
        try:
            user_id = realtime.socket_user_id(request.sid)  # type: ignore[attr-defined]
            user = db.session.get(User, user_id) if user_id is not None else None
            if user is None:
                raise NotAuthenticated()
            join_room(service.user_room(user.id))
            if user.is_secretariat:
                join_room(service.SECRETARIAT_ROOM)
            return {"ok": True, "secretariat": user.is_secretariat}
        except AppError as error:
            return {"ok": False, **error.body()}
        finally:
            db.session.remove()
